package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.chat.ChatTemplate;
import dev.argon.grammar.Grammar;
import dev.argon.TestFiles;
import dev.argon.generate.TokenConstraint;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

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
        ToolCalls.Parsed l2 = tools("{{ tools }}<|start_header_id|>", "auto").parseOutput("I will add. {\"name\": \"add\", \"parameters\": {\"a\": 5, \"b\": 6}}");
        assertThat(l2.calls()).hasSize(1);
        assertThat(l2.content()).isEqualTo("I will add.");
        ToolCalls.Parsed g = tools("{{ messages }}", "auto").parseOutput("{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 1}}]}");
        assertThat(g.calls()).hasSize(1);
        ToolCalls.Parsed g2 = tools("{{ messages }}", "auto").parseOutput("Sure. {\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 1}}]}");
        assertThat(g2.calls()).hasSize(1);
        assertThat(g2.content()).isEqualTo("Sure.");
        // an unknown function or plain text stays content
        ToolCalls.Parsed u = tools("{{ messages }}", "auto").parseOutput("{\"tool_calls\": [{\"name\": \"sub\", \"arguments\": {}}]}");
        assertThat(u.calls()).isEmpty();
        assertThat(u.content()).startsWith("{\"tool_calls\"");
        assertThat(tools("{{ tools }}<tool_call>", "auto").parseOutput("Just text.").content()).isEqualTo("Just text.");
    }

    /**
     * tool_choice auto: the text before the template's trigger is free (no logit masked), from
     * {@code <tool_call>} on only a well-formed call of a known function with schema-valid
     * arguments is allowed, and after it only the end of generation.
     */
    @Test
    void autoAppliesTheCallGrammarFromTheTrigger() throws Exception {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-gpt-2.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            ToolCalls hermes = tools("{{ tools }}<tool_call>", "auto");
            String text = "Let me add.\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>";
            TokenConstraint c = hermes.lazyConstraint().create(tok);
            float[] logits = new float[tok.vocabSize()];
            StringBuilder before = new StringBuilder();
            int maskedSteps = 0;
            for (int id : tok.encode(text, false, false)) {
                Arrays.fill(logits, 0f);
                assertThat(c.mask(logits)).isTrue();
                assertThat(logits[id]).as("token %d (%s) of the call", id, tok.piece(id)).isZero();
                boolean masked = false;
                for (float x : logits) {
                    masked |= x == Float.NEGATIVE_INFINITY;
                }
                assertThat(masked).as("masked before %s after '%s'", tok.piece(id), before).isEqualTo(before.toString().contains("<tool_call>"));
                maskedSteps += masked ? 1 : 0;
                c.accept(id);
                before.append(tok.decode(new int[]{id}));
            }
            assertThat(maskedSteps).isGreaterThan(10);
            Arrays.fill(logits, 0f);
            c.mask(logits);
            // after the call: the end, or (parallel_tool_calls defaults to true) another call; no free text
            assertThat(logits[tok.eos()]).isZero();
            assertThat(logits[tok.encode("<", false, false)[0]]).isZero();
            assertThat(logits[tok.encode("Hello", false, false)[0]]).isEqualTo(Float.NEGATIVE_INFINITY);
            assertThat(hermes.parseOutput(text).calls()).hasSize(1);
            // inside a call: only known names, and integers where the schema says integer
            TokenConstraint d = hermes.lazyConstraint().create(tok);
            for (int id : tok.encode("Sure <tool_call> {\"name\": \"", false, false)) {
                d.mask(new float[tok.vocabSize()]);
                d.accept(id);
            }
            Arrays.fill(logits, 0f);
            d.mask(logits);
            assertThat(logits[tok.encode("add", false, false)[0]]).isZero();
            assertThat(logits[tok.encode("sub", false, false)[0]]).isEqualTo(Float.NEGATIVE_INFINITY);
        }
    }

    @Test
    void lazyGrammarsAcceptEachFormatsCallsWithJsonWhitespace() throws Exception {
        Grammar llama = Grammar.parse(tools("{{ tools }}<|start_header_id|>", "auto").gbnf(true));
        assertThat(llama.matches("{\"name\":\"add\",\"parameters\":{\"a\":1,\"b\":2}}")).isTrue();
        assertThat(llama.matches("{ \"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": 2} }")).isTrue();
        assertThat(llama.matches("{\"name\": \"sub\", \"parameters\": {\"a\": 1, \"b\": 2}}")).isFalse();
        Grammar mistral = Grammar.parse(tools("{{ tools }}[TOOL_CALLS]", "auto").gbnf(true));
        assertThat(mistral.matches("[TOOL_CALLS] [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}]")).isTrue();
        assertThat(mistral.matches("[{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}]")).as("after a control token").isTrue();
        Grammar generic = Grammar.parse(tools("{{ messages }}", "auto").gbnf(true));
        assertThat(generic.matches("{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}]}")).isTrue();
        assertThat(tools("{{ tools }}<tool_call>", "required").lazyConstraint()).as("only for auto").isNull();
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
