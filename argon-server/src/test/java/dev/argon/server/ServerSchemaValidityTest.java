package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.grammar.SchemaCheck;
import dev.argon.grammar.SchemaValidityTest;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Validity of sampled structured output through the OpenAI server (issue 17's check "the same
 * through the server with {@code response_format: json_schema}"): {@code /v1/completions}
 * requests at temperature 1 (no top-k/top-p/min-p cut) on TinyLLama-v0 Q4_0 under the five schemas
 * of {@link SchemaValidityTest} (flat, nested, arrays, enums, anyOf), sent by 4 clients at once to
 * a server with 4 slots, so the sequences run together in continuous batching, each with its own
 * grammar state. Every answer must finish with {@code stop}, parse (Jackson) and validate
 * ({@link SchemaCheck}). {@code -Dargon.validity.samples=N} sets the requests per schema (default
 * 3; 200 gives the 1,000, see docs/structured-output.md).
 */
class ServerSchemaValidityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLIENTS = 4;

    @Test
    void sampledResponsesAllParseAndValidate() throws Exception {
        int perSchema = Integer.getInteger("argon.validity.samples", 3);
        List<String> invalid = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger valid = new AtomicInteger();
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger mostInFlight = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        int total = perSchema * SchemaValidityTest.SCHEMAS.length;
        long t0 = System.nanoTime();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        try (ServedModel served = new ServedModel(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), CLIENTS, 2 * total, 1024, "tiny");
             ExecutorService clients = Executors.newFixedThreadPool(CLIENTS)) {
            List<Future<?>> futures = new ArrayList<>();
            for (String[] named : SchemaValidityTest.SCHEMAS) {
                SchemaCheck check = new SchemaCheck(JSON.readTree(named[1]));
                for (int seed = 1; seed <= perSchema; seed++) {
                    String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":600,\"temperature\":1,\"top_k\":0,\"top_p\":1,"
                            + "\"min_p\":0,\"seed\":" + seed + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                            + "{\"name\":\"" + named[0] + "\",\"strict\":true,\"schema\":" + named[1] + "}}}";
                    String label = named[0] + " seed " + seed;
                    futures.add(clients.submit(() -> {
                        mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                        HttpResponse<String> r;
                        try {
                            r = http.send(HttpRequest.newBuilder(URI.create(served.server.url() + "/v1/completions"))
                                    .timeout(Duration.ofSeconds(300)).header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                        } finally {
                            inFlight.decrementAndGet();
                        }
                        String what = label + ": HTTP " + r.statusCode() + " " + r.body();
                        JsonNode choice = r.statusCode() == 200 ? JSON.readTree(r.body()).path("choices").path(0) : null;
                        if (choice == null || !choice.path("finish_reason").asText().equals("stop")) {
                            invalid.add(what);
                        } else {
                            String text = choice.path("text").asText();
                            JsonNode doc = null;
                            try {
                                doc = JSON.readTree(text);
                            } catch (Exception e) {
                                invalid.add(label + ": does not parse: " + text + " (" + e.getMessage() + ")");
                            }
                            if (doc != null) {
                                List<String> errors = check.validate(doc);
                                if (errors.isEmpty()) {
                                    valid.incrementAndGet();
                                } else {
                                    invalid.add(label + ": " + text + " " + errors);
                                }
                            }
                        }
                        int d = done.incrementAndGet();
                        if (total >= 100 && d % 50 == 0) {
                            System.out.printf("ServerSchemaValidityTest: %d of %d answered (%d valid) after %.0f s%n",
                                    d, total, valid.get(), (System.nanoTime() - t0) / 1e9);
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : futures) {
                f.get();
            }
        }
        System.out.printf("ServerSchemaValidityTest: %d of %d sampled responses valid (%d clients, at most %d requests in flight, %.0f s)%n",
                valid.get(), total, CLIENTS, mostInFlight.get(), (System.nanoTime() - t0) / 1e9);
        assertThat(invalid).isEmpty();
        assertThat(valid.get()).isEqualTo(total);
        assertThat(mostInFlight.get()).as("requests ran concurrently").isGreaterThan(1);
    }
}
