package dev.argon.chat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Tokenizers;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes chat template rendering with arbitrary roles and message contents on real templates:
 * ChatML and Llama 2 (the fallbacks), Phi-3's from its GGUF file (the only fixture GGUF with a
 * {@code tokenizer.chat_template}) and the Hugging Face templates in the test resources
 * (Llama 3, Qwen 2.5, Gemma). Only an {@link ArgonException} may come out of rendering.
 *
 * <p>{@link #chatMlContentIsLiteral} is a separate security property: message content is data,
 * never template code, so with ChatML every content must appear literally in the output.
 *
 * <p>Input format (readable, so regression inputs can be written by hand): byte 0 picks the
 * template ({@code % 6}) and {@code add_generation_prompt} (bit 7); the rest is UTF-8 text of up to
 * eight messages separated by U+001E, each {@code ROLE U+001F CONTENT}, or just {@code CONTENT}
 * with the role taken from {@code system, user, assistant, tool, developer} by position.
 * Regression inputs are in {@code ChatTemplateFuzzTestInputs/<method>} in the test resources;
 * {@code tools/fuzz.sh chat|chatml-literal SECONDS} fuzzes.
 */
class ChatTemplateFuzzTest {
    private static final List<String> ROLES = List.of("system", "user", "assistant", "tool", "developer");
    private static final List<ChatTemplate> TEMPLATES = load();
    private static final ChatTemplate CHATML = ChatTemplate.of(ChatTemplate.CHATML, "", "<|im_end|>");

    private static List<ChatTemplate> load() {
        List<ChatTemplate> t = new ArrayList<>();
        t.add(ChatTemplate.of(ChatTemplate.CHATML, "", "<|im_end|>"));
        t.add(ChatTemplate.of(ChatTemplate.LLAMA2, "<s>", "</s>"));
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-phi-3.gguf"))) {
            t.add(ChatTemplate.fromGguf(f, Tokenizers.fromGguf(f)));
        }
        t.add(ChatTemplate.of(RealTemplatesTest.template("llama3.jinja"), "<|begin_of_text|>", "<|eot_id|>"));
        t.add(ChatTemplate.of(RealTemplatesTest.template("qwen2.5.jinja"), "", "<|im_end|>"));
        t.add(ChatTemplate.of(RealTemplatesTest.template("gemma.jinja"), "<bos>", "<eos>"));
        return List.copyOf(t);
    }

    private static List<Map<String, Object>> messages(byte[] data) {
        String text = data.length < 2 ? "" : new String(data, 1, data.length - 1, StandardCharsets.UTF_8);
        List<Map<String, Object>> out = new ArrayList<>();
        for (String part : text.split("\u001e", 8)) {
            int sep = part.indexOf('\u001f');
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("role", sep >= 0 ? part.substring(0, sep) : ROLES.get(out.size() % ROLES.size()));
            m.put("content", sep >= 0 ? part.substring(sep + 1) : part);
            out.add(m);
        }
        return out;
    }

    @FuzzTest(maxDuration = "10m")
    void render(byte[] data) {
        int head = data.length == 0 ? 0 : data[0] & 0xFF;
        ChatTemplate t = TEMPLATES.get((head & 0x7F) % TEMPLATES.size());
        boolean addGenerationPrompt = (head & 0x80) != 0;
        List<Map<String, Object>> messages = messages(data);
        try {
            String out = t.render(messages, null, addGenerationPrompt, Map.of());
            if (out == null) {
                throw new AssertionError("render returned null");
            }
        } catch (ArgonException expected) {
            // raise_exception or a template error: a clear user error
        }
    }

    /**
     * SECURITY PROPERTY (content is data, not template code): every message's content appears
     * literally in the ChatML rendering. Fails while content such as {@code {{ 7*7 }}} is
     * evaluated (rendered as {@code 49}); the fix is in ChatTemplate, landing separately.
     */
    @FuzzTest(maxDuration = "10m")
    void chatMlContentIsLiteral(byte[] data) {
        boolean addGenerationPrompt = data.length > 0 && (data[0] & 0x80) != 0;
        List<Map<String, Object>> messages = messages(data);
        String out;
        try {
            out = CHATML.render(messages, null, addGenerationPrompt, Map.of());
        } catch (ArgonException e) {
            throw new AssertionError("ChatML never raises, but rendering failed: " + e.getMessage(), e);
        }
        for (Map<String, Object> m : messages) {
            String expected = "<|im_start|>" + m.get("role") + "\n" + m.get("content") + "<|im_end|>\n";
            if (!out.contains(expected)) {
                throw new AssertionError("message content was not rendered literally (evaluated as template code?):\n  expected "
                        + expected + "\n  in       " + out);
            }
        }
    }
}
