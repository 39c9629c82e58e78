package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.chat.ChatTemplate;
import dev.argon.grammar.Grammar;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Parsing model output back into tool calls, per template family, and the forcing grammars. */
class ToolCallsParseTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"add\",\"parameters\":{\"type\":\"object\","
            + "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"]}}}]";

    private static ToolCalls tools(String templateSource, String choice) throws Exception {
        String c = choice.equals("auto") || choice.equals("required") ? "\"" + choice + "\""
                : "{\"type\":\"function\",\"function\":{\"name\":\"" + choice + "\"}}";
        JsonNode body = JSON.readTree("{\"tools\":" + TOOLS + ",\"tool_choice\":" + c + "}");
        return ToolCalls.parse(body, true, ChatTemplate.of(templateSource, "", ""));
    }

    @Test
    void formatsFollowTheTemplate() throws Exception {
        assertThat(tools("{{ tools }}<tool_call>", "auto").format).isEqualTo(ToolCalls.Format.HERMES);
        assertThat(tools("{{ tools }}[TOOL_CALLS]", "auto").format).isEqualTo(ToolCalls.Format.MISTRAL);
        assertThat(tools("{{ tools }}<|start_header_id|>", "auto").format).isEqualTo(ToolCalls.Format.LLAMA3);
        assertThat(tools("{{ messages }}", "auto").format).isEqualTo(ToolCalls.Format.GENERIC);
    }

    @Test
    void outputsParseBackIntoCalls() throws Exception {
        ToolCalls.Parsed h = tools("{{ tools }}<tool_call>", "auto").parseOutput(
                "Let me add.\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 3, \"b\": 4}}\n</tool_call>");
        assertThat(h.content()).isEqualTo("Let me add.");
        assertThat(h.calls()).hasSize(2);
        assertThat(h.calls().get(1).get("function").get("arguments").asText()).isEqualTo("{\"a\":3,\"b\":4}");
        ToolCalls.Parsed m = tools("{{ tools }}[TOOL_CALLS]", "auto").parseOutput("[TOOL_CALLS] [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}]");
        assertThat(m.calls()).hasSize(1);
        assertThat(m.content()).isNull();
        ToolCalls.Parsed l = tools("{{ tools }}<|start_header_id|>", "auto").parseOutput("<|python_tag|>{\"name\": \"add\", \"parameters\": {\"a\": 5, \"b\": 6}}");
        assertThat(l.calls().get(0).get("function").get("arguments").asText()).isEqualTo("{\"a\":5,\"b\":6}");
        ToolCalls.Parsed g = tools("{{ messages }}", "auto").parseOutput("{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 1}}]}");
        assertThat(g.calls()).hasSize(1);
        // an unknown function or plain text stays content
        ToolCalls.Parsed u = tools("{{ messages }}", "auto").parseOutput("{\"tool_calls\": [{\"name\": \"sub\", \"arguments\": {}}]}");
        assertThat(u.calls()).isEmpty();
        assertThat(u.content()).startsWith("{\"tool_calls\"");
        assertThat(tools("{{ tools }}<tool_call>", "auto").parseOutput("Just text.").content()).isEqualTo("Just text.");
    }

    @Test
    void forcingGrammarsAcceptExactlyWellFormedCalls() throws Exception {
        Grammar hermes = Grammar.parse(tools("{{ tools }}<tool_call>", "required").gbnf());
        assertThat(hermes.matches("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>")).isTrue();
        assertThat(hermes.matches("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>")).isFalse();
        Grammar mistral = Grammar.parse(tools("{{ tools }}[TOOL_CALLS]", "add").gbnf());
        assertThat(mistral.matches("[{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}, {\"name\": \"add\", \"arguments\": {\"a\": 0, \"b\": 0}}]")).isTrue();
        Grammar llama = Grammar.parse(tools("{{ tools }}<|start_header_id|>", "required").gbnf());
        assertThat(llama.matches("{\"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": 2}}")).isTrue();
        assertThat(llama.matches("{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}")).isFalse();
        Grammar generic = Grammar.parse(tools("{{ messages }}", "required").gbnf());
        assertThat(generic.matches("{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": -1, \"b\": 2}}]}")).isTrue();
        assertThat(generic.matches("{\"tool_calls\": [{\"name\": \"mul\", \"arguments\": {\"a\": -1, \"b\": 2}}]}")).isFalse();
    }
}
