package dev.argon.chat;

import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Qwen2VocabGguf;
import dev.argon.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bos_token} / {@code eos_token} of a vocabulary that has no such token render as nothing,
 * never as a stand-in token (a Qwen2 vocabulary without a BOS id used to render {@code bos_token}
 * as {@code ,}, id 11, llama.cpp's default).
 */
class MissingSpecialTokensTemplateTest {
    @TempDir
    Path dir;

    private static final List<ChatMessage> HI = List.of(ChatMessage.user("hi"));

    @Test
    void templateFromTheFileRendersAMissingBosAsNothing() {
        Path p = Qwen2VocabGguf.write(dir.resolve("qwen2-template.gguf"), Map.of(
                "tokenizer.ggml.eos_token_id", 151645L, "tokenizer.ggml.add_bos_token", true,
                ChatTemplate.METADATA_KEY, "[{{ bos_token }}]{% for m in messages %}{{ m['content'] }}{% endfor %}[{{ eos_token }}]"));
        try (GgufFile f = GgufFile.open(p)) {
            ChatTemplate t = ChatTemplate.fromGguf(f, Tokenizers.fromGguf(f));
            assertThat(t.isFallback()).isFalse();
            assertThat(t.bosToken()).isEmpty();
            assertThat(t.eosToken()).isEqualTo("<|im_end|>");
            assertThat(t.render(HI, false)).isEqualTo("[]hi[<|im_end|>]");
        }
    }

    @Test
    void fallbackOfAVocabularyWithoutBosOrEos() {
        Path p = Qwen2VocabGguf.write(dir.resolve("qwen2-bare.gguf"), Map.of());
        try (GgufFile f = GgufFile.open(p)) {
            var tokenizer = Tokenizers.fromGguf(f);
            for (ChatTemplate t : List.of(ChatTemplate.fromGguf(f, tokenizer), ChatTemplate.fallback(tokenizer))) {
                assertThat(t.source()).isEqualTo(ChatTemplate.CHATML);
                assertThat(t.bosToken()).isEmpty();
                assertThat(t.eosToken()).isEmpty();
                assertThat(t.render(HI, true)).isEqualTo("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
            }
        }
    }
}
