package dev.argon.langchain4j;

import dev.argon.chat.ArgonLocalModel;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.server.OpenAiServer;
import dev.argon.server.ServerConfig;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.ollama.OllamaChatModel;
import dev.langchain4j.model.ollama.OllamaModel;
import dev.langchain4j.model.ollama.OllamaModels;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One model (stories260K), two ways: {@code argon serve} on a free port, and the in-process
 * LangChain4j models on the same loaded weights. Greedy answers of the in-process
 * {@link ArgonChatModel} / {@link ArgonStreamingChatModel} and of LangChain4j's Ollama client
 * against the server all equal the server's {@code /v1/chat/completions} answer, token counts too.
 */
@Timeout(120)
class InProcessAndOllamaClientsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path PATH = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
    private static final int CTX = 256;
    private static final int N = 30;
    private static LanguageModel model;
    private static OpenAiServer server;
    private static ArgonLocalModel local;

    @BeforeAll
    static void start() {
        model = Models.load(PATH, 2);
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(PATH)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        server = new OpenAiServer(model, template, new ServerConfig("127.0.0.1", 0, 2, 4, CTX, KvCache.Precision.F32, null,
                "stories260K")).start();
        local = ArgonLocalModel.of(model, template, CTX, KvCache.Precision.F32);
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

    /** The server's greedy answer: content, prompt tokens, completion tokens, finish reason. */
    private static JsonNode serverAnswer(String system, String user) throws Exception {
        String messages = (system == null ? "" : "{\"role\":\"system\",\"content\":" + JSON.writeValueAsString(system) + "},")
                + "{\"role\":\"user\",\"content\":" + JSON.writeValueAsString(user) + "}";
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"messages\":[" + messages + "],\"max_tokens\":" + N + ",\"temperature\":0}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            return JSON.readTree(r.body());
        }
    }

    private static String content(JsonNode answer) {
        return answer.path("choices").get(0).path("message").path("content").asText();
    }

    @Test
    void inProcessGreedyAnswersEqualTheServers() throws Exception {
        JsonNode expected = serverAnswer("You tell stories.", "Tell me about Lily.");
        assertThat(content(expected)).isNotBlank();
        ChatModel chat = ArgonChatModel.builder().model(local).temperature(0.0).maxTokens(N).build();
        ChatResponse r = chat.chat(SystemMessage.from("You tell stories."), UserMessage.from("Tell me about Lily."));
        assertThat(r.aiMessage().text()).isEqualTo(content(expected));
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(expected.path("usage").path("prompt_tokens").asInt());
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(expected.path("usage").path("completion_tokens").asInt());
        assertThat(r.finishReason()).isEqualTo(expected.path("choices").get(0).path("finish_reason").asText().equals("length")
                ? FinishReason.LENGTH : FinishReason.STOP);
        assertThat(r.modelName()).isEqualTo("argon");

        // streaming: the pieces add up to the same answer
        StreamingChatModel streaming = ArgonChatModel.builder().model(local).temperature(0.0).maxTokens(N).buildStreaming();
        List<String> pieces = new CopyOnWriteArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(List.of(SystemMessage.from("You tell stories."), UserMessage.from("Tell me about Lily.")), handler(pieces, done));
        ChatResponse s = done.get(60, TimeUnit.SECONDS);
        assertThat(pieces.size()).isGreaterThan(1);
        assertThat(String.join("", pieces)).isEqualTo(content(expected));
        assertThat(s.aiMessage().text()).isEqualTo(content(expected));
    }

    interface Assistant {
        String chat(String message);
    }

    @Test
    void anAiServiceAnswersInProcess() throws Exception {
        JsonNode expected = serverAnswer(null, "Where did the cat go?");
        Assistant assistant = AiServices.create(Assistant.class, ArgonChatModel.builder().model(local).temperature(0.0).maxTokens(N).build());
        assertThat(assistant.chat("Where did the cat go?")).isEqualTo(content(expected));
    }

    @Test
    void langChain4jsOllamaClientsWorkAgainstTheServer() throws Exception {
        JsonNode expected = serverAnswer("You tell stories.", "Tell me about Lily.");
        OllamaChatModel ollama = OllamaChatModel.builder().baseUrl(server.url()).modelName("stories260K").temperature(0.0)
                .numPredict(N).timeout(Duration.ofSeconds(60)).build();
        ChatResponse r = ollama.chat(SystemMessage.from("You tell stories."), UserMessage.from("Tell me about Lily."));
        assertThat(r.aiMessage().text()).isEqualTo(content(expected));
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(expected.path("usage").path("completion_tokens").asInt());
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(expected.path("usage").path("prompt_tokens").asInt());

        OllamaStreamingChatModel streaming = OllamaStreamingChatModel.builder().baseUrl(server.url()).modelName("stories260K")
                .temperature(0.0).numPredict(N).timeout(Duration.ofSeconds(60)).build();
        List<String> pieces = new CopyOnWriteArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(List.of(SystemMessage.from("You tell stories."), UserMessage.from("Tell me about Lily.")), handler(pieces, done));
        ChatResponse s = done.get(60, TimeUnit.SECONDS);
        assertThat(pieces.size()).isGreaterThan(1);
        assertThat(String.join("", pieces)).isEqualTo(content(expected));
        assertThat(s.aiMessage().text()).isEqualTo(content(expected));

        List<OllamaModel> models = OllamaModels.builder().baseUrl(server.url()).build().availableModels().content();
        assertThat(models).extracting(OllamaModel::getName).containsExactly("stories260K:latest");
    }

    @Test
    void theBuilderLoadsAFileAndRefusesWhatItCannotDo() {
        try (ArgonLocalModel fromFile = ArgonLocalModel.builder().modelPath(PATH).contextLength(64).threads(1)
                .cachePrecision(KvCache.Precision.F32).chatTemplate("chatml").build()) {
            assertThat(fromFile.name()).isEqualTo("stories260K");
            assertThat(fromFile.contextLength()).isEqualTo(64);
            assertThat(fromFile.template().source()).contains("<|im_start|>");
            ChatResponse r = ArgonChatModel.builder().model(fromFile).temperature(0.0).maxTokens(5).build().chat(ChatRequest.builder()
                    .messages(UserMessage.from("Hi")).build());
            assertThat(r.tokenUsage().outputTokenCount()).isBetween(1, 5);
            assertThatThrownBy(() -> ArgonChatModel.builder().model(fromFile).build().chat(ChatRequest.builder()
                    .messages(UserMessage.from("Hi")).toolSpecifications(ToolSpecification.builder().name("f").build()).build()))
                    .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("tools");
        }
        assertThatThrownBy(() -> ArgonLocalModel.builder().modelPath(Path.of("/nonexistent/x.gguf")).build())
                .isInstanceOf(ArgonException.class).hasMessageContaining("/nonexistent/x.gguf");
        assertThatThrownBy(() -> ArgonChatModel.builder().model(local).temperature(-1.0).build())
                .isInstanceOf(ArgonException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> ArgonChatModel.builder().build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model is required");
    }

    private static StreamingChatResponseHandler handler(List<String> pieces, CompletableFuture<ChatResponse> done) {
        return new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                pieces.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        };
    }
}
