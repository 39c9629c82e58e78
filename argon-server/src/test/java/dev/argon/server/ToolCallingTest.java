package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tool calling end to end on stories260K (random for this purpose: the grammar makes forced calls
 * well-formed) served three times: with its own template (no tool support: the generic system
 * prompt and JSON format), with the real Qwen2.5 template (Hermes {@code <tool_call>}) and the
 * real Llama 3.1 template (JSON with {@code parameters}).
 */
class ToolCallingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WEATHER = """
            {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"]}}}""";
    private static final String TIME = """
            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
              "properties": {"zone": {"type": "integer", "minimum": 0}}, "required": ["zone"]}}}""";

    private static LanguageModel model;
    private static OpenAiServer generic;
    private static OpenAiServer qwen;
    private static OpenAiServer llama3;
    private static OpenAiServer mistral;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        model = Models.load(path, 1);
        Path templates = Path.of("../argon-chat/src/test/resources/dev/argon/chat/templates");
        generic = serve(ChatTemplate.fallback(model.tokenizer()));
        qwen = serve(ChatTemplate.of(Files.readString(templates.resolve("qwen2.5.jinja")), "", "<|im_end|>"));
        llama3 = serve(ChatTemplate.of(Files.readString(templates.resolve("llama3.1-trainable.jinja")), "<|begin_of_text|>", "<|eot_id|>"));
        mistral = serve(ChatTemplate.of(Files.readString(templates.resolve("mistral-nemo.jinja")), "<s>", "</s>"));
    }

    private static OpenAiServer serve(ChatTemplate t) {
        return new OpenAiServer(model, t, new ServerConfig("127.0.0.1", 0, 2, 8, 1024, KvCache.Precision.F32, null, "m")).start();
    }

    @AfterAll
    static void stop() {
        for (OpenAiServer s : new OpenAiServer[]{generic, qwen, llama3, mistral}) {
            if (s != null) {
                s.stop(Duration.ofSeconds(5));
            }
        }
        if (model != null) {
            model.close();
        }
    }

    private static HttpResponse<String> post(OpenAiServer s, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void assertWeatherArguments(String arguments) throws Exception {
        JsonNode args = JSON.readTree(arguments);
        assertThat(args.get("city").isTextual()).as(arguments).isTrue();
        assertThat(args.get("city").asText().length()).as(arguments).isLessThanOrEqualTo(12);
        assertThat(args.get("unit").asText()).as(arguments).isIn("celsius", "fahrenheit");
    }

    @Test
    void openAiJavaClientRequiredCallThenResultThenAnswer() throws Exception {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(generic.url() + "/v1").apiKey("x").maxRetries(0)
                .timeout(Duration.ofSeconds(60)).build();
        try {
            FunctionDefinition fn = FunctionDefinition.builder().name("get_weather").description("Current weather in a city")
                    .parameters(FunctionParameters.builder()
                            .putAdditionalProperty("type", JsonValue.from("object"))
                            .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                    "city", Map.of("type", "string", "maxLength", 12),
                                    "unit", Map.of("enum", List.of("celsius", "fahrenheit")))))
                            .putAdditionalProperty("required", JsonValue.from(List.of("city", "unit")))
                            .build())
                    .build();
            ChatCompletionCreateParams.Builder params = ChatCompletionCreateParams.builder().model("m")
                    .addUserMessage("What is the weather in Paris?").addFunctionTool(fn).maxCompletionTokens(120).parallelToolCalls(false)
                    .temperature(1.0).seed(3);
            ChatCompletion first = client.chat().completions().create(params.toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
            ChatCompletion.Choice choice = first.choices().getFirst();
            assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
            ChatCompletionMessage msg = choice.message();
            ChatCompletionMessageFunctionToolCall call = msg.toolCalls().orElseThrow().getFirst().asFunction();
            assertThat(call.function().name()).isEqualTo("get_weather");
            assertThat(call.id()).startsWith("call_");
            assertWeatherArguments(call.function().arguments());

            ChatCompletion answer = client.chat().completions().create(params
                    .addMessage(msg)
                    .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("18 degrees and sunny").build())
                    .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).maxCompletionTokens(20).build());
            assertThat(answer.choices().getFirst().message().toolCalls()).isEmpty();
            assertThat(answer.choices().getFirst().message().content()).isPresent();
        } finally {
            client.close();
        }
    }

    @Test
    void langChain4jToolRequestThenResultThenAnswerOnTheQwenTemplate() throws Exception {
        dev.langchain4j.model.openai.OpenAiChatModel chat = dev.langchain4j.model.openai.OpenAiChatModel.builder()
                .baseUrl(qwen.url() + "/v1").apiKey("x").modelName("m").temperature(0.0).maxTokens(120).parallelToolCalls(false)
                .timeout(Duration.ofSeconds(60)).maxRetries(0).build();
        dev.langchain4j.agent.tool.ToolSpecification weather = dev.langchain4j.agent.tool.ToolSpecification.builder()
                .name("get_weather").description("Current weather in a city")
                .parameters(dev.langchain4j.model.chat.request.json.JsonObjectSchema.builder()
                        .addStringProperty("city").addIntegerProperty("days").required("city", "days").build())
                .build();
        dev.langchain4j.data.message.UserMessage question = dev.langchain4j.data.message.UserMessage.from("Weather in Rome?");
        dev.langchain4j.model.chat.response.ChatResponse first = chat.chat(dev.langchain4j.model.chat.request.ChatRequest.builder()
                .messages(question).toolSpecifications(weather)
                .toolChoice(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED).build());
        assertThat(first.aiMessage().hasToolExecutionRequests()).isTrue();
        dev.langchain4j.agent.tool.ToolExecutionRequest call = first.aiMessage().toolExecutionRequests().getFirst();
        assertThat(call.name()).isEqualTo("get_weather");
        JsonNode args = JSON.readTree(call.arguments());
        assertThat(args.get("city").isTextual() && args.get("days").isIntegralNumber()).as(call.arguments()).isTrue();
        assertThat(first.finishReason()).isEqualTo(dev.langchain4j.model.output.FinishReason.TOOL_EXECUTION);

        dev.langchain4j.model.chat.response.ChatResponse answer = chat.chat(dev.langchain4j.model.chat.request.ChatRequest.builder()
                .messages(question, first.aiMessage(), dev.langchain4j.data.message.ToolExecutionResultMessage.from(call, "21 C, sunny"))
                .toolSpecifications(weather).build());
        assertThat(answer.aiMessage().hasToolExecutionRequests()).isFalse();
        assertThat(answer.aiMessage().text()).isNotBlank();
    }

    /** The tools of the AiServices test: records each call. */
    public static final class WeatherTools {
        final List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();

        @dev.langchain4j.agent.tool.Tool("Current weather in a city")
        public String getWeather(@dev.langchain4j.agent.tool.P(name = "city", description = "the city") String city,
                                 @dev.langchain4j.agent.tool.P(name = "days", description = "days ahead") int days) {
            calls.add(city + "/" + days);
            return "21 C, sunny";
        }
    }

    /** The AiServices interface of the test. */
    interface Assistant {
        String chat(String message);
    }

    /**
     * LangChain4j AiServices end to end over HTTP on the real Qwen2.5 template: the {@code @Tool}
     * method is called with the arguments the model wrote (schema-valid by the grammar), its result
     * goes back as a tool message, and the service returns the model's final answer. The first
     * turn asks for {@code tool_choice: required} (this tiny story model would not choose a
     * tool; with too few tokens the forced call is cut short and stays text), later turns use AiServices' default {@code auto}.
     */
    @Test
    void langChain4jAiServicesCallsAToolMethodThenAnswers() {
        dev.langchain4j.model.openai.OpenAiChatModel openAi = dev.langchain4j.model.openai.OpenAiChatModel.builder()
                .baseUrl(qwen.url() + "/v1").apiKey("x").modelName("m").temperature(0.0).maxTokens(160).parallelToolCalls(false)
                .timeout(Duration.ofSeconds(60)).maxRetries(0).build();
        dev.langchain4j.model.chat.ChatModel firstTurnRequired = new dev.langchain4j.model.chat.ChatModel() {
            @Override
            public dev.langchain4j.model.chat.response.ChatResponse doChat(dev.langchain4j.model.chat.request.ChatRequest r) {
                if (r.messages().getLast() instanceof dev.langchain4j.data.message.UserMessage) {
                    r = dev.langchain4j.model.chat.request.ChatRequest.builder().messages(r.messages())
                            .parameters(r.parameters().overrideWith(dev.langchain4j.model.chat.request.ChatRequestParameters.builder()
                                    .toolChoice(dev.langchain4j.model.chat.request.ToolChoice.REQUIRED).build()))
                            .build();
                }
                return openAi.chat(r);
            }
        };
        WeatherTools tools = new WeatherTools();
        Assistant assistant = dev.langchain4j.service.AiServices.builder(Assistant.class).chatModel(firstTurnRequired).tools(tools).build();
        String answer = assistant.chat("Weather in Rome?");
        assertThat(tools.calls).as("the @Tool method's calls").hasSize(1);
        assertThat(tools.calls.getFirst()).matches("(?s).*/-?[0-9]+");
        assertThat(answer).isNotBlank();
    }

    @Test
    void genericPromptCarriesToolsAndResults() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"-3 C\"}],\"tools\":[" + WEATHER + "]}";
        String prompt = JSON.readTree(post(generic, "/apply-template", body).body()).get("prompt").asText();
        assertThat(prompt).contains(ToolCalls.GENERIC_PROMPT).contains("\"name\":\"get_weather\"")
                .contains("{\"tool_calls\":[{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}]}")
                .contains("Result of tool call call_1: -3 C");
    }

    @Test
    void qwenTemplateRendersToolsAndNamedChoiceIsParsedBack() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"time in zone 3 and weather in Rome\"}],"
                + "\"tools\":[" + WEATHER + "," + TIME + "],\"max_tokens\":150,\"temperature\":1,\"seed\":5,\"parallel_tool_calls\":false,";
        String prompt = JSON.readTree(post(qwen, "/apply-template", body + "\"tool_choice\":\"auto\"}").body()).get("prompt").asText();
        assertThat(prompt).contains("<tools>").contains("\"name\": \"get_time\"").contains("<tool_call>");

        HttpResponse<String> r = post(qwen, "/v1/chat/completions", body
                + "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode calls = choice.get("message").get("tool_calls");
        assertThat(calls.size()).isEqualTo(1);
        for (JsonNode c : calls) {
            assertThat(c.get("type").asText()).isEqualTo("function");
            assertThat(c.get("function").get("name").asText()).isEqualTo("get_time");
            JsonNode args = JSON.readTree(c.get("function").get("arguments").asText());
            assertThat(args.get("zone").isIntegralNumber() && args.get("zone").asLong() >= 0).as(args.toString()).isTrue();
        }
        assertThat(choice.get("message").get("content").isNull()).isTrue();
    }

    @Test
    void llama3TemplateRequiredCallUsesParametersAndStreamsToolCallDeltas() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"weather in Rome\"}],\"tools\":[" + WEATHER + "],"
                + "\"tool_choice\":\"required\",\"max_tokens\":150,\"temperature\":1,\"seed\":9";
        HttpResponse<String> r = post(llama3, "/v1/chat/completions", body + "}");
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        assertThat(choice.get("finish_reason").asText()).as(r.body()).isEqualTo("tool_calls");
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertWeatherArguments(call.get("function").get("arguments").asText());

        HttpResponse<String> s = post(llama3, "/v1/chat/completions", body + ",\"stream\":true}");
        String name = null;
        String arguments = null;
        String finish = null;
        for (String line : s.body().split("\n")) {
            if (!line.startsWith("data: {")) {
                continue;
            }
            JsonNode c = JSON.readTree(line.substring(6)).get("choices").get(0);
            JsonNode delta = c.get("delta");
            assertThat(delta.has("content") && !delta.get("content").isNull() && !delta.get("content").asText().isEmpty())
                    .as("no text deltas for a tool call: " + line).isFalse();
            if (delta.has("tool_calls")) {
                JsonNode tc = delta.get("tool_calls").get(0);
                assertThat(tc.get("index").asInt()).isZero();
                name = tc.get("function").get("name").asText();
                arguments = tc.get("function").get("arguments").asText();
            }
            if (!c.get("finish_reason").isNull()) {
                finish = c.get("finish_reason").asText();
            }
        }
        assertThat(name).isEqualTo("get_weather");
        assertThat(arguments).isEqualTo(call.get("function").get("arguments").asText());
        assertThat(finish).isEqualTo("tool_calls");
    }

    /**
     * The real Mistral Nemo template (Mistral's {@code [AVAILABLE_TOOLS]} / {@code [TOOL_CALLS]} /
     * {@code [TOOL_RESULTS]} syntax, which insists on 9-character alphanumeric call ids): a required
     * call, then its result, then the answer.
     */
    @Test
    void mistralTemplateRequiredCallThenResultThenAnswer() throws Exception {
        String user = "{\"role\":\"user\",\"content\":\"weather in Rome\"}";
        String body = "\"tools\":[" + WEATHER + "],\"max_tokens\":150,\"temperature\":1,\"seed\":4,\"parallel_tool_calls\":false,";
        HttpResponse<String> rendered = post(mistral, "/apply-template", "{\"messages\":[" + user + "]," + body + "\"tool_choice\":\"auto\"}");
        assertThat(rendered.statusCode()).as(rendered.body()).isEqualTo(200);
        String prompt = JSON.readTree(rendered.body()).get("prompt").asText();
        assertThat(prompt).startsWith("<s>[AVAILABLE_TOOLS][{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"")
                .endsWith("[/AVAILABLE_TOOLS][INST]weather in Rome[/INST]");

        HttpResponse<String> r = post(mistral, "/v1/chat/completions", "{\"messages\":[" + user + "]," + body + "\"tool_choice\":\"required\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        assertThat(choice.get("finish_reason").asText()).as(r.body()).isEqualTo("tool_calls");
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertThat(call.get("function").get("name").asText()).isEqualTo("get_weather");
        assertWeatherArguments(call.get("function").get("arguments").asText());
        assertThat(call.get("id").asText()).as("Mistral's templates take 9 alphanumeric characters").matches("[A-Za-z0-9]{9}");

        String turn2 = "{\"messages\":[" + user + "," + JSON.writeValueAsString(choice.get("message")) + ",{\"role\":\"tool\",\"tool_call_id\":\""
                + call.get("id").asText() + "\",\"content\":\"18 degrees\"}]," + body;
        HttpResponse<String> rendered2 = post(mistral, "/apply-template", turn2 + "\"tool_choice\":\"auto\"}");
        assertThat(rendered2.statusCode()).as(rendered2.body()).isEqualTo(200);
        String prompt2 = JSON.readTree(rendered2.body()).get("prompt").asText();
        assertThat(prompt2).as("the call and its result are in the prompt")
                .contains("[/INST][TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {")
                .contains("\"id\": \"" + call.get("id").asText() + "\"}]</s>[TOOL_RESULTS]{\"content\": 18 degrees, \"call_id\": \""
                        + call.get("id").asText() + "\"}[/TOOL_RESULTS]");
        HttpResponse<String> answer = post(mistral, "/v1/chat/completions", turn2 + "\"tool_choice\":\"auto\",\"max_tokens\":20}");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        JsonNode a = JSON.readTree(answer.body()).get("choices").get(0);
        assertThat(a.get("message").get("content").isTextual()).as(answer.body()).isTrue();
    }

    @Test
    void malformedToolsAndChoicesAre400s() throws Exception {
        String msgs = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],";
        HttpResponse<String> a = post(generic, "/v1/chat/completions", msgs + "\"tools\":[{\"type\":\"function\"}]}");
        assertThat(a.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(a.body()).get("error").get("param").asText()).isEqualTo("tools[0]");
        HttpResponse<String> b = post(generic, "/v1/chat/completions", msgs + "\"tools\":[" + WEATHER + "],"
                + "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}}");
        assertThat(b.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(b.body()).get("error").get("message").asText()).contains("'nope', which is not among the tools");
        HttpResponse<String> c = post(generic, "/v1/chat/completions", msgs + "\"tools\":[{\"type\":\"function\",\"function\":"
                + "{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"email\"}}}}}]}");
        assertThat(c.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(c.body()).get("error").get("param").asText()).isEqualTo("tools[0].function.parameters");
        HttpResponse<String> d = post(generic, "/v1/completions", "{\"prompt\":\"x\",\"tools\":[" + WEATHER + "]}");
        assertThat(d.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(d.body()).get("error").get("message").asText()).contains("only supported on /v1/chat/completions");
    }
}
