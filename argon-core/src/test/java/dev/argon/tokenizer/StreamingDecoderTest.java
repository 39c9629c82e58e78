package dev.argon.tokenizer;

import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamingDecoderTest {
    private GgufFile file;
    private Tokenizer tok;

    @BeforeAll
    void open() {
        file = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-llama-spm.gguf"));
        tok = Tokenizers.fromGguf(file);
    }

    @AfterAll
    void close() {
        if (file != null) {
            file.close();
        }
    }

    private int byteToken(int b) {
        return ((SentencePieceTokenizer) tok).vocabulary().id(String.format("<0x%02X>", b));
    }

    @Test
    void neverReturnsPartialCharacters() {
        String text = "café 😀 日本 🤖👍🏽 naïve";
        int[] ids = tok.encode(text, true, false);
        StreamingDecoder d = new StreamingDecoder(tok);
        StringBuilder all = new StringBuilder();
        int heldBack = 0;
        for (int id : ids) {
            String s = d.append(id);
            assertThat(s).doesNotContain("\uFFFD");
            assertWellFormed(s);
            if (s.isEmpty() && tok.tokenBytes(id).length > 0) {
                heldBack++;
            }
            all.append(s);
        }
        all.append(d.flush());
        assertThat(heldBack).as("emoji are byte-encoded, so some tokens complete no character").isPositive();
        assertThat(all.toString()).isEqualTo(tok.decode(ids)).isEqualTo(" " + text);
    }

    @Test
    void flushReturnsIncompleteBytesAsReplacement() {
        StreamingDecoder d = new StreamingDecoder(tok);
        assertThat(d.append(byteToken(0xF0))).isEmpty();
        assertThat(d.append(byteToken(0x9F))).isEmpty();
        assertThat(d.flush()).isEqualTo("\uFFFD");
        assertThat(d.flush()).isEmpty();
        // malformed bytes (E0 80 can never become a character) come out when the next character starts
        assertThat(d.append(byteToken(0xE0))).isEmpty();
        assertThat(d.append(byteToken(0x80))).isEmpty();
        assertThat(d.append(byteToken(0x41))).isEqualTo("\uFFFD\uFFFDA");
        assertThat(d.flush()).isEmpty();
        // a complete character is given out at once
        assertThat(d.append(byteToken(0xC3))).isEmpty();
        assertThat(d.append(byteToken(0xA9))).isEqualTo("é");
    }

    @Test
    void concatenationEqualsDecodeForRandomByteSoup() {
        Random rnd = new Random(42);
        int[] pool = {byteToken(0xC3), byteToken(0xA9), byteToken(0xE6), byteToken(0x97), byteToken(0xA5),
                byteToken(0xF0), byteToken(0x9F), byteToken(0x98), byteToken(0x80), byteToken(0xBF), byteToken(0xED),
                byteToken(0xA0), byteToken(0xF4), byteToken(0x90), byteToken(0xC0), byteToken(0xFF), byteToken(0x41),
                byteToken(0xE0), byteToken(0xF5), 1, 2, tok.encode("hé", false, false)[0]};
        for (int iter = 0; iter < 20000; iter++) {
            int[] ids = new int[1 + rnd.nextInt(12)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = pool[rnd.nextInt(pool.length)];
            }
            StreamingDecoder d = new StreamingDecoder(tok);
            StringBuilder all = new StringBuilder();
            List<String> parts = new ArrayList<>();
            for (int id : ids) {
                String s = d.append(id);
                parts.add(s);
                all.append(s);
            }
            all.append(d.flush());
            assertThat(all.toString()).as("%s", parts).isEqualTo(tok.decode(ids));
        }
    }

    private static void assertWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertThat(i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))).isTrue();
                i++;
            } else {
                assertThat(Character.isLowSurrogate(c)).isFalse();
            }
        }
    }
}
