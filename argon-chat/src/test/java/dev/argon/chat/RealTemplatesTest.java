package dev.argon.chat;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static dev.argon.chat.ChatTemplateTest.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Templates from public Hugging Face {@code tokenizer_config.json} files (copied byte for byte into
 * {@code src/test/resources/dev/argon/chat/templates}), rendered for two-turn conversations. The
 * expected prompts are written out by hand from each template.
 */
class RealTemplatesTest {
    private static final List<ChatMessage> TWO_TURNS = List.of(
            ChatMessage.system("Be nice."), ChatMessage.user("Hello"), ChatMessage.assistant("Hi!"), ChatMessage.user("Bye"));
    private static final List<ChatMessage> TWO_TURNS_NO_SYSTEM = TWO_TURNS.subList(1, 4);

    static String template(String name) {
        try (InputStream in = RealTemplatesTest.class.getResourceAsStream("templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void qwen25ChatMl() {
        ChatTemplate t = ChatTemplate.of(template("qwen2.5.jinja"), "", "<|im_end|>");
        assertThat(t.render(TWO_TURNS_NO_SYSTEM, true)).isEqualTo(
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n"
                        + "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(TWO_TURNS, false)).isEqualTo(
                "<|im_start|>system\nBe nice.<|im_end|>\n"
                        + "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n"
                        + "<|im_start|>user\nBye<|im_end|>\n");
        assertThat(t.stopStrings()).containsExactly("<|im_end|>");
    }

    @Test
    void qwen25ToolsBlockAndToolCalls() {
        ChatTemplate t = ChatTemplate.of(template("qwen2.5.jinja"), "", "<|im_end|>");
        List<Map<String, Object>> tools = List.of(map("type", "function", "function", map(
                "name", "get_weather", "description", "Get the current weather in a city",
                "parameters", map("type", "object", "properties", map("city", map("type", "string", "description", "City name")),
                        "required", List.of("city")))));
        List<Map<String, Object>> messages = List.of(
                map("role", "system", "content", "You are a weather bot."),
                map("role", "user", "content", "What's the weather in Paris?"),
                map("role", "assistant", "content", "", "tool_calls", List.of(map("type", "function",
                        "function", map("name", "get_weather", "arguments", map("city", "Paris"))))),
                map("role", "tool", "content", "{\"temperature\": 21, \"sky\": \"sunny\"}"),
                map("role", "assistant", "content", "It is 21 \u00b0C and sunny in Paris."),
                map("role", "user", "content", "And tomorrow?"));
        String expected = "<|im_start|>system\nYou are a weather bot.\n\n# Tools\n\n"
                + "You may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the current weather in a city\", "
                + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name\"}}, "
                + "\"required\": [\"city\"]}}}\n</tools>\n\n"
                + "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
                + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n{\"temperature\": 21, \"sky\": \"sunny\"}\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\nIt is 21 \u00b0C and sunny in Paris.<|im_end|>\n"
                + "<|im_start|>user\nAnd tomorrow?<|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertThat(t.render(messages, tools, true, Map.of())).isEqualTo(expected);
    }

    @Test
    void llama3() {
        ChatTemplate t = ChatTemplate.of(template("llama3.jinja"), "<|begin_of_text|>", "<|end_of_text|>");
        List<ChatMessage> messages = List.of(ChatMessage.system("Be nice."), ChatMessage.user(" Hello \n"),
                ChatMessage.assistant("Hi!"), ChatMessage.user("Bye"));
        assertThat(t.render(messages, true)).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe nice.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(t.stopStrings()).containsExactly("<|eot_id|>");
    }

    @Test
    void llama31ToolsInTheFirstUserMessage() {
        // Meta's Llama 3.1 template with {% generation %} marks added for training masks (a public training script's copy)
        ChatTemplate t = ChatTemplate.of(template("llama3.1-trainable.jinja"), "<|begin_of_text|>", "<|eot_id|>");
        List<Map<String, Object>> tools = List.of(map("type", "function", "function", map("name", "get_weather",
                "description", "Weather", "parameters", map("type", "object", "properties", map("city", map("type", "string"))))));
        List<Map<String, Object>> messages = List.of(
                map("role", "system", "content", " SYS "),
                map("role", "user", "content", "Q1 "),
                map("role", "assistant", "tool_calls", List.of(map("type", "function",
                        "function", map("name", "get_weather", "arguments", map("city", "Paris"))))),
                map("role", "tool", "content", "sunny"),
                map("role", "tool", "content", map("t", 21)),
                map("role", "assistant", "content", " A1 "),
                map("role", "user", "content", "Q2"));
        String header = "<|start_header_id|>%s<|end_header_id|>\n\n";
        String expected = "<|begin_of_text|>" + header.formatted("system") + "Environment: ipython\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nSYS<|eot_id|>"
                + header.formatted("user") + "Given the following functions, please respond with a JSON for a function call "
                + "with its proper arguments that best answers the given prompt.\n\n"
                + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}."
                + "Do not use variables.\n\n"
                + "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n"
                + "        \"description\": \"Weather\",\n        \"parameters\": {\n            \"type\": \"object\",\n"
                + "            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\"\n"
                + "                }\n            }\n        }\n    }\n}\n\nQ1<|eot_id|>"
                + header.formatted("assistant") + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>"
                // a string is iterable in Jinja2, so the template writes it with tojson
                + header.formatted("ipython") + "\"sunny\"<|eot_id|>"
                + header.formatted("ipython") + "{\"t\": 21}<|eot_id|>"
                + header.formatted("assistant") + "A1<|eot_id|>"
                + header.formatted("user") + "Q2<|eot_id|>"
                + header.formatted("assistant");
        assertThat(t.render(messages, tools, true, Map.of())).isEqualTo(expected);
    }

    @Test
    void llama2Inst() {
        ChatTemplate t = ChatTemplate.of(template("llama2.jinja"), "<s>", "</s>");
        assertThat(t.render(TWO_TURNS, true))
                .isEqualTo("<s>[INST] <<SYS>>\nBe nice.\n<</SYS>>\n\nHello [/INST] Hi! </s><s>[INST] Bye [/INST]");
        assertThat(t.render(TWO_TURNS_NO_SYSTEM, true)).isEqualTo("<s>[INST] Hello [/INST] Hi! </s><s>[INST] Bye [/INST]");
        assertThatThrownBy(() -> t.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true))
                .isInstanceOf(ArgonException.class)
                .hasMessage("chat template line 1: raise_exception: Conversation roles must alternate user/assistant/user/assistant/...");
        // the built-in fallback is this very template
        assertThat(ChatTemplate.LLAMA2).isEqualTo(template("llama2.jinja"));
    }

    @Test
    void phi3() {
        ChatTemplate t = ChatTemplate.of(template("phi3.jinja"), "<s>", "<|endoftext|>");
        assertThat(t.render(TWO_TURNS, true)).isEqualTo("<|system|>\nBe nice.<|end|>\n<|user|>\nHello<|end|>\n"
                + "<|assistant|>\nHi!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n");
        assertThat(t.render(TWO_TURNS_NO_SYSTEM, false)).isEqualTo("<|user|>\nHello<|end|>\n<|assistant|>\nHi!<|end|>\n"
                + "<|user|>\nBye<|end|>\n<|endoftext|>");
        assertThat(t.stopStrings()).containsExactly("<|end|>", "<|endoftext|>");
    }

    @Test
    void gemma() {
        ChatTemplate t = ChatTemplate.of(template("gemma.jinja"), "<bos>", "<eos>");
        assertThat(t.render(List.of(ChatMessage.user("Hello"), ChatMessage.assistant(" Hi! "), ChatMessage.user("Bye")), true))
                .isEqualTo("<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi!<end_of_turn>\n"
                        + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
        assertThatThrownBy(() -> t.render(TWO_TURNS, true))
                .isInstanceOf(ArgonException.class)
                .hasMessage("chat template line 1: raise_exception: System role not supported");
        assertThat(t.stopStrings()).containsExactly("<end_of_turn>");
    }

    @Test
    void templateFromAGgufFile() {
        // ggml-vocab-phi-3.gguf carries an early Phi-3 template whose string literals hold raw newlines
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-phi-3.gguf"))) {
            ChatTemplate t = ChatTemplate.fromGguf(f, Tokenizers.fromGguf(f));
            assertThat(t.isFallback()).isFalse();
            assertThat(t.bosToken()).isEqualTo("<s>");
            assertThat(t.render(TWO_TURNS_NO_SYSTEM, true)).isEqualTo(
                    "<s><|user|>\nHello<|end|>\n<|assistant|>\nHi!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n");
        }
    }

    @Test
    void fallbackWithoutTemplateIsLlama2ForSentencePieceVocabularies() {
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            ChatTemplate t = ChatTemplate.fromGguf(f, Tokenizers.fromGguf(f));
            assertThat(t.isFallback()).isTrue();
            assertThat(t.source()).isEqualTo(ChatTemplate.LLAMA2);
            assertThat(t.render(List.of(ChatMessage.system("S"), ChatMessage.user("hi")), true))
                    .isEqualTo("<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nhi [/INST]");
            assertThat(t.stopStrings()).containsExactly("</s>", "[INST]");
        }
    }

    @Test
    void fallbackIsChatMlWhenTheVocabularyHasImStart() {
        Tokenizer vocab = new FakeVocabulary(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "a"));
        ChatTemplate t = ChatTemplate.fallback(vocab);
        assertThat(t.source()).isEqualTo(ChatTemplate.CHATML);
        assertThat(t.render(TWO_TURNS, true)).isEqualTo("<|im_start|>system\nBe nice.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.stopStrings()).containsExactly("<|im_end|>", "<|im_start|>");
        assertThat(ChatTemplate.fallback(new FakeVocabulary(List.of("<s>", "</s>"))).source()).isEqualTo(ChatTemplate.LLAMA2);
    }

    /** A vocabulary of fixed pieces; BOS is id 0 and EOS id 1 when there are two or more. */
    private record FakeVocabulary(List<String> pieces) implements Tokenizer {
        @Override
        public int[] encode(dev.argon.tokenizer.PromptText prompt, boolean addSpecial) {
            return new int[0];
        }

        @Override
        public byte[] tokenBytes(int id) {
            return pieces.get(id).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String piece(int id) {
            return pieces.get(id);
        }

        @Override
        public String decode(int[] ids) {
            return "";
        }

        @Override
        public int vocabSize() {
            return pieces.size();
        }

        @Override
        public int bos() {
            return 0;
        }

        @Override
        public int eos() {
            return 1;
        }

        @Override
        public boolean isEndOfGeneration(int id) {
            return id == 1;
        }

        @Override
        public boolean isControl(int id) {
            return id < 2;
        }
    }
}
