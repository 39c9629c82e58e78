package dev.argon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded load test of an OpenAI-compatible server: {@code clients} concurrent clients each send
 * {@code requests} streaming {@code /v1/completions} requests one after another, and every stream
 * is checked (HTTP 200, well-formed {@code data:} chunks, a final {@code data: [DONE]}, a usage
 * chunk). Reports the aggregate generation speed and latencies. Stops by itself: each request has
 * a timeout.
 */
final class LoadTest {
    /**
     * What to send.
     *
     * @param baseUrl server address, e.g. {@code http://127.0.0.1:8080}
     * @param clients concurrent clients
     * @param requests requests per client
     * @param maxTokens {@code max_tokens} of each request
     * @param temperature sampling temperature (each request gets its own seed, so runs repeat)
     * @param apiKey bearer token, or null
     * @param timeout per-request limit
     * @param warmup requests per client sent first and not measured (the server's and this
     *     client's JIT compilers run then, not during the measurement); a failed one counts as an error
     */
    record Config(String baseUrl, int clients, int requests, int maxTokens, double temperature, String apiKey,
                  Duration timeout, int warmup) {
    }

    /**
     * The outcome.
     *
     * @param ok requests answered with a complete stream
     * @param errors failed measured requests (status, malformed or unterminated stream, timeout)
     * @param warmupErrors clients whose warm-up failed (a client stops warming up at its first failure)
     * @param firstErrors up to 2 warm-up and 5 measured error descriptions
     * @param completionTokens tokens generated, from the usage chunks
     * @param seconds wall time of the whole test
     * @param ttftMedianMs median time to the first text chunk, milliseconds
     * @param ttftP95Ms 95th percentile of the time to the first text chunk, milliseconds
     * @param latencyMedianMs median request duration, milliseconds
     */
    record Result(int ok, int errors, int warmupErrors, List<String> firstErrors, long completionTokens, double seconds,
                  double ttftMedianMs, double ttftP95Ms, double latencyMedianMs) {
        double tokensPerSecond() {
            return seconds > 0 ? completionTokens / seconds : 0;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] PROMPTS = {"Once upon a time", "Lily and Tom went to the park", "The cat sat on the mat.",
            "One day, a big red ball", "Tim wanted to", "There was a little dog named Max", "The sun was shining and",
            "A girl found a box in the garden"};

    private LoadTest() {
    }

    /** Runs the test; {@code onRequestDone} is called after every request (for a progress bar). */
    static Result run(Config c, Runnable onRequestDone) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).executor(Runnable::run).build();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger warmupErrors = new AtomicInteger();
        AtomicLong tokens = new AtomicLong();
        ConcurrentLinkedQueue<String> errorList = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> warmupErrorList = new ConcurrentLinkedQueue<>();
        List<Double> ttft = Collections.synchronizedList(new ArrayList<>());
        List<Double> latency = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch done = new CountDownLatch(c.clients());
        CountDownLatch warm = new CountDownLatch(c.clients());
        AtomicLong t0 = new AtomicLong();
        for (int k = 0; k < c.clients(); k++) {
            int client = k;
            Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < c.warmup(); i++) {
                        try {
                            oneRequest(http, c, client, c.requests() + i, System.nanoTime());
                        } catch (Exception e) {
                            // one failure ends this client's warm-up (a server that is down or
                            // refusing would fail every warm-up request the same way)
                            warmupErrors.incrementAndGet();
                            if (warmupErrorList.size() < 2) {
                                warmupErrorList.add("client " + client + " warm-up request " + i + ": " + describe(e));
                            }
                            break;
                        }
                    }
                    warm.countDown();
                    warm.await(); // all clients start measuring together
                    t0.compareAndSet(0, System.nanoTime());
                    for (int i = 0; i < c.requests(); i++) {
                        long start = System.nanoTime();
                        try {
                            long[] out = oneRequest(http, c, client, i, start);
                            ok.incrementAndGet();
                            tokens.addAndGet(out[0]);
                            ttft.add(out[1] / 1e6);
                            latency.add((System.nanoTime() - start) / 1e6);
                        } catch (Exception e) {
                            errors.incrementAndGet();
                            if (errorList.size() < 5) {
                                errorList.add("client " + client + " request " + i + ": " + describe(e));
                            }
                        }
                        onRequestDone.run();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        double seconds = (System.nanoTime() - t0.get()) / 1e9;
        List<String> described = new ArrayList<>(warmupErrorList);
        described.addAll(errorList);
        return new Result(ok.get(), errors.get(), warmupErrors.get(), List.copyOf(described), tokens.get(), seconds,
                percentile(ttft, 0.5), percentile(ttft, 0.95), percentile(latency, 0.5));
    }

    /** @return {completion tokens, nanoseconds to the first text chunk} */
    private static long[] oneRequest(HttpClient http, Config c, int client, int i, long start) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.put("prompt", PROMPTS[(client + i) % PROMPTS.length]);
        body.put("max_tokens", c.maxTokens());
        body.put("temperature", c.temperature());
        body.put("seed", client * 1000L + i);
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(c.baseUrl() + "/v1/completions"))
                .timeout(c.timeout())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        if (c.apiKey() != null) {
            rb.header("Authorization", "Bearer " + c.apiKey());
        }
        SseCheck check = new SseCheck(start);
        HttpResponse<Void> res = http.send(rb.build(), info -> {
            check.status = info.statusCode();
            return HttpResponse.BodySubscribers.fromLineSubscriber(check, x -> null, StandardCharsets.UTF_8, null);
        });
        return check.result(res.statusCode());
    }

    /**
     * Checks one streamed response line by line as it arrives, on the HTTP client's own thread (no
     * hand-off per chunk to the requesting thread, so the load generator spends little CPU per
     * token and leaves the cores to the server it measures).
     */
    static final class SseCheck implements Flow.Subscriber<String> {
        private final long start;
        volatile int status;
        private long first = -1;
        private long usage = -1;
        private boolean doneSeen;
        private String firstLine;
        private IOException problem;

        SseCheck(long start) {
            this.start = start;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            if (problem != null) {
                return;
            }
            if (firstLine == null) {
                firstLine = line;
            }
            if (status != 200) {
                return;
            }
            try {
                check(line);
            } catch (IOException e) {
                problem = e; // the rest of the stream is read and ignored, so send() returns as usual
            }
        }

        private void check(String line) throws IOException {
            if (line.isEmpty() || line.startsWith(":")) {
                return; // event separator, or a comment (the server's keep-alive ": ping")
            }
            if (!line.startsWith("data: ")) {
                throw new IOException("not an SSE data line: " + line);
            }
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                doneSeen = true;
                return;
            }
            if (doneSeen) {
                throw new IOException("data after [DONE]");
            }
            JsonNode chunk = JSON.readTree(data);
            if (chunk.has("error")) {
                throw new IOException("error chunk: " + chunk.get("error"));
            }
            JsonNode choices = chunk.path("choices");
            if (first < 0 && choices.size() > 0 && !choices.get(0).path("text").asText("").isEmpty()) {
                first = System.nanoTime() - start;
            }
            if (chunk.hasNonNull("usage")) {
                usage = chunk.get("usage").path("completion_tokens").asLong(-1);
            }
        }

        @Override
        public void onError(Throwable t) {
            // send() rethrows it
        }

        @Override
        public void onComplete() {
        }

        /** The fields are read after send() returned, which saw the body complete. */
        long[] result(int statusCode) throws IOException {
            if (statusCode != 200) {
                throw new IOException("HTTP " + statusCode + ": " + firstLine);
            }
            if (problem != null) {
                throw problem;
            }
            if (!doneSeen) {
                throw new IOException("stream ended without data: [DONE]");
            }
            if (usage < 0) {
                throw new IOException("no usage chunk although stream_options.include_usage was set");
            }
            return new long[]{usage, first < 0 ? System.nanoTime() - start : first};
        }
    }

    /**
     * A one-line cause. Problems found in a response are plain {@link IOException}s with their own
     * message; others (connection refused, unknown host, timeout) get their type named, and often
     * carry no message of their own, so the first cause with one is used.
     */
    private static String describe(Throwable e) {
        if (e.getClass() == IOException.class && e.getMessage() != null) {
            return e.getMessage();
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof java.net.ConnectException || c instanceof java.nio.channels.ClosedChannelException) {
                return "cannot connect (connection refused or closed): is the server running at that address?";
            }
        }
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    private static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return 0;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int i = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }
}
