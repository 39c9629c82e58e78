package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ollama's routes over HTTP (stories260K, greedy): the same answers as the OpenAI routes, NDJSON
 * streaming whose pieces add up to the whole answer, Ollama's counters, tags, show, version and
 * its error form.
 */
@Timeout(120)
class OllamaApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServedModel served;
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() {
        served = new ServedModel("tinyllamas/stories260K/stories260K.gguf", 4, 256, "stories260K");
    }

    @AfterAll
    static void stop() {
        served.close();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(served.server.url() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static final String MESSAGES = "[{\"role\":\"system\",\"content\":\"You tell stories.\"},{\"role\":\"user\",\"content\":\"Tell me about Lily.\"}]";

    @Test
    void chatAnswersAsTheOpenAiRouteAndStreamsNdjson() throws Exception {
        HttpResponse<String> oa = served.post("/v1/chat/completions", "{\"messages\":" + MESSAGES + ",\"max_tokens\":30,\"temperature\":0}");
        JsonNode openAi = JSON.readTree(oa.body());
        String expected = openAi.path("choices").get(0).path("message").path("content").asText();
        assertThat(expected).isNotBlank();

        HttpResponse<String> whole = served.post("/api/chat", "{\"model\":\"stories260K\",\"messages\":" + MESSAGES
                + ",\"stream\":false,\"options\":{\"temperature\":0,\"num_predict\":30}}");
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        JsonNode w = JSON.readTree(whole.body());
        assertThat(w.path("message").path("role").asText()).isEqualTo("assistant");
        assertThat(w.path("message").path("content").asText()).isEqualTo(expected);
        assertThat(w.path("done").asBoolean()).isTrue();
        assertThat(w.path("done_reason").asText()).isEqualTo(openAi.path("choices").get(0).path("finish_reason").asText());
        assertThat(w.path("eval_count").asInt()).isEqualTo(openAi.path("usage").path("completion_tokens").asInt());
        assertThat(w.path("prompt_eval_count").asInt()).isEqualTo(openAi.path("usage").path("prompt_tokens").asInt());
        assertThat(w.path("model").asText()).isEqualTo("stories260K");
        assertThat(w.path("created_at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");

        // stream is Ollama's default
        HttpResponse<String> streamed = served.post("/api/chat", "{\"model\":\"stories260K:latest\",\"messages\":" + MESSAGES
                + ",\"options\":{\"temperature\":0,\"num_predict\":30}}");
        assertThat(streamed.headers().firstValue("Content-Type")).hasValue("application/x-ndjson");
        List<JsonNode> lines = new ArrayList<>();
        for (String line : streamed.body().split("\n")) {
            lines.add(JSON.readTree(line));
        }
        assertThat(lines.size()).isGreaterThan(3);
        StringBuilder text = new StringBuilder();
        for (JsonNode l : lines.subList(0, lines.size() - 1)) {
            assertThat(l.path("done").asBoolean()).isFalse();
            text.append(l.path("message").path("content").asText());
        }
        assertThat(text.toString()).isEqualTo(expected);
        JsonNode last = lines.getLast();
        assertThat(last.path("done").asBoolean()).isTrue();
        assertThat(last.path("message").path("content").asText()).isEmpty();
        assertThat(last.path("eval_count").asInt()).isEqualTo(w.path("eval_count").asInt());
        assertThat(last.path("total_duration").asLong()).isPositive();
    }

    @Test
    void generateTemplatesThePromptOrTakesItRaw() throws Exception {
        String chat = JSON.readTree(served.post("/api/chat", "{\"model\":\"stories260K\",\"stream\":false,\"messages\":" + MESSAGES
                + ",\"options\":{\"temperature\":0,\"num_predict\":20}}").body()).path("message").path("content").asText();
        JsonNode gen = JSON.readTree(served.post("/api/generate", "{\"model\":\"stories260K\",\"stream\":false,\"system\":\"You tell stories.\","
                + "\"prompt\":\"Tell me about Lily.\",\"options\":{\"temperature\":0,\"num_predict\":20}}").body());
        assertThat(gen.path("response").asText()).isEqualTo(chat);

        String completion = JSON.readTree(served.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":20,\"temperature\":0}")
                .body()).path("choices").get(0).path("text").asText();
        HttpResponse<String> raw = served.post("/api/generate", "{\"model\":\"stories260K\",\"raw\":true,\"prompt\":\"Once upon a time\","
                + "\"options\":{\"temperature\":0,\"num_predict\":20}}");
        StringBuilder text = new StringBuilder();
        JsonNode last = null;
        for (String line : raw.body().split("\n")) {
            last = JSON.readTree(line);
            text.append(last.path("response").asText());
        }
        assertThat(text.toString()).isEqualTo(completion);
        assertThat(last.path("done_reason").asText()).isEqualTo("length");
        assertThat(last.path("eval_count").asInt()).isEqualTo(20);

        JsonNode load = JSON.readTree(served.post("/api/generate", "{\"model\":\"stories260K\"}").body());
        assertThat(load.path("done_reason").asText()).isEqualTo("load");
    }

    @Test
    void tagsShowAndVersion() throws Exception {
        JsonNode tags = JSON.readTree(get("/api/tags").body());
        assertThat(tags.path("models").get(0).path("name").asText()).isEqualTo("stories260K:latest");
        assertThat(tags.path("models").get(0).path("details").path("family").asText()).isEqualTo("llama");
        assertThat(tags.path("models").get(0).path("details").path("format").asText()).isEqualTo("gguf");
        assertThat(tags.path("models").get(0).path("size").asLong()).isEqualTo(served.model.weightBytes());
        JsonNode show = JSON.readTree(served.post("/api/show", "{\"model\":\"stories260K\"}").body());
        assertThat(show.path("template").asText()).contains("[INST]");
        assertThat(show.path("model_info").path("general.architecture").asText()).isEqualTo("llama");
        assertThat(show.path("model_info").path("llama.context_length").asInt()).isEqualTo(256);
        assertThat(JSON.readTree(get("/api/version").body()).path("version").asText()).matches("\\d+\\.\\d+\\.\\d+");
        assertThat(OllamaRoutes.parameterSize(260_000)).isEqualTo("260K");
        assertThat(OllamaRoutes.parameterSize(1_235_814_400L)).isEqualTo("1.2B");
    }

    @Test
    void formatConstrainsTheAnswerToJsonOrASchema() throws Exception {
        HttpResponse<String> schema = served.post("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"Is Lily happy?\",\"stream\":false,"
                + "\"format\":{\"type\":\"string\",\"enum\":[\"yes\",\"no\"]},\"options\":{\"temperature\":0,\"num_predict\":10}}");
        assertThat(schema.statusCode()).as(schema.body()).isEqualTo(200);
        assertThat(JSON.readTree(schema.body()).path("response").asText()).isIn("\"yes\"", "\"no\"");
        HttpResponse<String> json = served.post("/api/chat", "{\"model\":\"stories260K\",\"format\":\"json\",\"stream\":false,\"messages\":"
                + MESSAGES + ",\"options\":{\"temperature\":0,\"num_predict\":5}}");
        assertThat(json.statusCode()).as(json.body()).isEqualTo(200);
        assertThat(JSON.readTree(json.body()).path("message").path("content").asText()).startsWith("{");
        HttpResponse<String> bad = served.post("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"format\":{\"type\":\"nope\"}}");
        assertThat(bad.statusCode()).as(bad.body()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).path("error").asText()).contains("nope");
    }

    @Test
    void errorsAreOllamasForm() throws Exception {
        HttpResponse<String> unknown = served.post("/api/chat", "{\"model\":\"llama3\",\"messages\":" + MESSAGES + "}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).path("error").asText()).contains("'llama3' does not exist");
        HttpResponse<String> format = served.post("/api/chat", "{\"model\":\"stories260K\",\"format\":\"yaml\",\"messages\":" + MESSAGES + "}");
        assertThat(format.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(format.body()).path("error").asText()).isEqualTo("'format' is \"yaml\"; expected \"json\" or a JSON schema object");
        HttpResponse<String> temp = served.post("/api/chat", "{\"model\":\"stories260K\",\"options\":{\"temperature\":5},\"messages\":" + MESSAGES + "}");
        assertThat(temp.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(temp.body()).path("error").asText()).contains("temperature");
        HttpResponse<String> noModel = served.post("/api/chat", "{\"messages\":" + MESSAGES + "}");
        assertThat(JSON.readTree(noModel.body()).path("error").asText()).contains("'model' is required");
        HttpResponse<String> images = served.post("/api/chat", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"images\":[\"aGk=\"]}]}");
        assertThat(images.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(images.body()).path("error").asText()).contains("images are not supported");
    }
}
