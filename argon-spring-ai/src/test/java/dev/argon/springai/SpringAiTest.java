package dev.argon.springai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ArgonLocalModel;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.server.OpenAiServer;
import dev.argon.server.ServerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.ollama.OllamaChatModel;
import org.springframework.ai.ollama.api.OllamaApi;
import org.springframework.ai.ollama.api.OllamaChatOptions;
import org.springframework.http.client.reactive.JdkClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spring AI two ways against one model (stories260K): the in-process {@link ArgonSpringAiChatModel}
 * and Spring AI's own Ollama client pointed at {@code argon serve}; greedy answers (called and
 * streamed) equal the server's {@code /v1/chat/completions}, token counts too.
 */
@Timeout(120)
class SpringAiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path PATH = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
    private static final int N = 30;
    private static LanguageModel model;
    private static OpenAiServer server;
    private static ArgonLocalModel local;
    private static JsonNode expected;

    @BeforeAll
    static void start() throws Exception {
        model = Models.load(PATH, 2);
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(PATH)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        server = new OpenAiServer(model, template, new ServerConfig("127.0.0.1", 0, 2, 4, 256, KvCache.Precision.F32, null,
                "stories260K")).start();
        local = ArgonLocalModel.of(model, template, 256, KvCache.Precision.F32);
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"messages\":[{\"role\":\"system\",\"content\":\"You tell stories.\"},{\"role\":\"user\",\"content\":"
                                    + "\"Tell me about Lily.\"}],\"max_tokens\":" + N + ",\"temperature\":0}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            expected = JSON.readTree(r.body());
        }
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

    private static String content() {
        return expected.path("choices").get(0).path("message").path("content").asText();
    }

    private static Prompt prompt(ChatOptions options) {
        return new Prompt(List.of(new SystemMessage("You tell stories."), new UserMessage("Tell me about Lily.")), options);
    }

    private static void checkCallAndStream(ChatModel chat, ChatOptions options) {
        ChatResponse r = chat.call(prompt(options));
        assertThat(r.getResult().getOutput().getText()).isEqualTo(content()).isNotBlank();
        assertThat(r.getMetadata().getUsage().getCompletionTokens()).isEqualTo(expected.path("usage").path("completion_tokens").asInt());
        assertThat(r.getMetadata().getUsage().getPromptTokens()).isEqualTo(expected.path("usage").path("prompt_tokens").asInt());
        List<ChatResponse> pieces = chat.stream(prompt(options)).collectList().block(Duration.ofSeconds(60));
        assertThat(pieces).hasSizeGreaterThan(2);
        StringBuilder text = new StringBuilder();
        for (ChatResponse p : pieces) {
            if (!p.getResults().isEmpty() && p.getResult().getOutput().getText() != null) {
                text.append(p.getResult().getOutput().getText());
            }
        }
        assertThat(text.toString()).isEqualTo(content());
    }

    @Test
    void inProcessChatModelAnswersAsTheServer() {
        ArgonSpringAiChatModel chat = new ArgonSpringAiChatModel(local, ChatOptions.builder().maxTokens(N).build());
        checkCallAndStream(chat, ChatOptions.builder().temperature(0.0).build());
        assertThat(chat.call(prompt(ChatOptions.builder().temperature(0.0).build())).getResult().getMetadata().getFinishReason())
                .isEqualTo(expected.path("choices").get(0).path("finish_reason").asText().toUpperCase());
    }

    @Test
    void springAisOllamaClientWorksAgainstTheServer() {
        OllamaApi api = OllamaApi.builder().baseUrl(server.url())
                .webClientBuilder(WebClient.builder().clientConnector(new JdkClientHttpConnector())).build();
        OllamaChatModel chat = OllamaChatModel.builder().ollamaApi(api).build();
        checkCallAndStream(chat, OllamaChatOptions.builder().model("stories260K").temperature(0.0).numPredict(N).build());
    }
}
