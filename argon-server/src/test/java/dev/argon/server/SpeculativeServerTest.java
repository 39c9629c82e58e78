package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.SpeculationParams;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Speculative decoding through the server: greedy completions are the same with the server's
 * {@code --spec ngram} default, with per-request {@code speculative.*} fields and without
 * speculation, at {@code --parallel} 1 and 8 (8 concurrent requests), and {@code /metrics}
 * reports acceptance. TinyLLama-v0.
 */
class SpeculativeServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] PROMPTS = {
            "Once upon a time, there was a little girl named Lily. She loved to play outside. Once upon a time, there was a",
            "Tom and his dog went to the park. The dog ran after a ball. Tom and his dog went to the",
            "The cat sat on the mat. The cat was happy. The cat sat on the",
            "Lily and Ben were friends. They liked to play with blocks. Lily and Ben"};
    private static LanguageModel model;
    private static ChatTemplate template;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void load() {
        Path path = TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf");
        model = Models.load(path, 2);
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static OpenAiServer serve(int parallel, SpeculationParams spec) {
        ServerConfig config = new ServerConfig("127.0.0.1", 0, parallel, 16, 256, KvCache.Precision.F16, null, "tiny");
        OpenAiServer server = new OpenAiServer(config).start();
        BatchingEngine engine = new BatchingEngine(model, parallel, 16, 256, KvCache.Precision.F16, true);
        server.ready(model, template, engine.withSpeculation(spec, null));
        return server;
    }

    private static HttpResponse<String> post(OpenAiServer s, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Greedy completions of every prompt, twice each, sent at once; the texts in prompt order. */
    private static List<String> completeAll(OpenAiServer s, String extra) throws Exception {
        List<Callable<String>> calls = new ArrayList<>();
        for (int rep = 0; rep < 2; rep++) {
            for (String p : PROMPTS) {
                calls.add(() -> {
                    HttpResponse<String> r = post(s, "/v1/completions", JSON.createObjectNode().put("prompt", p).put("max_tokens", 48)
                            .put("temperature", 0).toString().replaceFirst("}$", extra + "}"));
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    return JSON.readTree(r.body()).at("/choices/0/text").textValue();
                });
            }
        }
        List<String> texts = new ArrayList<>();
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Future<String> f : exec.invokeAll(calls)) {
                texts.add(f.get());
            }
        }
        return texts;
    }

    private static double metric(OpenAiServer s, String name) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(s.url() + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        for (String line : r.body().split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        throw new AssertionError(name + " not in /metrics:\n" + r.body());
    }

    @Test
    void greedyCompletionsAreTheSameWithAndWithoutSpeculation() throws Exception {
        List<String> reference;
        OpenAiServer plain = serve(1, SpeculationParams.NONE);
        try {
            reference = completeAll(plain, "");
            assertThat(metric(plain, "argon_speculative_verify_passes_total")).isZero();
        } finally {
            plain.stop(Duration.ofSeconds(5));
        }
        for (int parallel : new int[] {1, 8}) {
            // at --parallel 8 every sequence may speculate (no back-off), so verification rows of 8 sequences share passes
            OpenAiServer s = serve(parallel, new SpeculationParams(SpeculationParams.Mode.NGRAM, 0, 16, 2, 4, 0.75f, parallel));
            try {
                assertThat(completeAll(s, "")).as("--parallel %d, server default ngram", parallel).isEqualTo(reference);
                assertThat(completeAll(s, ",\"speculative.n_max\":3,\"speculative.n_min\":1"))
                        .as("--parallel %d, per-request n_max", parallel).isEqualTo(reference);
                assertThat(completeAll(s, ",\"speculative.type\":\"none\"")).isEqualTo(reference);
                double passes = metric(s, "argon_speculative_verify_passes_total");
                double drafts = metric(s, "argon_speculative_draft_tokens_total");
                double accepted = metric(s, "argon_speculative_accepted_tokens_total");
                assertThat(passes).isPositive();
                assertThat(accepted).isPositive().isLessThanOrEqualTo(drafts);
                assertThat(metric(s, "argon_speculative_acceptance_rate")).isCloseTo(accepted / drafts,
                        org.assertj.core.data.Offset.offset(1e-9));
            } finally {
                s.stop(Duration.ofSeconds(5));
            }
        }
        // per-request speculation on a server without a default
        OpenAiServer s = serve(2, SpeculationParams.NONE);
        try {
            assertThat(completeAll(s, ",\"speculative.type\":\"ngram\"")).isEqualTo(reference);
            assertThat(completeAll(s, ",\"speculative.type\":\"lookahead\",\"speculative.lookahead_window\":3,"
                    + "\"speculative.lookahead_ngram\":3,\"speculative.lookahead_guess\":4")).isEqualTo(reference);
            assertThat(metric(s, "argon_speculative_verify_passes_total")).isPositive();
            // greedy requests keep exact verification under the lossy typical acceptance
            assertThat(completeAll(s, ",\"speculative.type\":\"ngram\",\"speculative.accept\":\"typical\"")).isEqualTo(reference);
            assertThat(metric(s, "argon_speculative_lenient_accepted_tokens_total")).isZero();
            // sampled requests: typical acceptance keeps drafts that the requests' own draws rejected, counted in /metrics
            for (int seed = 1; seed <= 4; seed++) {
                HttpResponse<String> r = post(s, "/v1/completions", "{\"prompt\":" + JSON.writeValueAsString(PROMPTS[seed - 1])
                        + ",\"max_tokens\":40,\"temperature\":0.9,\"seed\":" + seed + ",\"speculative.type\":\"ngram\","
                        + "\"speculative.accept\":\"typical\",\"speculative.typical_epsilon\":0.05,\"speculative.typical_delta\":0.2}");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
            double lenient = metric(s, "argon_speculative_lenient_accepted_tokens_total");
            assertThat(lenient).isPositive().isLessThanOrEqualTo(metric(s, "argon_speculative_accepted_tokens_total"));
        } finally {
            s.stop(Duration.ofSeconds(5));
        }
    }

    @Test
    void badSpeculativeFieldsAre400sNamingTheField() throws Exception {
        OpenAiServer s = serve(1, SpeculationParams.NONE);
        try {
            for (String[] c : new String[][] {
                    {"\"speculative.type\":\"jacobi\"", "speculative.type"},
                    {"\"speculative.lookahead_window\":0", "speculative.lookahead_window"},
                    {"\"speculative.lookahead_ngram\":1", "speculative.lookahead_ngram"},
                    {"\"speculative.lookahead_window\":60,\"speculative.lookahead_ngram\":8", "speculative.lookahead_window"},
                    {"\"speculative.n_max\":0", "speculative.n_max"},
                    {"\"speculative.n_min\":5,\"speculative.n_max\":2", "speculative.n_min"},
                    {"\"speculative.p_min\":1.5", "speculative.p_min"},
                    {"\"speculative.type\":\"draft\"", "speculative.type"},
                    {"\"speculative.accept\":\"judge\"", "speculative.accept"},
                    {"\"speculative.accept\":\"typical\",\"speculative.typical_epsilon\":-0.1", "speculative.typical_epsilon"},
                    {"\"speculative.accept\":\"typical\",\"speculative.typical_delta\":1.5", "speculative.typical_delta"},
                    {"\"speculative.typical_epsilon\":0.2", "speculative.typical_epsilon"}}) {
                HttpResponse<String> r = post(s, "/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2," + c[0] + "}");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
                JsonNode e = JSON.readTree(r.body()).get("error");
                assertThat(e.get("param").textValue()).as(r.body()).isEqualTo(c[1]);
            }
        } finally {
            s.stop(Duration.ofSeconds(5));
        }
    }
    /**
     * Speculation asked for together with guidance or banned strings is a 400 naming the speculative field (the
     * scheduler would not speculate); the Ollama routes read the same fields, at the top level or in {@code options},
     * with Ollama's error shape; the reward-model engine refuses them.
     */
    @Test
    void combinationsThatCannotSpeculateAre400sAndOllamaReadsTheFields() throws Exception {
        OpenAiServer s = serve(2, SpeculationParams.NONE);
        try {
            for (String[] c : new String[][] {
                    {"\"guidance_scale\":2,\"negative_prompt\":\"sad\",\"speculative.type\":\"ngram\"", "speculative.type"},
                    {"\"banned_strings\":[\"dog\"],\"speculative.type\":\"lookahead\"", "speculative.type"},
                    {"\"backspace_token\":5,\"speculative.type\":\"ngram\",\"speculative.accept\":\"typical\"", "speculative.type"},
                    {"\"speculative.type\":\"ngram\",\"speculative.lookahead_window\":6", "speculative.lookahead_window"},
                    {"\"speculative.n_max\":4", "speculative.n_max"}}) {
                HttpResponse<String> r = post(s, "/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2," + c[0] + "}");
                assertThat(r.statusCode()).as(c[0] + " -> " + r.body()).isEqualTo(400);
                assertThat(JSON.readTree(r.body()).at("/error/param").textValue()).as(r.body()).isEqualTo(c[1]);
            }
            assertThat(post(s, "/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2,\"guidance_scale\":2,\"speculative.type\":\"none\"}")
                    .statusCode()).isEqualTo(200);
            // Ollama: a bad value is refused in Ollama's shape, wherever it is given
            for (String extra : new String[] {",\"speculative.accept\":\"bogus\"", ",\"options\":{\"speculative.accept\":\"bogus\"}",
                    ",\"speculative.type\":\"ngram\",\"options\":{\"speculative.type\":\"ngram\"}"}) {
                HttpResponse<String> r = post(s, "/api/generate", "{\"model\":\"tiny\",\"prompt\":\"Hi\",\"stream\":false" + extra + "}");
                assertThat(r.statusCode()).as(extra + " -> " + r.body()).isEqualTo(400);
                assertThat(JSON.readTree(r.body()).get("error").textValue()).as(r.body()).contains("speculative.");
            }
            // and a good one speculates: the same greedy text as without it, with verify passes counted
            String plain = "{\"model\":\"tiny\",\"raw\":true,\"stream\":false,\"prompt\":" + JSON.writeValueAsString(PROMPTS[0])
                    + ",\"options\":{\"temperature\":0,\"num_predict\":32";
            HttpResponse<String> without = post(s, "/api/generate", plain + "}}");
            assertThat(metric(s, "argon_speculative_verify_passes_total")).isZero();
            HttpResponse<String> with = post(s, "/api/generate", plain + ",\"speculative.type\":\"ngram\"}}");
            assertThat(with.statusCode()).as(with.body()).isEqualTo(200);
            assertThat(JSON.readTree(with.body()).get("response").textValue()).isEqualTo(JSON.readTree(without.body()).get("response").textValue());
            assertThat(metric(s, "argon_speculative_verify_passes_total")).isPositive();
        } finally {
            s.stop(Duration.ofSeconds(5));
        }
        RewardEngine rewards = new RewardEngine(new dev.argon.generate.Generator(model), 64, 1);
        dev.argon.generate.GenerationRequest req = dev.argon.generate.GenerationRequest.of("Hi", 2, dev.argon.sampling.SamplingParams.greedy())
                .withSpeculation(SpeculationParams.ngram());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> rewards.run(req, model.tokenizer().encode("Hi", true, false), (java.util.function.Consumer<String>) t -> { }, () -> false))
                .isInstanceOf(ApiException.class).extracting(e -> ((ApiException) e).param()).isEqualTo("speculative.type");
    }
}
