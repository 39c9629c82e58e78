package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server options a new user expects (stories260K): model aliases, CORS with preflights,
 * llama.cpp's {@code /props} and {@code /slots}, server-wide default sampling and the access log.
 * One server for all: alias {@code gpt-4o-mini} reported first, CORS for one origin, an API key,
 * and defaults temperature 1.0 with seed 7.
 */
@Timeout(120)
class ServerOptionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ORIGIN = "http://localhost:3000";
    private static final String KEY = "sk-test";
    private static final SamplingParams DEFAULTS = new SamplingParams(1.0f, 20, 0.9f, 0.0f, 1.0f, 64, 7);

    private static LanguageModel model;
    private static OpenAiServer server;
    private static final List<String> log = new CopyOnWriteArrayList<>();
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        model = Models.load(path, 2);
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        ServerConfig config = new ServerConfig("127.0.0.1", 0, 2, 4, 128, KvCache.Precision.F32, KEY, "gpt-4o-mini")
                .withAliases(List.of("stories260K")).withCorsOrigins(List.of(ORIGIN)).withDefaultSampling(DEFAULTS)
                .withModelPath(path.toString());
        server = new OpenAiServer(model, template, config).onAccessLog(log::add).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.stop(Duration.ofSeconds(5));
        }
        if (model != null) {
            model.close();
        }
    }

    private static HttpResponse<String> send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> authed(String method, String path, String body) throws Exception {
        return send(method, path, body, "Authorization", "Bearer " + KEY);
    }

    @Test
    void aliasesAreAcceptedAndListedTheFirstReported() throws Exception {
        HttpResponse<String> models = authed("GET", "/v1/models", null);
        assertThat(JSON.readTree(models.body()).path("data").findValuesAsText("id")).containsExactly("gpt-4o-mini", "stories260K");
        for (String name : List.of("gpt-4o-mini", "stories260K", "stories260K.gguf")) {
            HttpResponse<String> r = authed("POST", "/v1/completions",
                    "{\"model\":\"" + name + "\",\"prompt\":\"Once\",\"max_tokens\":2,\"temperature\":0}");
            assertThat(r.statusCode()).as(name + ": " + r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).path("model").asText()).isEqualTo("gpt-4o-mini");
        }
        HttpResponse<String> other = authed("POST", "/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"Once\",\"max_tokens\":2}");
        assertThat(other.statusCode()).isEqualTo(404);
        assertThat(other.body()).contains("model_not_found", "gpt-4o-mini", "stories260K");
        assertThat(authed("GET", "/v1/models/stories260K", null).body()).contains("\"id\":\"stories260K\"");
    }

    @Test
    void corsPreflightIsAnswered204WithoutTheKeyAndResponsesCarryTheOrigin() throws Exception {
        HttpResponse<String> pre = send("OPTIONS", "/v1/chat/completions", null, "Origin", ORIGIN,
                "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type");
        assertThat(pre.statusCode()).isEqualTo(204);
        assertThat(pre.headers().firstValue("Access-Control-Allow-Origin")).hasValue(ORIGIN);
        assertThat(pre.headers().firstValue("Access-Control-Allow-Methods")).hasValueSatisfying(v -> assertThat(v).contains("POST"));
        assertThat(pre.headers().firstValue("Access-Control-Allow-Headers")).hasValue("authorization, content-type");
        assertThat(pre.headers().firstValue("Vary")).hasValue("Origin");

        HttpResponse<String> ok = send("GET", "/v1/models", null, "Origin", ORIGIN, "Authorization", "Bearer " + KEY);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("Access-Control-Allow-Origin")).hasValue(ORIGIN);
        // an error is readable by the page too (the browser shows the 401, not a CORS failure)
        HttpResponse<String> noKey = send("GET", "/v1/models", null, "Origin", ORIGIN);
        assertThat(noKey.statusCode()).isEqualTo(401);
        assertThat(noKey.headers().firstValue("Access-Control-Allow-Origin")).hasValue(ORIGIN);

        HttpResponse<String> evil = send("OPTIONS", "/v1/chat/completions", null, "Origin", "http://evil.example",
                "Access-Control-Request-Method", "POST");
        assertThat(evil.statusCode()).isEqualTo(403);
        assertThat(evil.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        assertThat(evil.body()).contains("--cors-origin http://evil.example");
        HttpResponse<String> other = send("GET", "/v1/models", null, "Origin", "http://evil.example", "Authorization", "Bearer " + KEY);
        assertThat(other.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }

    @Test
    void withoutCorsOriginsOptionsStaysA405() throws Exception {
        try (ServedModel plain = new ServedModel("tinyllamas/stories260K/stories260K.gguf", 2, 64, "stories260K")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(plain.server.url() + "/v1/models"))
                    .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", ORIGIN).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(405);
            assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        }
    }

    @Test
    void propsAndSlotsAsLlamaCpp() throws Exception {
        JsonNode props = JSON.readTree(authed("GET", "/props", null).body());
        assertThat(props.path("total_slots").asInt()).isEqualTo(2);
        assertThat(props.path("default_generation_settings").path("n_ctx").asInt()).isEqualTo(128);
        JsonNode params = props.path("default_generation_settings").path("params");
        assertThat(params.path("temperature").asDouble()).isEqualTo(1.0);
        assertThat(params.path("top_k").asInt()).isEqualTo(20);
        assertThat(params.path("top_p").floatValue()).isEqualTo(0.9f);
        assertThat(params.path("seed").asLong()).isEqualTo(7);
        assertThat(props.path("model_path").asText()).endsWith("stories260K.gguf");
        assertThat(props.path("model_alias").asText()).isEqualTo("gpt-4o-mini");
        assertThat(props.path("chat_template").asText()).contains("[INST]"); // stories260K has none: the Llama 2 fallback

        JsonNode slots = JSON.readTree(authed("GET", "/slots", null).body());
        assertThat(slots.isArray()).isTrue();
        assertThat(slots.findValuesAsText("id")).containsExactly("0", "1");
        assertThat(slots.get(0).path("n_ctx").asInt()).isEqualTo(128);
        assertThat(slots.get(0).path("is_processing").isBoolean()).isTrue();
        assertThat(authed("GET", "/props", null).headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).contains("json"));
        assertThat(send("GET", "/slots", null).statusCode()).as("the API key guards /slots").isEqualTo(401);
    }

    @Test
    void omittedSamplingFieldsTakeTheServerDefaults() throws Exception {
        String omitted = text(authed("POST", "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":24}"));
        String explicit = text(authed("POST", "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,"
                + "\"temperature\":1.0,\"top_k\":20,\"top_p\":0.9,\"min_p\":0,\"seed\":7}"));
        String greedy = text(authed("POST", "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":0}"));
        assertThat(omitted).isEqualTo(explicit);
        // the default seed is fixed, so the sampled answer repeats; it is not the greedy one (checked: they differ here)
        assertThat(text(authed("POST", "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":24}"))).isEqualTo(omitted);
        assertThat(omitted).isNotEqualTo(greedy);
    }

    @Test
    void everyRequestGetsAnAccessLogLineWithItsTokens() throws Exception {
        HttpResponse<String> r = authed("POST", "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":5,\"temperature\":0}");
        JsonNode usage = JSON.readTree(r.body()).path("usage");
        long tokens = usage.path("prompt_tokens").asLong() + usage.path("completion_tokens").asLong();
        authed("GET", "/health", null);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (log.stream().noneMatch(l -> l.startsWith("GET /health")) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(log).anySatisfy(l -> assertThat(l).matches("POST /v1/completions 200 " + tokens + " tokens \\d+ ms"));
        assertThat(log).anySatisfy(l -> assertThat(l).matches("GET /health 200 \\d+ ms"));
    }

    private static String text(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).path("choices").get(0).path("text").asText();
    }
}
