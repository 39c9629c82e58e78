package dev.argon.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.argon.TestFiles;
import dev.argon.chat.ChatMessage;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server as real OpenAI clients see it: the official {@code openai-java} client and
 * LangChain4j's OpenAI models, against the real TinyLLama-v0 model with greedy decoding. Every
 * answer must equal what {@link Generator} produces in-process for the same prompt and limit
 * (what {@code argon generate --temp 0} prints).
 */
@Timeout(120)
class OpenAiClientsTest {
    private static final String KEY = "test-key";
    private static final String MODEL_ID = "TinyLLama-v0.Q4_0";
    private static final int CTX = 256;
    private static final int MAX_TOKENS = 16;
    private static final KvCache.Precision CACHE = KvCache.Precision.F16; // argon generate's default
    private static final String PROMPT = "Once upon a time, there was a little girl named";
    private static final String QUESTION = "Tell me a story about a cat.";

    private static LanguageModel model;
    private static ChatTemplate template;
    private static OpenAiServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        Path path = TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf");
        model = Models.load(path, new ModelOptions(2, true));
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        server = new OpenAiServer(model, template,
                new ServerConfig("127.0.0.1", 0, 1, 8, CTX, CACHE, KEY, MODEL_ID)).start();
        client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey(KEY)
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.stop(Duration.ofSeconds(5));
        }
        if (model != null) {
            model.close();
        }
    }

    /** The in-process greedy generation for a rendered prompt. */
    private static GenerationResult generate(String prompt, List<String> stop) {
        GenerationRequest req = new GenerationRequest(prompt, MAX_TOKENS, SamplingParams.greedy(), stop, true, true);
        return new Generator(model, CACHE).generate(req, CTX, s -> { });
    }

    private static String completionExpected() {
        String text = generate(PROMPT, List.of()).text();
        assertThat(text).isNotBlank();
        return text;
    }

    /** The chat prompt as the server renders it: the template's text without its written BOS (the tokenizer adds it). */
    private static String chatExpected() {
        String prompt = template.render(List.of(ChatMessage.user(QUESTION)), true);
        String bos = template.bosToken();
        if (!bos.isEmpty() && prompt.startsWith(bos)) {
            prompt = prompt.substring(bos.length());
        }
        String text = generate(prompt, template.stopStrings()).text();
        assertThat(text).isNotBlank();
        return text;
    }

    private static ChatCompletionCreateParams.Builder chatParams() {
        return ChatCompletionCreateParams.builder().model(MODEL_ID).addUserMessage(QUESTION)
                .maxCompletionTokens(MAX_TOKENS).temperature(0.0);
    }

    private static CompletionCreateParams completionParams() {
        return CompletionCreateParams.builder().model(MODEL_ID).prompt(PROMPT).maxTokens(MAX_TOKENS).temperature(0.0).build();
    }

    @Test
    void openAiJavaChat() {
        ChatCompletion c = client.chat().completions().create(chatParams().build());
        assertThat(c.model()).isEqualTo(MODEL_ID);
        assertThat(c.choices()).hasSize(1);
        ChatCompletion.Choice choice = c.choices().getFirst();
        assertThat(choice.message().content()).contains(chatExpected());
        assertThat(choice.finishReason().asString()).isIn("stop", "length");
        assertThat(c.usage().orElseThrow().completionTokens()).isBetween(1L, (long) MAX_TOKENS);
    }

    @Test
    void openAiJavaChatStreaming() {
        StringBuilder text = new StringBuilder();
        String[] finish = {null};
        long[] usage = {-1};
        ChatCompletionCreateParams params = chatParams()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> {
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(text::append);
                    ch.finishReason().ifPresent(f -> finish[0] = f.asString());
                }
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertThat(text.toString()).isEqualTo(chatExpected());
        assertThat(finish[0]).isIn("stop", "length");
        assertThat(usage[0]).isBetween(1L, (long) MAX_TOKENS);
    }

    @Test
    void openAiJavaCompletion() {
        Completion c = client.completions().create(completionParams());
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().getFirst().text()).isEqualTo(completionExpected());
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo("length");
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(MAX_TOKENS);
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(model.tokenizer().encode(PROMPT, true, true).length);
    }

    @Test
    void openAiJavaCompletionStreaming() {
        StringBuilder text = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(completionParams())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> text.append(ch.text())));
        }
        assertThat(text.toString()).isEqualTo(completionExpected());
    }

    @Test
    void openAiJavaSeesOpenAiErrors() {
        ChatCompletionCreateParams unknownModel = chatParams().model("gpt-4o").build();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.chat().completions().create(unknownModel))
                .isInstanceOf(com.openai.errors.NotFoundException.class)
                .hasMessageContaining("gpt-4o");
        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("wrong").maxRetries(0).build();
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> wrongKey.completions().create(completionParams()))
                    .isInstanceOf(com.openai.errors.UnauthorizedException.class);
        } finally {
            wrongKey.close();
        }
    }

    @Test
    void langChain4jChatModel() {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(server.url() + "/v1").apiKey(KEY).modelName(MODEL_ID)
                .temperature(0.0).maxTokens(MAX_TOKENS).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        assertThat(chat.chat(QUESTION)).isEqualTo(chatExpected());
    }

    /** A LangChain4j streaming chat of {@link #QUESTION}: the streamed parts and the final response. */
    private record Streamed(String parts, ChatResponse response) {
    }

    private static Streamed langChain4jStream() throws Exception {
        OpenAiStreamingChatModel chat = OpenAiStreamingChatModel.builder().baseUrl(server.url() + "/v1").apiKey(KEY)
                .modelName(MODEL_ID).temperature(0.0).maxTokens(MAX_TOKENS).timeout(Duration.ofSeconds(60)).build();
        StringBuilder parts = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        chat.chat(QUESTION, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                parts.append(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        return new Streamed(parts.toString(), response);
    }

    @Test
    void langChain4jStreamingChatModel() throws Exception {
        Streamed streamed = langChain4jStream();
        String parts = streamed.parts();
        ChatResponse response = streamed.response();
        String expected = chatExpected();
        assertThat(parts.toString()).isEqualTo(expected);
        assertThat(response.aiMessage().text()).isEqualTo(expected);
    }

    /** Fills the only slot and most of the queue with long requests, so that the next request waits over a second. */
    private static List<CompletableFuture<java.net.http.HttpResponse<String>>> fillTheQueue(java.net.http.HttpClient http)
            throws InterruptedException {
        String filler = "{\"model\":\"" + MODEL_ID + "\",\"prompt\":\"Once\",\"max_tokens\":240,\"logit_bias\":{\"2\":-100}}";
        List<CompletableFuture<java.net.http.HttpResponse<String>>> ahead = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ahead.add(http.sendAsync(post("/completions", filler), java.net.http.HttpResponse.BodyHandlers.ofString()));
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (server.stats().queuedRequests() < 5) {
            assertThat(System.nanoTime()).as("the filler requests did not queue").isLessThan(deadline);
            Thread.sleep(2);
        }
        return ahead;
    }

    private static java.net.http.HttpRequest post(String path, String body) {
        return java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url() + "/v1" + path))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build();
    }

    @Test
    @Timeout(120)
    void clientsIgnoreTheKeepAliveCommentsOfAWaitingStream() throws Exception {
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            List<CompletableFuture<java.net.http.HttpResponse<String>>> ahead = fillTheQueue(http);
            // the raw stream shows the comments the clients below receive while they wait
            CompletableFuture<java.net.http.HttpResponse<String>> raw = http.sendAsync(post("/completions",
                    "{\"model\":\"" + MODEL_ID + "\",\"prompt\":\"x\",\"max_tokens\":1,\"stream\":true}"),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            StringBuilder text = new StringBuilder();
            try (StreamResponse<Completion> stream = client.completions().createStreaming(completionParams())) {
                stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> text.append(ch.text())));
            }
            assertThat(text.toString()).isEqualTo(completionExpected());
            assertThat(raw.get(60, TimeUnit.SECONDS).body()).startsWith(": ping\n\n").endsWith("data: [DONE]\n\n");
            for (CompletableFuture<java.net.http.HttpResponse<String>> f : ahead) {
                assertThat(f.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }

            ahead = fillTheQueue(http);
            assertThat(langChain4jStream().parts()).isEqualTo(chatExpected());
            for (CompletableFuture<java.net.http.HttpResponse<String>> f : ahead) {
                assertThat(f.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
        }
    }
}
