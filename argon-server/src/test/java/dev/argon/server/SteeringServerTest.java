package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code watermark} and guidance completion fields and {@code POST /watermark/detect}, over HTTP with stories260K. */
class SteeringServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static LanguageModel model;
    private static OpenAiServer server;
    private static HttpClient http;

    @BeforeAll
    static void start() {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        model = Models.load(path, 2);
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        server = new OpenAiServer(model, template, new ServerConfig("127.0.0.1", 0, 2, ServerConfig.DEFAULT_QUEUE_CAPACITY, 512,
                KvCache.Precision.F32, null, "stories260K")).start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
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

    private static HttpResponse<String> post(String path, String body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private static String complete(String extra) throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":200,\"temperature\":1,"
                + "\"top_p\":1,\"seed\":5" + extra + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).at("/choices/0/text").textValue();
    }

    private static JsonNode detect(String text, String key) throws Exception {
        HttpResponse<String> r = post("/watermark/detect", JSON.createObjectNode().put("text", text).put("key", key).put("window", 100).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    @Test
    void aWatermarkedCompletionIsDetectedWithItsKeyOnly() throws Exception {
        String marked = complete(",\"watermark\":\"server key\"");
        String plain = complete("");
        assertThat(marked).isNotEqualTo(plain);
        JsonNode m = detect(marked, "server key");
        assertThat(m.get("z_score").doubleValue()).as(m.toString()).isGreaterThanOrEqualTo(4);
        assertThat(m.get("p_value").doubleValue()).isLessThan(1e-4);
        assertThat(m.get("green_tokens").intValue()).isLessThanOrEqualTo(m.get("scored_tokens").intValue());
        assertThat(m.get("windows").size()).isGreaterThanOrEqualTo(2);
        assertThat(detect(plain, "server key").get("z_score").doubleValue()).isLessThan(4);
        assertThat(detect(marked, "other key").get("z_score").doubleValue()).isLessThan(4);
        // the same request repeats exactly (the watermark is deterministic given key and seed)
        assertThat(complete(",\"watermark\":\"server key\"")).isEqualTo(marked);
    }

    @Test
    void aSynthIdWatermarkedCompletionIsDetectedWithItsScheme() throws Exception {
        String marked = complete(",\"watermark\":\"server key\",\"watermark_scheme\":\"synthid\"");
        HttpResponse<String> r = post("/watermark/detect", JSON.createObjectNode().put("text", marked).put("key", "server key")
                .put("scheme", "synthid").toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode m = JSON.readTree(r.body());
        assertThat(m.get("z_score").doubleValue()).as(m.toString()).isGreaterThanOrEqualTo(4);
        assertThat(m.get("mean_g").doubleValue()).isGreaterThan(0.5);
        assertThat(detect(marked, "server key").get("z_score").doubleValue()).as("as a green-list text").isLessThan(4);
        HttpResponse<String> bad = post("/v1/completions", "{\"prompt\":\"x\",\"watermark\":\"k\",\"watermark_scheme\":\"nope\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).at("/error/param").textValue()).isEqualTo("watermark_scheme");
    }

    @Test
    void badWatermarkFieldsAre400sNamingTheField() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"x\",\"watermark\":\"k\",\"watermark_gamma\":1.5}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/param").textValue()).isEqualTo("watermark_gamma");
        r = post("/v1/completions", "{\"prompt\":\"x\",\"watermark_delta\":3}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/message").textValue()).contains("needs 'watermark'");
        r = post("/watermark/detect", "{\"text\":\"abc\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).at("/error/param").textValue()).isEqualTo("key");
        r = post("/watermark/detect", "{\"text\":\"abc\",\"key\":\"\"}");
        assertThat(r.statusCode()).isEqualTo(400);
    }

    @Test
    void guidanceFieldsGiveTheLibrarysGuidedOutput() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":30,\"temperature\":0";
        HttpResponse<String> plain = post("/v1/completions", body + "}");
        HttpResponse<String> guided = post("/v1/completions", body + ",\"guidance_scale\":3,\"negative_prompt\":\"Lily\"}");
        HttpResponse<String> one = post("/v1/completions", body + ",\"guidance_scale\":1}");
        assertThat(guided.statusCode()).as(guided.body()).isEqualTo(200);
        String g = JSON.readTree(guided.body()).at("/choices/0/text").textValue();
        String p = JSON.readTree(plain.body()).at("/choices/0/text").textValue();
        assertThat(JSON.readTree(one.body()).at("/choices/0/text").textValue()).isEqualTo(p);
        assertThat(g).isNotEqualTo(p);
        var req = dev.argon.generate.GenerationRequest.of("Once upon a time", 30, dev.argon.sampling.SamplingParams.greedy())
                .withGuidance(new dev.argon.generate.Guidance(3f, dev.argon.tokenizer.PromptText.plain("Lily")));
        assertThat(g).isEqualTo(new dev.argon.generate.Generator(model).generate(req, 512, x -> { }).text());

        HttpResponse<String> bad = post("/v1/completions", body + ",\"negative_prompt\":\"x\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).at("/error/param").textValue()).isEqualTo("negative_prompt");
        bad = post("/v1/completions", body + ",\"guidance_scale\":500}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).at("/error/param").textValue()).isEqualTo("guidance_scale");
    }

    @Test
    void guidanceOnAOneSlotServerIsA400() throws Exception {
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        OpenAiServer one = new OpenAiServer(model, template, new ServerConfig("127.0.0.1", 0, 1, 4, 256, KvCache.Precision.F32, null,
                "stories260K")).start();
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create(one.url() + "/v1/completions")).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\",\"max_tokens\":3,\"guidance_scale\":2}")).build();
            HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
            assertThat(resp.statusCode()).as(resp.body()).isEqualTo(400);
            assertThat(JSON.readTree(resp.body()).at("/error/message").textValue()).contains("--parallel 2");
        } finally {
            one.stop(Duration.ofSeconds(5));
        }
    }

    /** The text of a streamed completion: the concatenated {@code choices[0].text} of its SSE chunks. */
    private static String streamed(String body) throws Exception {
        HttpResponse<String> r = post("/v1/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                JsonNode t = JSON.readTree(line.substring(6)).at("/choices/0/text");
                text.append(t.isTextual() ? t.textValue() : "");
            }
        }
        return text.toString();
    }

    @Test
    void bannedStringsNeverReachTheClientStreamedOrNot() throws Exception {
        dev.argon.generate.Generator banning = new dev.argon.generate.Generator(model).withBannedStrings(java.util.List.of("Lily", " she"));
        int differs = 0;
        for (int seed = 0; seed < 6; seed++) {
            String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":60,\"temperature\":1,\"top_k\":0,\"top_p\":1,"
                    + "\"min_p\":0,\"seed\":" + seed + ",\"banned_strings\":[\"Lily\",\" she\"]";
            HttpResponse<String> once = post("/v1/completions", body + "}");
            assertThat(once.statusCode()).as(once.body()).isEqualTo(200);
            String whole = JSON.readTree(once.body()).at("/choices/0/text").textValue();
            String stream = streamed(body + ",\"stream\":true}");
            var req = dev.argon.generate.GenerationRequest.of("Once upon a time", 60,
                    new dev.argon.sampling.SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed));
            String expected = banning.generate(req, 512, x -> { }).text();
            assertThat(stream).as("seed %d: the stream holds back what a rollback retracts", seed).isEqualTo(expected)
                    .doesNotContain("Lily").doesNotContain(" she");
            assertThat(whole).isEqualTo(expected);
            String plain = new dev.argon.generate.Generator(model).generate(req, 512, x -> { }).text();
            differs += plain.equals(expected) ? 0 : 1;
        }
        assertThat(differs).as("seeds whose plain text had a banned string").isGreaterThanOrEqualTo(1);
    }

    @Test
    void badBacktrackingFieldsAre400sNamingTheField() throws Exception {
        for (String[] c : new String[][] {
                {",\"banned_strings\":[1]", "banned_strings"},
                {",\"banned_strings\":[\"\"]", "banned_strings"},
                {",\"banned_strings\":{}", "banned_strings"},
                {",\"backspace_token\":99999999", "backspace_token"},
                {",\"banned_strings\":\"x\",\"guidance_scale\":2", "banned_strings"},
                {",\"backspace_token\":5,\"grammar\":\"root ::= \\\"a\\\"\"", "backspace_token"}}) {
            HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":3" + c[0] + "}");
            assertThat(r.statusCode()).as(c[0] + ": " + r.body()).isEqualTo(400);
            assertThat(JSON.readTree(r.body()).at("/error/param").textValue()).as(c[0]).isEqualTo(c[1]);
        }
    }

    @Test
    void serverWideBannedStringsApplyToEveryRequest() {
        BatchingEngine engine = new BatchingEngine(model, 2, 4, 256, KvCache.Precision.F32, true).withBannedStrings(java.util.List.of("Lily"));
        var req = dev.argon.generate.GenerationRequest.of("Once upon a time", 30, dev.argon.sampling.SamplingParams.greedy());
        int[] prompt = new dev.argon.generate.Generator(model).tokenizePrompt(req, 256);
        try {
            StringBuilder streamed = new StringBuilder();
            java.util.function.Consumer<String> onText = streamed::append;
            String text = engine.run(req, prompt, onText, () -> false).text();
            assertThat(text).startsWith(", there was a little girl named ").doesNotContain("Lily").isEqualTo(streamed.toString());
            assertThat(text).isEqualTo(new dev.argon.generate.Generator(model).withBannedStrings(java.util.List.of("Lily"))
                    .generate(req, 256, x -> { }).text());
        } finally {
            engine.close();
        }
    }
}
