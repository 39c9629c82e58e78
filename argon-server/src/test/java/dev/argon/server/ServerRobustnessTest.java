package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server that cannot be wedged: the model file truncated under it (the memory-mapped weights
 * then fault), a request that does not fit (also with several choices), a non-streaming client
 * that leaves.
 */
@Timeout(120)
class ServerRobustnessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** End of sequence (id 2 in both vocabularies used here) banned: generations run to their limit. */
    private static final String NO_EOS = "\"logit_bias\":{\"2\":-100}";

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private static HttpRequest postRequest(OpenAiServer s, String path, String body) {
        return HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static HttpResponse<String> post(OpenAiServer s, String path, String body) throws Exception {
        return HTTP.send(postRequest(s, path, body), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(OpenAiServer s, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode error(String body) throws Exception {
        JsonNode e = JSON.readTree(body).get("error");
        assertThat(e).as(body).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(body).doesNotContain("\tat ");
        return e;
    }

    private static LanguageModel load(Path path) {
        return Models.load(path, 2);
    }

    private static ChatTemplate template(Path path, LanguageModel model) {
        try (GgufFile f = GgufFile.open(path)) {
            return ChatTemplate.fromGguf(f, model.tokenizer());
        }
    }

    private static void awaitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("timed out").isLessThan(deadline);
            Thread.sleep(2);
        }
    }

    /** The value of a Prometheus sample without labels. */
    private static double metric(String scrape, String name) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }

    @Test
    void aModelFileTruncatedUnderTheServerFailsItsRequestsWithJsonErrors(@TempDir Path dir) throws Exception {
        Path copy = dir.resolve("TinyLLama-v0.Q4_0.gguf");
        Files.copy(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), copy);
        LanguageModel model = load(copy);
        ServerConfig config = new ServerConfig("127.0.0.1", 0, 2, 4, 2048, KvCache.Precision.F32, null, "TinyLLama-v0");
        try (OpenAiServer s = new OpenAiServer(model, template(copy, model), config).start()) {
            assertThat(post(s, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":4}").statusCode()).isEqualTo(200);

            // two requests in flight: a stream that has started and a plain one
            String longGeneration = "\"prompt\":\"Once upon a time\",\"max_tokens\":2000,\"temperature\":0," + NO_EOS;
            HttpResponse<InputStream> stream = HTTP.send(postRequest(s, "/v1/completions", "{" + longGeneration + ",\"stream\":true}"),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(stream.statusCode()).isEqualTo(200);
            BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
            String first;
            while ((first = lines.readLine()) != null && !first.startsWith("data: {")) {
                // pings and blank lines
            }
            assertThat(first).as("first chunk").isNotNull();
            CompletableFuture<HttpResponse<String>> plain = HTTP.sendAsync(postRequest(s, "/v1/completions", "{" + longGeneration + "}"),
                    HttpResponse.BodyHandlers.ofString());
            awaitUntil(() -> s.stats().activeSequences() == 2);

            long t0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
                ch.truncate(4096); // the header stays, the weights are gone
            }

            // the plain request: a 500 OpenAI error object
            HttpResponse<String> failed = plain.get(15, TimeUnit.SECONDS);
            double plainSeconds = (System.nanoTime() - t0) / 1e9;
            assertThat(failed.statusCode()).as(failed.body()).isEqualTo(500);
            assertThat(failed.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
            JsonNode e = error(failed.body());
            assertThat(e.get("type").asText()).isEqualTo("server_error");
            assertThat(e.get("code").asText()).isEqualTo("model_failed");

            // the stream: an error event, then the end of the stream
            CompletableFuture<List<String>> rest = CompletableFuture.supplyAsync(() -> {
                List<String> out = new ArrayList<>();
                try {
                    for (String line; (line = lines.readLine()) != null; ) {
                        out.add(line);
                    }
                } catch (java.io.IOException ex) {
                    out.add("IOException " + ex.getMessage());
                }
                return out;
            });
            List<String> tail = rest.get(15, TimeUnit.SECONDS);
            double streamSeconds = (System.nanoTime() - t0) / 1e9;
            String last = tail.stream().filter(l -> l.startsWith("data: ")).reduce((a, b) -> b).orElse("");
            assertThat(last).as(String.join("\n", tail)).startsWith("data: {\"error\"");
            JsonNode se = error(last.substring(6));
            assertThat(se.get("type").asText()).isEqualTo("server_error");
            assertThat(se.get("code").asText()).isEqualTo("model_failed");

            // /health says so; later requests fail at once
            HttpResponse<String> health = get(s, "/health");
            assertThat(health.statusCode()).isEqualTo(503);
            JsonNode h = JSON.readTree(health.body());
            assertThat(h.get("status").asText()).isEqualTo("error");
            assertThat(h.get("message").asText()).startsWith("the model failed");
            double laterMs = Double.MAX_VALUE;
            for (String route : new String[]{"/v1/chat/completions", "/v1/completions"}) {
                long t1 = System.nanoTime();
                HttpResponse<String> later = post(s, route,
                        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"prompt\":\"hi\",\"max_tokens\":4,\"stream\":true}");
                laterMs = Math.min(laterMs, (System.nanoTime() - t1) / 1e6);
                assertThat(later.statusCode()).as(later.body()).isEqualTo(503);
                assertThat(error(later.body()).get("code").asText()).isEqualTo("model_failed");
            }
            assertThat(laterMs).isLessThan(2000);
            System.err.printf("truncated model: plain request failed after %.2f s, stream after %.2f s, later request in %.1f ms: %s%n",
                    plainSeconds, streamSeconds, laterMs, h.get("message").asText());
        } finally {
            model.close();
        }
    }

    @Test
    void aRequestThatDoesNotFitIsRefusedAtOnceAllChoicesOrNone() throws Exception {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        LanguageModel model = load(path);
        ServerConfig config = new ServerConfig("127.0.0.1", 0, 1, 2, 8192, KvCache.Precision.F32, null, "stories260K");
        try (OpenAiServer s = new OpenAiServer(model, template(path, model), config).start()) {
            // one long stream holds the only slot
            HttpResponse<InputStream> holder = HTTP.send(postRequest(s, "/v1/completions",
                    "{\"prompt\":\"Once\",\"max_tokens\":8000,\"temperature\":0,\"stream\":true," + NO_EOS + "}"),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = holder.body()) {
                assertThat(in.read(new byte[64])).isPositive();
                assertThat(s.stats().activeSequences()).isEqualTo(1);
                // 3 choices, room for 2 (the queue): refused at once, nothing queued
                double best = Double.MAX_VALUE;
                for (int i = 0; i < 3; i++) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"n\":3}");
                    double ms = (System.nanoTime() - t0) / 1e6;
                    best = Math.min(best, ms);
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                    assertThat(error(r.body()).get("code").asText()).isEqualTo("server_busy");
                    assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
                    assertThat(s.stats().queuedRequests()).isZero();
                    assertThat(s.stats().activeSequences()).isEqualTo(1);
                    assertThat(ms).isLessThan(1000);
                    System.err.printf("n=3 with room for 2: 503 in %.1f ms%n", ms);
                }
                assertThat(best).isLessThan(100);
            }
            // the holder left: its slot is free again, and 3 choices fit
            awaitUntil(() -> s.stats().activeSequences() == 0);
            HttpResponse<String> ok = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"n\":3,\"temperature\":0," + NO_EOS + "}");
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
            assertThat(JSON.readTree(ok.body()).get("usage").get("completion_tokens").asInt()).isEqualTo(12);
        } finally {
            model.close();
        }
    }

    @Test
    void aNonStreamingClientThatLeavesFreesItsSlot() throws Exception {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        LanguageModel model = load(path);
        ServerConfig config = new ServerConfig("127.0.0.1", 0, 1, 2, 8192, KvCache.Precision.F32, null, "stories260K");
        try (OpenAiServer s = new OpenAiServer(model, template(path, model), config).start()) {
            String body = "{\"prompt\":\"Once\",\"max_tokens\":8000,\"temperature\":0," + NO_EOS + "}";
            double freedMs;
            try (Socket socket = new Socket("127.0.0.1", s.port())) {
                OutputStream out = socket.getOutputStream();
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(bytes);
                out.flush();
                awaitUntil(() -> s.stats().activeSequences() == 1 && s.stats().kvCacheTokensUsed() > 16);
            } // the client leaves
            long t0 = System.nanoTime();
            awaitUntil(() -> s.stats().activeSequences() == 0);
            freedMs = (System.nanoTime() - t0) / 1e6;
            assertThat(freedMs).isLessThan(1000);
            awaitUntil(() -> s.cancelledGenerations() == 1);
            String m = get(s, "/metrics").body();
            double generated = metric(m, "argon_completion_tokens_total");
            assertThat(generated).isPositive().isLessThan(8000);
            System.err.printf("non-streaming client left: slot free after %.1f ms, %d of 8000 tokens generated%n", freedMs, (long) generated);
            // the server goes on serving
            HttpResponse<String> ok = post(s, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4}");
            assertThat(ok.statusCode()).isEqualTo(200);
        } finally {
            model.close();
        }
    }
}
