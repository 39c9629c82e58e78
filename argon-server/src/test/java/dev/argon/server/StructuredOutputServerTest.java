package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.grammar.Grammar;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code response_format}, {@code grammar} and {@code json_schema} through HTTP. */
class StructuredOutputServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServedModel served;

    private static final String SCHEMA = """
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10},
              "mood": {"enum": ["happy", "sad"]}, "friends": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}},
             "required": ["name", "mood", "friends"], "additionalProperties": false}""";

    @BeforeAll
    static void start() {
        served = new ServedModel("tinyllamas/stories260K/stories260K.gguf", 8, 512, "stories");
    }

    @AfterAll
    static void stop() {
        if (served != null) {
            served.close();
        }
    }

    @Test
    void chatJsonSchemaChoicesAllValidate() throws Exception {
        HttpResponse<String> r = served.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about Lily\"}],"
                + "\"temperature\":1,\"seed\":7,\"n\":10,\"max_tokens\":300,"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"kid\",\"strict\":true,\"schema\":" + SCHEMA + "}}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choices = JSON.readTree(r.body()).get("choices");
        assertThat(choices).hasSize(10);
        int finished = 0;
        for (JsonNode c : choices) {
            if (!c.get("finish_reason").asText().equals("stop")) {
                continue;
            }
            finished++;
            String content = c.get("message").get("content").asText();
            JsonNode doc = JSON.readTree(content);
            assertThat(doc.size()).as(content).isEqualTo(3);
            assertThat(doc.get("name").isTextual() && doc.get("name").asText().codePointCount(0, doc.get("name").asText().length()) <= 10).as(content).isTrue();
            assertThat(doc.get("mood").asText()).as(content).isIn("happy", "sad");
            assertThat(doc.get("friends").isArray() && doc.get("friends").size() <= 3).as(content).isTrue();
            doc.get("friends").forEach(f -> assertThat(f.isIntegralNumber()).as(content).isTrue());
        }
        assertThat(finished).isGreaterThanOrEqualTo(8);
    }

    @Test
    void completionsJsonObjectAndLlamaCppFields() throws Exception {
        HttpResponse<String> r = served.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_tokens\":200,"
                + "\"response_format\":{\"type\":\"json_object\",\"schema\":{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode c = JSON.readTree(r.body()).get("choices").get(0);
        assertThat(c.get("finish_reason").asText()).isEqualTo("stop");
        assertThat(JSON.readTree(c.get("text").asText()).get("ok").isBoolean()).as(c.get("text").asText()).isTrue();

        String gbnf = "root ::= \" \" [A-Z] [a-z]{1,6} \" and \" [A-Z] [a-z]{1,6} \".\"\n";
        HttpResponse<String> g = served.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_tokens\":60,"
                + "\"grammar\":" + JSON.writeValueAsString(gbnf) + "}");
        assertThat(g.statusCode()).as(g.body()).isEqualTo(200);
        String text = JSON.readTree(g.body()).get("choices").get(0).get("text").asText();
        assertThat(Grammar.parse(gbnf).matches(text)).as(text).isTrue();

        HttpResponse<String> s = served.post("/v1/completions", "{\"prompt\":\"Once\",\"temperature\":0,\"max_tokens\":60,"
                + "\"json_schema\":{\"enum\":[\"up\",\"down\"]}}");
        assertThat(s.statusCode()).as(s.body()).isEqualTo(200);
        assertThat(JSON.readTree(s.body()).get("choices").get(0).get("text").asText()).isIn("\"up\"", "\"down\"");
    }

    @Test
    void streamingUnderASchemaStreamsTheSameDocument() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0,\"max_tokens\":200,"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":" + SCHEMA + "}}";
        String whole = JSON.readTree(served.post("/v1/chat/completions", body + "}").body())
                .get("choices").get(0).get("message").get("content").asText();
        HttpResponse<String> r = served.post("/v1/chat/completions", body + ",\"stream\":true}");
        StringBuilder streamed = new StringBuilder();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: {")) {
                JsonNode d = JSON.readTree(line.substring(6)).get("choices");
                if (d != null && !d.isEmpty() && d.get(0).get("delta").has("content")) {
                    streamed.append(d.get(0).get("delta").get("content").asText());
                }
            }
        }
        assertThat(streamed.toString()).isEqualTo(whole);
        assertThat(JSON.readTree(whole).get("mood").asText()).isIn("happy", "sad");
    }

    /** llama.cpp's grammar_lazy / grammar_triggers: free text until a pattern matches, then the grammar from its group. */
    @Test
    void lazyGrammarFromATriggerPattern() throws Exception {
        String gbnf = "root ::= \" the\" [a-z ]{0,40} \".\"\n";
        String base = "{\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_tokens\":60,\"grammar\":" + JSON.writeValueAsString(gbnf);
        HttpResponse<String> r = served.post("/v1/completions", base + ",\"grammar_lazy\":true,"
                + "\"grammar_triggers\":[{\"type\":2,\"value\":\",( the)\"}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode c = JSON.readTree(r.body()).get("choices").get(0);
        String text = c.get("text").asText();
        int at = text.indexOf(", the") + 1;
        assertThat(at).as(text).isPositive();
        assertThat(Grammar.parse(gbnf).matches(text.substring(at))).as(text).isTrue();
        assertThat(c.get("finish_reason").asText()).isEqualTo("stop");

        HttpResponse<String> none = served.post("/v1/completions", base + ",\"grammar_lazy\":true}");
        assertThat(none.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(none.body()).get("error").get("param").asText()).isEqualTo("grammar_triggers");
        HttpResponse<String> bad = served.post("/v1/completions", base + ",\"grammar_lazy\":true,"
                + "\"grammar_triggers\":[{\"type\":\"pattern\",\"value\":\"(a\"}]}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).get("error").get("param").asText()).isEqualTo("grammar_triggers[0].value");
        HttpResponse<String> type = served.post("/v1/completions", base + ",\"grammar_lazy\":true,"
                + "\"grammar_triggers\":[{\"type\":7,\"value\":\"a\"}]}");
        assertThat(type.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(type.body()).get("error").get("param").asText()).isEqualTo("grammar_triggers[0].type");
    }

    @Test
    void badGrammarsAndSchemasAre400sNamingTheField() throws Exception {
        HttpResponse<String> g = served.post("/v1/completions", "{\"prompt\":\"x\",\"grammar\":\"root ::= [a-z\"}");
        assertThat(g.statusCode()).isEqualTo(400);
        JsonNode e = JSON.readTree(g.body()).get("error");
        assertThat(e.get("param").asText()).isEqualTo("grammar");
        assertThat(e.get("message").asText()).isEqualTo("'grammar': grammar error at 1:14: unterminated character class (expected ']')");

        HttpResponse<String> s = served.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"not\":{}}}}}}}");
        assertThat(s.statusCode()).isEqualTo(400);
        JsonNode se = JSON.readTree(s.body()).get("error");
        assertThat(se.get("param").asText()).isEqualTo("response_format.json_schema.schema");
        assertThat(se.get("message").asText()).startsWith("'response_format.json_schema.schema': JSON schema at #/properties/a: keyword 'not' is not supported");

        HttpResponse<String> t = served.post("/v1/completions", "{\"prompt\":\"x\",\"response_format\":{\"type\":\"yaml\"}}");
        assertThat(t.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(t.body()).get("error").get("param").asText()).isEqualTo("response_format.type");

        HttpResponse<String> both = served.post("/v1/completions", "{\"prompt\":\"x\",\"response_format\":{\"type\":\"json_object\"},\"grammar\":\"root ::= \\\"a\\\"\"}");
        assertThat(both.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(both.body()).get("error").get("message").asText()).contains("give only one of");
    }
}
