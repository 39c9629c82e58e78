package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.BatchScheduler;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
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
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code argon serve}'s paged KV pool (the default) with stories260K: KV memory is zero at idle
 * and grows with use in {@code /metrics}, and a request sharing a system prompt with an earlier
 * (running or finished) one reports {@code cached_tokens} and answers as without the cache.
 */
@Timeout(120)
class PagedKvServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CTX = 256;
    private static final int PARALLEL = 8;
    private static final String SYSTEM = "Once upon a time, there was a little girl named Lily. She loved to play outside in the"
            + " park with her friends. One day, she saw a big red ball under a tree. ";

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

    private static OpenAiServer server(boolean prefixCaching) {
        OpenAiServer s = new OpenAiServer(new ServerConfig("127.0.0.1", 0, PARALLEL, 8, CTX, KvCache.Precision.F16, null, "m")).start();
        return s.ready(model, template, new BatchingEngine(model, new BatchScheduler.Options(PARALLEL, CTX, KvCache.Precision.F16, 8,
                BatchingEngine.STEP_TOKENS, prefixCaching).paged(16, 0)));
    }

    private static CompletableFuture<JsonNode> complete(OpenAiServer s, String prompt, int maxTokens) {
        String body = "{\"prompt\":" + JSON.valueToTree(prompt) + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0}";
        return http.sendAsync(HttpRequest.newBuilder(URI.create(s.url() + "/v1/completions")).timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    try {
                        return JSON.readTree(r.body());
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
    }

    private static double metric(OpenAiServer s, String name) throws Exception {
        String text = http.send(HttpRequest.newBuilder(URI.create(s.url() + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no metric " + name);
    }

    private static String text(JsonNode r) {
        return r.get("choices").get(0).get("text").asText();
    }

    private static int cached(JsonNode r) {
        return r.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
    }

    @Test
    void kvMemoryFollowsUseAndASharedSystemPromptIsServedFromCachedBlocks() throws Exception {
        String a = SYSTEM + "Lily said";
        String b = SYSTEM + "Her mom said";
        JsonNode first;
        JsonNode second;
        try (OpenAiServer s = server(true)) {
            assertThat(metric(s, "argon_kv_cache_bytes")).as("idle at start").isZero();
            assertThat(metric(s, "argon_kv_blocks_capacity")).isEqualTo(PARALLEL * CTX / 16);
            assertThat(metric(s, "argon_kv_blocks_used")).isZero();
            CompletableFuture<JsonNode> running = complete(s, a, 80);
            int promptA = new dev.argon.generate.Generator(model).tokenizePrompt(
                    dev.argon.generate.GenerationRequest.of(a, 1, dev.argon.sampling.SamplingParams.greedy()), CTX).length;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!running.isDone() && metric(s, "argon_kv_cache_tokens_used") <= promptA && System.nanoTime() < deadline) {
                Thread.sleep(2); // until the first request decodes: its prompt blocks are computed and registered
            }
            assertThat(metric(s, "argon_kv_cache_bytes") > 0 || running.isDone()).as("memory grows with use").isTrue();
            second = complete(s, b, 20).get();
            first = running.get();
            assertThat(cached(first)).isZero();
            assertThat(cached(second)).as("the system prompt's full blocks").isPositive().isEqualTo(cached(second) / 16 * 16);
            double blockBytes = 16.0 * KvCache.bytesPerToken(model.config().nLayers(), model.config().kvDim(),
                    model.config().headDim(), KvCache.Precision.F16, KvCache.Precision.F16);
            assertThat(metric(s, "argon_kv_blocks_used")).isZero();
            double cachedBlocks = metric(s, "argon_kv_blocks_cached");
            assertThat(cachedBlocks).as("the prompts' full blocks stay cached").isPositive()
                    .isLessThanOrEqualTo(2 * CTX / 16);
            assertThat(metric(s, "argon_kv_cache_bytes")).as("idle: the cached blocks only").isEqualTo(cachedBlocks * blockBytes);
            assertThat(metric(s, "argon_prefix_cache_hit_tokens_total")).isEqualTo(cached(second));
            assertThat(metric(s, "argon_prefix_cache_hits_total")).isEqualTo(1);
            assertThat(metric(s, "argon_prefix_cache_misses_total")).isEqualTo(1);
        }
        try (OpenAiServer s = server(false)) {
            JsonNode plain = complete(s, b, 20).get();
            assertThat(cached(plain)).isZero();
            assertThat(text(second)).isEqualTo(text(plain));
            assertThat(metric(s, "argon_kv_cache_bytes")).as("no prefix caching: nothing kept").isZero();
        }
    }
}
