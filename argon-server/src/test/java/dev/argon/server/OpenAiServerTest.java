package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatMessage;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.Generator;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
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

import static org.assertj.core.api.Assertions.assertThat;

/** End-to-end tests of the OpenAI-compatible routes over HTTP with the stories260K model. */
class OpenAiServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROMPT = "Once upon a time";
    private static final int CTX = 256;

    private static LanguageModel model;
    private static ChatTemplate template;
    private static OpenAiServer server;
    private static HttpClient http;

    @BeforeAll
    static void start() {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        model = Models.load(path, 2);
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        server = new OpenAiServer(model, template, config(null)).start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static ServerConfig config(String apiKey) {
        return new ServerConfig("127.0.0.1", 0, 2, ServerConfig.DEFAULT_QUEUE_CAPACITY, CTX, KvCache.Precision.F32, apiKey, "stories260K");
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

    private static HttpResponse<String> post(OpenAiServer s, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url() + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return post(server, path, body, null);
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(server.url() + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String greedy(String prompt, int n, List<String> stop) {
        GenerationRequest req = new GenerationRequest(prompt, n, SamplingParams.greedy(), stop, true, true);
        return new Generator(model, KvCache.Precision.F32).generate(req, CTX, s -> { }).text();
    }

    /** The JSON objects of an SSE body, checking that it ends with [DONE]. */
    private static List<JsonNode> events(String body) throws Exception {
        List<String> data = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (!block.isBlank()) {
                assertThat(block).startsWith("data: ");
                data.add(block.substring(6));
            }
        }
        assertThat(data).isNotEmpty();
        assertThat(data.getLast()).isEqualTo("[DONE]");
        List<JsonNode> out = new ArrayList<>();
        for (String d : data.subList(0, data.size() - 1)) {
            out.add(JSON.readTree(d));
        }
        return out;
    }

    private static void assertError(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).isEqualTo(status);
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.has("type")).isTrue();
        assertThat(e.has("param")).isTrue();
        assertThat(e.has("code")).isTrue();
        assertThat(r.body()).doesNotContain("\tat ");
    }

    @Test
    void completionMatchesGreedyGenerator() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":24,\"temperature\":0}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode j = JSON.readTree(r.body());
        assertThat(j.get("object").asText()).isEqualTo("text_completion");
        JsonNode c = j.get("choices").get(0);
        assertThat(c.get("text").asText()).isEqualTo(greedy(PROMPT, 24, List.of())).isNotEmpty();
        assertThat(c.get("finish_reason").asText()).isEqualTo("length");
        JsonNode u = j.get("usage");
        assertThat(u.get("completion_tokens").asInt()).isEqualTo(24);
        assertThat(u.get("total_tokens").asInt()).isEqualTo(u.get("prompt_tokens").asInt() + 24);
        assertThat(u.get("prompt_tokens").asInt()).isEqualTo(model.tokenizer().encode(PROMPT, true, true).length);
    }

    @Test
    void streamingCompletionConcatenatesToTheSameText() throws Exception {
        HttpResponse<String> r = post("/v1/completions",
                "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":24,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<JsonNode> ev = events(r.body());
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode e : ev) {
            for (JsonNode c : e.get("choices")) {
                text.append(c.get("text").asText());
                if (!c.get("finish_reason").isNull()) {
                    finish = c.get("finish_reason").asText();
                }
            }
        }
        assertThat(text.toString()).isEqualTo(greedy(PROMPT, 24, List.of()));
        assertThat(finish).isEqualTo("length");
        assertThat(ev.getLast().get("usage").get("completion_tokens").asInt()).isEqualTo(24);
        // as OpenAI: with include_usage every other chunk carries "usage": null
        for (JsonNode e : ev.subList(0, ev.size() - 1)) {
            assertThat(e.has("usage")).isTrue();
            assertThat(e.get("usage").isNull()).isTrue();
        }
    }

    @Test
    void stopStringIsNotEmitted() throws Exception {
        String full = greedy(PROMPT, 40, List.of());
        String words = full.strip();
        String stop = words.substring(words.indexOf(' ') + 1).split(" ")[0]; // the second word of the answer
        assertThat(stop).isNotBlank();
        String expected = full.substring(0, full.indexOf(stop));
        HttpResponse<String> r = post("/v1/completions",
                "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":40,\"temperature\":0,\"stop\":[\"" + stop + "\"]}");
        JsonNode c = JSON.readTree(r.body()).get("choices").get(0);
        assertThat(c.get("text").asText()).isEqualTo(expected).doesNotContain(stop);
        assertThat(c.get("finish_reason").asText()).isEqualTo("stop");
        HttpResponse<String> s = post("/v1/completions",
                "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":40,\"temperature\":0,\"stop\":\"" + stop + "\",\"stream\":true}");
        StringBuilder text = new StringBuilder();
        for (JsonNode e : events(s.body())) {
            text.append(e.get("choices").get(0).get("text").asText());
        }
        assertThat(text.toString()).isEqualTo(expected);
    }

    @Test
    void chatCompletion() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}],\"max_tokens\":16,\"temperature\":0}";
        HttpResponse<String> r = post("/v1/chat/completions", body);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode j = JSON.readTree(r.body());
        assertThat(j.get("object").asText()).isEqualTo("chat.completion");
        JsonNode c = j.get("choices").get(0);
        assertThat(c.get("message").get("role").asText()).isEqualTo("assistant");
        String prompt = template.render(List.of(ChatMessage.user("Tell me a story")), true);
        String bos = template.bosToken();
        if (!bos.isEmpty() && prompt.startsWith(bos)) {
            prompt = prompt.substring(bos.length());
        }
        String expected = greedy(prompt, 16, template.stopStrings());
        assertThat(c.get("message").get("content").asText()).isEqualTo(expected);
        assertThat(c.get("finish_reason").asText()).isIn("stop", "length");

        HttpResponse<String> s = post("/v1/chat/completions", body.replace("}]", "}],\"stream\":true"));
        assertThat(s.statusCode()).isEqualTo(200);
        List<JsonNode> ev = events(s.body());
        assertThat(ev.getFirst().get("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(ev.getFirst().get("choices").get(0).get("delta").get("role").asText()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        for (JsonNode e : ev) {
            JsonNode delta = e.get("choices").get(0).get("delta");
            if (delta.has("content")) {
                text.append(delta.get("content").asText());
            }
            if (e != ev.getLast()) {
                assertThat(e.get("choices").get(0).get("finish_reason").isNull()).isTrue();
            }
        }
        assertThat(text.toString()).isEqualTo(expected);
        assertThat(ev.getLast().get("choices").get(0).get("finish_reason").asText()).isEqualTo(c.get("finish_reason").asText());
    }

    @Test
    void modelsAndHealth() throws Exception {
        JsonNode m = JSON.readTree(get("/v1/models").body());
        assertThat(m.get("object").asText()).isEqualTo("list");
        assertThat(m.get("data").get(0).get("id").asText()).isEqualTo("stories260K");
        HttpResponse<String> h = get("/health");
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(h.body()).get("status").asText()).isEqualTo("ok");
    }

    @Test
    void tokenizeRoundTrip() throws Exception {
        HttpResponse<String> t = post("/tokenize", "{\"content\":\"Once upon a time there was\"}");
        assertThat(t.statusCode()).isEqualTo(200);
        JsonNode tokens = JSON.readTree(t.body()).get("tokens");
        int[] expected = model.tokenizer().encode("Once upon a time there was", false, true);
        assertThat(tokens.size()).isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(tokens.get(i).asInt()).isEqualTo(expected[i]);
        }
        HttpResponse<String> d = post("/detokenize", "{\"tokens\":" + tokens + "}");
        assertThat(d.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(d.body()).get("content").asText().strip()).isEqualTo("Once upon a time there was");
        assertError(post("/detokenize", "{\"tokens\":[-1]}"), 400);
    }

    @Test
    void badRequests() throws Exception {
        assertError(post("/v1/completions", "{\"prompt\": \"x\", "), 400);
        assertError(post("/v1/chat/completions", "not json"), 400);
        assertError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":-1}"), 400);
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":-1}"), 400);
        assertError(post("/v1/chat/completions", "{\"messages\":[]}"), 400);
        assertError(post("/v1/completions", "{\"prompt\":\"x\",\"temperature\":-1}"), 400);
        assertError(post("/v1/completions", "{\"prompt\":\"x\",\"top_p\":\"high\"}"), 400);
        assertError(post("/v1/completions", "{}"), 400);
        assertError(get("/v1/nothing"), 404);
        assertError(post("/v2/completions", "{}"), 404);
    }

    /** One slot, {@code queue} waiting places, a context long enough for thousands of tokens. */
    private static ServerConfig oneSlot(int queue) {
        return new ServerConfig("127.0.0.1", 0, 1, queue, 8192, KvCache.Precision.F32, null, "stories260K");
    }

    /** A streamed completion that runs for {@code maxTokens} tokens (hot sampling rarely ends a story early). */
    private static HttpRequest longStream(OpenAiServer s, int maxTokens) {
        return HttpRequest.newBuilder(URI.create(s.url() + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":" + maxTokens
                        + ",\"stream\":true,\"temperature\":1.5,\"top_k\":0,\"min_p\":0}"))
                .build();
    }

    @Test
    void clientDisconnectStopsItsGeneration() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, oneSlot(4)).start()) {
            HttpResponse<java.io.InputStream> r = http.send(longStream(s, 8000), HttpResponse.BodyHandlers.ofInputStream());
            try (java.io.InputStream in = r.body()) {
                assertThat(in.read(new byte[64])).isPositive(); // generation has started
            }
            awaitTrue(() -> s.cancelledGenerations() > 0);
            assertThat(s.cancelledGenerations()).isEqualTo(1);
            // the only slot is free again
            assertThat(post(s, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aStreamingClientThatLeavesWhileQueuedFreesItsPlace() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, oneSlot(1)).start()) {
            // A holds the only slot for a few seconds
            java.util.concurrent.CompletableFuture<HttpResponse<String>> aDone = http.sendAsync(longStream(s, 3000),
                    HttpResponse.BodyHandlers.ofString());
            awaitTrue(() -> s.stats().activeSequences() == 1);
            // B waits in the queue, then its client goes away without reading anything
            String body = "{\"prompt\":\"Tim\",\"max_tokens\":4,\"stream\":true}";
            try (java.net.Socket b = new java.net.Socket("127.0.0.1", s.port())) {
                b.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                b.getOutputStream().flush();
                awaitTrue(() -> s.stats().queuedRequests() == 1);
            }
            // found gone by the keep-alive comments within about a second, while A still runs
            awaitTrue(() -> s.stats().queuedRequests() == 0);
            assertThat(aDone).as("A still streaming when B's place was freed").isNotDone();
            assertThat(s.stats().activeSequences()).isEqualTo(1);
            HttpResponse<String> done = aDone.get(50, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(done.body()).startsWith("data: ").endsWith("data: [DONE]\n\n");
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    @Test
    void apiKey() throws Exception {
        try (OpenAiServer s = new OpenAiServer(model, template, config("secret")).start()) {
            String body = "{\"prompt\":\"x\",\"max_tokens\":1}";
            assertError(post(s, "/v1/completions", body, "wrong"), 401);
            assertError(post(s, "/v1/completions", body, null), 401);
            assertThat(post(s, "/v1/completions", body, "secret").statusCode()).isEqualTo(200);
            HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(s.url() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(h.statusCode()).isEqualTo(200);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void concurrentRequestsOnTwoSlotsAllCompleteWithTheirOwnText() throws Exception {
        // Both slots share the model's thread pool; each answer must equal its sequential greedy text.
        String[] prompts = {"Once upon a time", "Lily and Tom", "Tim wanted to", "One day"};
        java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(prompts.length);
        try {
            List<java.util.concurrent.Future<HttpResponse<String>>> answers = new java.util.ArrayList<>();
            for (String p : prompts) {
                answers.add(clients.submit(() -> post("/v1/completions",
                        "{\"prompt\":\"" + p + "\",\"max_tokens\":40,\"temperature\":0}")));
            }
            for (int i = 0; i < prompts.length; i++) {
                HttpResponse<String> r = answers.get(i).get();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                String text = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).get("choices").get(0).get("text").asText();
                assertThat(text).as(prompts[i]).isEqualTo(greedy(prompts[i], 40, List.of()));
            }
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void aMalformedToolIsRefused() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\"}],\"max_tokens\":2}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("\"param\":\"tools[0]\"");
    }
    private static String sampled(String prompt, int n, long seed) {
        GenerationRequest req = new GenerationRequest(prompt, n, new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, seed),
                List.of(), true, true);
        return new Generator(model, KvCache.Precision.F32).generate(req, CTX, s -> { }).text();
    }

    @Test
    void nChoicesAreIndependentGenerationsWithSeedPlusIndex() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":12,\"n\":3,\"seed\":42}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        JsonNode choices = body.get("choices");
        assertThat(choices).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(choices.get(i).get("index").asInt()).isEqualTo(i);
            assertThat(choices.get(i).get("text").asText()).isEqualTo(sampled(PROMPT, 12, 42 + i));
        }
        assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(36);
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(model.tokenizer().encode(PROMPT, true, true).length);
    }

    @Test
    void streamedChoicesCarryTheirIndexAndEachFinishes() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"max_tokens\":10,\"n\":2,\"temperature\":0,\"stream\":true}");
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder[] text = {new StringBuilder(), new StringBuilder()};
        int[] finishes = new int[2];
        int[] roles = new int[2];
        for (JsonNode e : events(r.body())) {
            JsonNode c = e.get("choices").get(0);
            int i = c.get("index").asInt();
            if (c.at("/delta/role").isTextual()) {
                roles[i]++;
            }
            text[i].append(c.at("/delta/content").asText(""));
            if (!c.get("finish_reason").isNull()) {
                finishes[i]++;
            }
        }
        assertThat(roles).containsExactly(1, 1);
        assertThat(finishes).containsExactly(1, 1);
        assertThat(text[0].toString()).isNotEmpty().isEqualTo(text[1].toString()); // greedy: both choices agree
    }

    @Test
    void chatLogprobsListEveryTokenWithItsTopAlternatives() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"max_tokens\":8,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":3}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        JsonNode content = body.at("/choices/0/logprobs/content");
        assertThat(content).hasSize(body.at("/usage/completion_tokens").asInt());
        StringBuilder joined = new StringBuilder();
        for (JsonNode t : content) {
            JsonNode top = t.get("top_logprobs");
            assertThat(top).hasSize(3);
            // greedy: the chosen token is the most likely one
            assertThat(top.get(0).get("token").asText()).isEqualTo(t.get("token").asText());
            assertThat(top.get(0).get("logprob").asDouble()).isEqualTo(t.get("logprob").asDouble());
            assertThat(t.get("logprob").asDouble()).isNegative().isGreaterThanOrEqualTo(top.get(2).get("logprob").asDouble());
            assertThat(top.get(1).get("logprob").asDouble()).isLessThanOrEqualTo(top.get(0).get("logprob").asDouble());
            byte[] bytes = new byte[t.get("bytes").size()];
            for (int k = 0; k < bytes.length; k++) {
                bytes[k] = (byte) t.get("bytes").get(k).asInt();
            }
            assertThat(new String(bytes, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(t.get("token").asText());
            joined.append(t.get("token").asText());
        }
        assertThat(joined.toString()).contains(body.at("/choices/0/message/content").asText().strip());
    }

    @Test
    void completionLogprobsUseTheLegacyArrays() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":6,\"temperature\":0,\"logprobs\":2}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode lp = JSON.readTree(r.body()).at("/choices/0/logprobs");
        assertThat(lp.get("tokens")).hasSize(6);
        assertThat(lp.get("token_logprobs")).hasSize(6);
        assertThat(lp.get("top_logprobs")).hasSize(6);
        assertThat(lp.get("text_offset").get(0).asInt()).isZero();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            assertThat(lp.get("top_logprobs").get(i).size()).isBetween(1, 2);
            assertThat(lp.get("token_logprobs").get(i).asDouble()).isLessThanOrEqualTo(0.0);
            assertThat(lp.get("text_offset").get(i).asInt()).isEqualTo(text.length());
            text.append(lp.get("tokens").get(i).asText());
        }
        assertThat(text.toString()).isEqualTo(greedyRaw(PROMPT, 6));
    }

    @Test
    void logprobsEndWithTheTextWhenAStopStringCutsIt() throws Exception {
        String full = greedyRaw(PROMPT, 12);
        String stop = full.substring(6, 9); // inside the answer, across whatever tokens hold it
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":12,\"temperature\":0,"
                + "\"logprobs\":0,\"stop\":" + JSON.writeValueAsString(stop) + "}");
        JsonNode choice = JSON.readTree(r.body()).at("/choices/0");
        String text = choice.get("text").asText();
        assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
        JsonNode offsets = choice.at("/logprobs/text_offset");
        assertThat(offsets.size()).isPositive();
        for (JsonNode o : offsets) {
            assertThat(o.asInt()).isLessThan(Math.max(1, text.length()));
        }
    }

    @Test
    void aPromptTooLongInBytesIsRefusedBeforeTokenizing() throws Exception {
        String huge = "Once upon a time. ".repeat(100_000); // 1.8 MB, under the body limit
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"" + huge + "\",\"max_tokens\":1}");
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e.get("code").asText()).isEqualTo("context_length_exceeded");
        assertThat(e.get("message").asText()).contains("1800000 bytes");
        assertThat(e.get("param").asText()).isEqualTo("prompt");
    }

    @Test
    void aRepeatedPromptPrefixIsServedFromTheCacheAndCounted() throws Exception {
        String first = "Lily and Tom went to the park. They saw a big dog.";
        assertThat(post("/v1/completions", "{\"prompt\":\"" + first + "\",\"max_tokens\":2,\"temperature\":0}").statusCode()).isEqualTo(200);
        double before = cachedTokens();
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"" + first + " The dog\",\"max_tokens\":8,\"temperature\":0}");
        assertThat(r.statusCode()).isEqualTo(200);
        // the whole first prompt is reused (its tokens are a prefix of the second's)
        int firstTokens = model.tokenizer().encode(first, true, true).length;
        assertThat(cachedTokens() - before).isEqualTo(firstTokens);
        assertThat(JSON.readTree(r.body()).at("/choices/0/text").asText()).isEqualTo(greedy(first + " The dog", 8, List.of()));
    }

    private static double cachedTokens() throws Exception {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^argon_prompt_tokens_cached_total (\\S+)$")
                .matcher(get("/metrics").body());
        assertThat(m.find()).isTrue();
        return Double.parseDouble(m.group(1));
    }

    /** The generated text without SentencePiece's first-space rule (log-probability tokens keep their spaces). */
    private static String greedyRaw(String prompt, int n) {
        GenerationRequest req = new GenerationRequest(prompt, n, SamplingParams.greedy(), List.of(), true, true);
        return model.tokenizer().decode(new Generator(model, KvCache.Precision.F32).generate(req, CTX, s -> { }).generatedTokens());
    }
}
