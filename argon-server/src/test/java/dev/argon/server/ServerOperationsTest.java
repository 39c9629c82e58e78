package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's operational side with the small stories260K model: /metrics, /health states
 * (loading, ok, busy, stopping), and requests a new user might get wrong (wrong types, bad
 * values, a 10 MB body, an unknown model, 200 requests at once, a garbled HTTP request).
 */
@Timeout(120)
class ServerOperationsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ID = "stories260K";
    private static final int CTX = 128;

    private static LanguageModel model;
    private static ChatTemplate template;
    private static HttpClient http;

    @BeforeAll
    static void load() {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        model = Models.load(path, 2);
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static ServerConfig config(int parallel, int queue) {
        return new ServerConfig("127.0.0.1", 0, parallel, queue, CTX, KvCache.Precision.F32, null, ID);
    }

    private static HttpResponse<String> post(OpenAiServer s, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(OpenAiServer s, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Asserts an OpenAI error object with this status (and param, unless null) and no stack trace. */
    private static JsonNode assertError(HttpResponse<String> r, int status, String param) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.has("type") && e.has("param") && e.has("code")).isTrue();
        if (param != null) {
            assertThat(e.get("param").asText()).as(r.body()).isEqualTo(param);
        }
        assertThat(r.body()).doesNotContain("\tat ").doesNotContain("Exception");
        return e;
    }

    /** The value of a Prometheus sample whose name and labels match, or NaN. */
    private static double metric(String scrape, String name, String... labels) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith("#") || !(line.startsWith(name + " ") || line.startsWith(name + "{"))) {
                continue;
            }
            boolean all = true;
            for (String l : labels) {
                all &= line.contains(l);
            }
            if (all) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }

    /** An engine that holds each generation until released, then runs it on a real {@link BatchingEngine}. */
    private static final class GatedEngine implements Engine {
        final BatchingEngine delegate = new BatchingEngine(model, 4, 4, CTX, KvCache.Precision.F32, true);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger waiting = new AtomicInteger();
        final int slots;

        GatedEngine(int slots) {
            this.slots = slots;
        }

        @Override
        public GenerationResult run(GenerationRequest req, int[] promptIds, Consumer<String> onText, BooleanSupplier cancelled) {
            waiting.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            } finally {
                waiting.decrementAndGet();
            }
            return delegate.run(req, promptIds, onText, cancelled);
        }

        @Override
        public int contextLength() {
            return CTX;
        }

        @Override
        public Stats stats() {
            return new Stats(Math.min(slots, waiting.get()), Math.max(0, waiting.get() - slots), slots, 0, (long) slots * CTX, 0, 0);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }

    private static void awaitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("timed out").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    @Test
    void metricsCountRequestsTokensAndEngineState() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config(2, 4)).start()) {
            HttpResponse<String> ok = post(s, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}");
            assertThat(ok.statusCode()).isEqualTo(200);
            JsonNode usage = JSON.readTree(ok.body()).get("usage");
            assertError(post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":-1}"), 400, "max_tokens");
            assertError(get(s, "/nowhere"), 404, null);

            HttpResponse<String> m = get(s, "/metrics");
            assertThat(m.statusCode()).isEqualTo(200);
            assertThat(m.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
            String text = m.body();
            assertThat(metric(text, "argon_requests_total", "route=\"/v1/completions\"", "status=\"200\"")).isEqualTo(1);
            assertThat(metric(text, "argon_requests_total", "route=\"/v1/completions\"", "status=\"400\"")).isEqualTo(1);
            assertThat(metric(text, "argon_requests_total", "route=\"other\"", "status=\"404\"")).isEqualTo(1);
            assertThat(metric(text, "argon_prompt_tokens_total")).isEqualTo(usage.get("prompt_tokens").asInt());
            assertThat(metric(text, "argon_completion_tokens_total")).isEqualTo(8);
            assertThat(metric(text, "argon_generations_total", "finish_reason=\"length\"")).isEqualTo(1);
            assertThat(metric(text, "argon_time_to_first_token_seconds_count")).isEqualTo(1);
            assertThat(metric(text, "argon_time_to_first_token_seconds_sum")).isPositive();
            assertThat(metric(text, "argon_request_duration_seconds_count", "route=\"/v1/completions\"")).isEqualTo(2);
            assertThat(metric(text, "argon_decode_tokens_per_second_count")).isEqualTo(1);
            assertThat(metric(text, "argon_decode_tokens_per_second_sum")).isPositive();
            assertThat(metric(text, "argon_queue_depth")).isZero();
            assertThat(metric(text, "argon_active_sequences")).isZero();
            assertThat(metric(text, "argon_slots")).isEqualTo(2);
            assertThat(metric(text, "argon_kv_cache_tokens_used")).isZero();
            assertThat(metric(text, "argon_kv_cache_tokens_capacity")).isEqualTo(2 * CTX);
            // the finished request's slot keeps its prompt for a follow-up that shares it
            assertThat(metric(text, "argon_kv_cache_tokens_cached")).isEqualTo(usage.get("prompt_tokens").asInt());
            // KV memory follows use: after the request only its kept prompt is held
            assertThat(metric(text, "argon_kv_cache_bytes")).isPositive()
                    .isLessThanOrEqualTo(usage.get("prompt_tokens").asDouble() * 4 * 2 * 64 * 8);
            assertThat(metric(text, "argon_prompt_tokens_copied_total")).isZero();
        }
    }

    @Test
    void kvCacheUseIsVisibleWhileGenerating() throws Exception {
        int ctx = 8192; // long enough to still be generating when checked
        ServerConfig one = new ServerConfig("127.0.0.1", 0, 1, 4, ctx, KvCache.Precision.F32, null, ID);
        try (OpenAiServer s = new OpenAiServer(model, template, one).start()) {
            HttpRequest req = HttpRequest.newBuilder(URI.create(s.url() + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Once\",\"max_tokens\":8000,\"stream\":true,\"temperature\":1.5,\"top_k\":0,\"min_p\":0}")).build();
            HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                assertThat(in.read(new byte[64])).isPositive();
                Engine.Stats st = s.stats();
                assertThat(st.activeSequences()).isEqualTo(1);
                assertThat(st.kvCacheTokensUsed()).isPositive().isLessThanOrEqualTo(ctx);
                assertThat(st.kvCacheCapacityTokens()).isEqualTo(ctx);
                assertThat(JSON.readTree(get(s, "/health").body()).get("status").asText()).isIn("busy", "ok");
            }
        }
    }

    @Test
    void healthFollowsTheServersLife() throws Exception {
        OpenAiServer s = new OpenAiServer(config(1, 4)).start();
        try {
            // loading: the port answers, the model routes do not
            HttpResponse<String> loading = get(s, "/health");
            assertThat(loading.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(loading.body()).get("status").asText()).isEqualTo("loading");
            assertThat(assertError(post(s, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 503, null)
                    .get("code").asText()).isEqualTo("model_loading");
            assertThat(get(s, "/v1/models").statusCode()).isEqualTo(200);

            GatedEngine engine = new GatedEngine(1);
            s.ready(model, template, engine);
            HttpResponse<String> ok = get(s, "/health");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(ok.body()).get("status").asText()).isEqualTo("ok");

            // busy: every slot generating; 200 as llama.cpp, 503 with ?fail_on_no_slot
            CompletableFuture<HttpResponse<String>> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"temperature\":0}");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            awaitUntil(() -> engine.waiting.get() == 1);
            HttpResponse<String> busy = get(s, "/health");
            assertThat(busy.statusCode()).isEqualTo(200);
            JsonNode b = JSON.readTree(busy.body());
            assertThat(b.get("status").asText()).isEqualTo("busy");
            assertThat(b.get("slots_idle").asInt()).isZero();
            assertThat(b.get("slots_processing").asInt()).isEqualTo(1);
            assertThat(get(s, "/health?fail_on_no_slot=1").statusCode()).isEqualTo(503);

            // stopping: /health says so and new generations are refused, the running one finishes
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> s.stop(Duration.ofSeconds(20)));
            awaitUntil(() -> {
                try {
                    return get(s, "/health").statusCode() == 503;
                } catch (Exception e) {
                    return false;
                }
            });
            HttpResponse<String> stopping = get(s, "/health");
            assertThat(JSON.readTree(stopping.body()).get("status").asText()).isEqualTo("stopping");
            assertThat(assertError(post(s, "/v1/completions", "{\"prompt\":\"x\"}"), 503, null).get("code").asText())
                    .isEqualTo("shutting_down");
            engine.release.countDown();
            assertThat(running.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            stopped.get(30, TimeUnit.SECONDS);
        } finally {
            s.stop(Duration.ZERO);
        }
    }

    @Test
    void newUserMistakesGetCleanErrors() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config(1, 4)).start()) {
            String chat = "/v1/chat/completions";
            String cmpl = "/v1/completions";
            assertThat(assertError(post(s, chat, "{\"messages\": [}"), 400, null).get("message").asText())
                    .contains("not valid JSON").contains("line 1, column").doesNotContain("Source");
            assertError(post(s, chat, "[]"), 400, null);
            assertError(post(s, chat, ""), 400, null);
            assertError(post(s, chat, "{\"messages\":[]}"), 400, "messages");
            assertError(post(s, chat, "{\"messages\":\"hi\"}"), 400, "messages");
            assertError(post(s, chat, "{}"), 400, "messages");
            assertError(post(s, chat, "{\"messages\":[{\"role\":\"user\"}]}"), 400, "messages[0].content");
            assertError(post(s, chat, "{\"messages\":[{\"role\":\"user\",\"content\":null}]}"), 400, "messages[0].content");
            assertError(post(s, chat, "{\"messages\":[{\"content\":\"hi\"}]}"), 400, "messages[0].role");
            assertError(post(s, chat, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}"), 400, "messages[0].content");
            assertError(post(s, chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":\"yes\"}"), 400, "stream");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"max_tokens\":-1}"), 400, "max_tokens");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"max_tokens\":\"16\"}"), 400, "max_tokens");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"max_tokens\":1.5}"), 400, "max_tokens");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"temperature\":\"hot\"}"), 400, "temperature");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"stop\":5}"), 400, "stop");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"seed\":1.5}"), 400, "seed");
            assertError(post(s, cmpl, "{\"prompt\":7}"), 400, "prompt");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"n\":0}"), 400, "n");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"n\":17}"), 400, "n");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"logprobs\":6}"), 400, "logprobs");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"logprobs\":true}"), 400, "logprobs");
            assertError(post(s, chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":2}"), 400, "logprobs");
            HttpResponse<String> noTop = post(s, chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1,"
                    + "\"logprobs\":false,\"top_logprobs\":0}");
            assertThat(noTop.statusCode()).as(noTop.body()).isEqualTo(200);
            assertThat(JSON.readTree(noTop.body()).get("choices").get(0).get("logprobs").isNull()).isTrue();
            assertError(post(s, chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":true,\"top_logprobs\":21}"), 400, "top_logprobs");
            // sampling values checked by the core come back under the API's parameter names
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"temperature\":-1}"), 400, "temperature");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"top_k\":-1}"), 400, "top_k");
            assertThat(assertError(post(s, cmpl, "{\"prompt\":\"x\",\"top_p\":-0.5}"), 400, "top_p").get("message").asText())
                    .contains("top_p").doesNotContain("topP");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"min_p\":2}"), 400, "min_p");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"repeat_penalty\":0}"), 400, "repeat_penalty");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"repeat_last_n\":-2}"), 400, "repeat_last_n");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"presence_penalty\":3}"), 400, "presence_penalty");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"frequency_penalty\":-2.5}"), 400, "frequency_penalty");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"logit_bias\":[1]}"), 400, "logit_bias");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"logit_bias\":{\"cat\":1}}"), 400, "logit_bias");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"logit_bias\":{\"99999\":1}}"), 400, "logit_bias");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"logit_bias\":{\"5\":\"high\"}}"), 400, "logit_bias");
            assertError(post(s, cmpl, "{\"prompt\":\"x\",\"logit_bias\":{\"5\":101}}"), 400, "logit_bias");
            // a prompt longer than the context
            assertThat(assertError(post(s, cmpl, "{\"prompt\":\"" + "Once upon a time ".repeat(100) + "\"}"), 400, "prompt")
                    .get("code").asText()).isEqualTo("context_length_exceeded");
            // wrong methods (405, as OpenAI) and unknown routes (404)
            HttpResponse<String> wrongMethod = get(s, cmpl);
            assertError(wrongMethod, 405, null);
            assertThat(wrongMethod.headers().firstValue("Allow")).hasValue("POST");
            assertError(post(s, "/v1/images/generations", "{}"), 404, null);
        }
    }

    @Test
    void penaltiesAndLogitBiasReachTheSampler() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config(1, 4)).start()) {
            int[] ids = model.tokenizer().encode("the", false, false);
            int the = ids[ids.length - 1];
            HttpResponse<String> r = post(s, "/v1/completions",
                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":3,\"temperature\":0,\"logit_bias\":{\"" + the + "\":100}}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            String text = JSON.readTree(r.body()).get("choices").get(0).get("text").asText();
            assertThat(text.strip()).isEqualTo(model.tokenizer().decode(new int[]{the, the, the}).strip());
            HttpResponse<String> p = post(s, "/v1/completions",
                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":3,\"temperature\":0,\"presence_penalty\":1.5,\"frequency_penalty\":0.5}");
            assertThat(p.statusCode()).as(p.body()).isEqualTo(200);
        }
    }

    @Test
    void modelMustBeTheServedOne() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config(1, 4)).start()) {
            JsonNode e = assertError(post(s, "/v1/chat/completions",
                    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1}"), 404, "model");
            assertThat(e.get("code").asText()).isEqualTo("model_not_found");
            assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
            assertError(post(s, "/v1/completions", "{\"model\":5,\"prompt\":\"x\"}"), 400, "model");
            assertThat(JSON.readTree(get(s, "/v1/models/" + ID).body()).get("id").asText()).isEqualTo(ID);
            assertError(get(s, "/v1/models/gpt-4o"), 404, "model");
            for (String ok : List.of("\"model\":\"stories260K\",", "\"model\":\"stories260K.gguf\",", "\"model\":null,", "")) {
                HttpResponse<String> r = post(s, "/v1/completions", "{" + ok + "\"prompt\":\"x\",\"max_tokens\":1}");
                assertThat(r.statusCode()).as(ok).isEqualTo(200);
                assertThat(JSON.readTree(r.body()).get("model").asText()).isEqualTo(ID);
            }
        }
    }

    @Test
    void tenMegabyteBodyIs413() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config(1, 4)).start()) {
            String big = "{\"prompt\":\"" + "a".repeat(10 << 20) + "\"}";
            JsonNode e = assertError(post(s, "/v1/completions", big), 413, null);
            assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(e.get("code").asText()).isEqualTo("request_too_large");
            // the server is fine afterwards
            assertThat(post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void twoHundredRequestsAtOnceAreAnsweredOrRefused() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config(1, 8)).start()) {
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                HttpRequest req = HttpRequest.newBuilder(URI.create(s.url() + "/v1/completions")).timeout(Duration.ofSeconds(90))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":4,\"temperature\":0}")).build();
                all.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
            }
            int ok = 0;
            int busy = 0;
            for (CompletableFuture<HttpResponse<String>> f : all) {
                HttpResponse<String> r = f.get(100, TimeUnit.SECONDS);
                if (r.statusCode() == 200) {
                    ok++;
                    assertThat(JSON.readTree(r.body()).get("usage").get("completion_tokens").asInt()).isEqualTo(4);
                } else {
                    assertThat(assertError(r, 503, null).get("code").asText()).isEqualTo("server_busy");
                    busy++;
                }
            }
            System.err.println("200 requests at once: " + ok + " answered, " + busy + " refused with 503");
            assertThat(ok + busy).isEqualTo(200);
            assertThat(ok).isPositive();
            assertThat(s.stats().queuedRequests()).isZero();
            String m = get(s, "/metrics").body();
            assertThat(metric(m, "argon_requests_total", "route=\"/v1/completions\"", "status=\"200\"")).isEqualTo(ok);
            if (busy > 0) {
                assertThat(metric(m, "argon_requests_total", "route=\"/v1/completions\"", "status=\"503\"")).isEqualTo(busy);
            }
        }
    }

    @Test
    void garbledHttpGetsAJsonError() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config(1, 4)).start();
             Socket socket = new Socket("127.0.0.1", s.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET /health HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            Matcher status = Pattern.compile("^HTTP/1\\.1 (\\d{3})").matcher(response);
            assertThat(status.find()).as(response).isTrue();
            assertThat(status.group(1)).isEqualTo("400");
            assertThat(response).contains("\"error\"").doesNotContain("<html");
        }
    }
}
