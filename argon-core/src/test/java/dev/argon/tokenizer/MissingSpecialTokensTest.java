package dev.argon.tokenizer;

import dev.argon.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A byte-level BPE vocabulary that names no BOS (or EOS) token has none: no stand-in id (llama.cpp
 * takes 11, a comma in Qwen2's vocabulary), and {@code add_bos_token = true} then adds nothing.
 */
class MissingSpecialTokensTest {
    @TempDir
    Path dir;

    @Test
    void qwen2WithoutBosIdHasNoBosAndAddsNone() {
        Path p = Qwen2VocabGguf.write(dir.resolve("qwen2-no-bos.gguf"),
                Map.of("tokenizer.ggml.eos_token_id", 151645L, "tokenizer.ggml.add_bos_token", true));
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(tok.piece(11)).isEqualTo(","); // what llama.cpp's default BOS would be
            assertThat(tok.bos()).isEqualTo(-1);
            assertThat(tok.eos()).isEqualTo(151645);
            assertThat(tok.encode("Hello", true, false)).containsExactly(9707);
            assertThat(tok.encode("<|im_start|>user", true, true)).containsExactly(151644, 872);
        }
    }

    @Test
    void qwen2WithoutAnySpecialIdsStillEndsGenerationOnItsMarkers() {
        Path p = Qwen2VocabGguf.write(dir.resolve("qwen2-bare.gguf"), Map.of());
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(tok.bos()).isEqualTo(-1);
            assertThat(tok.eos()).isEqualTo(-1);
            assertThat(tok.isEndOfGeneration(11)).isFalse();
            assertThat(tok.isEndOfGeneration(151643)).isTrue(); // <|endoftext|>, by its text
            assertThat(tok.isEndOfGeneration(151645)).isTrue(); // <|im_end|>
            assertThat(tok.encode("Hello", true, false)).containsExactly(9707);
        }
    }

    @Test
    void qwen2WithItsIdsKeepsThem() {
        Path p = Qwen2VocabGguf.write(dir.resolve("qwen2.gguf"), Map.of("tokenizer.ggml.bos_token_id", 151643L,
                "tokenizer.ggml.eos_token_id", 151645L, "tokenizer.ggml.add_bos_token", true));
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(tok.bos()).isEqualTo(151643);
            assertThat(tok.encode("Hello", true, false)).containsExactly(151643, 9707);
        }
    }
}
