package dev.argon.tokenizer;

import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * llama.cpp's tokenizer test vectors ({@code models/ggml-vocab-*.gguf.inp/.out}, checked by its
 * {@code test-tokenizer-0}): 46 strings, encoded without BOS and without special parsing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaCppVocabTest {
    static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private final Map<String, GgufFile> open = new HashMap<>();

    @AfterAll
    void close() {
        open.values().forEach(GgufFile::close);
    }

    Tokenizer tokenizer(String name) {
        GgufFile f = open.computeIfAbsent(name, n -> GgufFile.open(TestFiles.model("llama-cpp-vocab/" + n)));
        return Tokenizers.fromGguf(f);
    }

    /** The .inp file: strings separated by the marker, with a marker after the last one too. */
    static List<String> inputs(Path inp) throws IOException {
        String all = Files.readString(inp, StandardCharsets.UTF_8);
        assertThat(all).endsWith(SEPARATOR);
        return List.of(all.substring(0, all.length() - SEPARATOR.length()).split(SEPARATOR, -1));
    }

    static List<int[]> outputs(Path out) throws IOException {
        List<int[]> res = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String t = line.strip();
            res.add(t.isEmpty() ? new int[0] : Arrays.stream(t.split(" +")).mapToInt(Integer::parseInt).toArray());
        }
        return res;
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf"})
    void matchesLlamaCppTestVectors(String name) throws IOException {
        Tokenizer tok = tokenizer(name);
        List<String> in = inputs(TestFiles.model("llama-cpp-vocab/" + name + ".inp"));
        List<int[]> out = outputs(TestFiles.model("llama-cpp-vocab/" + name + ".out"));
        assertThat(in).hasSize(46);
        assertThat(out).hasSize(46);
        for (int i = 0; i < in.size(); i++) {
            String s = in.get(i);
            assertThat(tok.encode(s, false, false)).as("%s #%d %s", name, i, quote(s)).containsExactly(out.get(i));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf"})
    void decodeRestoresTextWithTheAddedSpacePrefix(String name) throws IOException {
        Tokenizer tok = tokenizer(name);
        for (String s : inputs(TestFiles.model("llama-cpp-vocab/" + name + ".inp"))) {
            String expected = s.isEmpty() ? "" : " " + s; // every character is in the vocabulary or byte-encoded
            assertThat(tok.decode(tok.encode(s, false, false))).as(quote(s)).isEqualTo(expected);
            assertThat(tok.decode(tok.encode(s, true, false))).as(quote(s)).isEqualTo(expected); // BOS renders empty
        }
    }

    @Test
    void llamaSpmSpecialsAndFlags() {
        Tokenizer tok = tokenizer("ggml-vocab-llama-spm.gguf");
        assertThat(tok.vocabSize()).isEqualTo(32000);
        assertThat(tok.bos()).isEqualTo(1);
        assertThat(tok.eos()).isEqualTo(2);
        assertThat(tok.piece(1)).isEqualTo("<s>");
        assertThat(tok.isControl(1)).isTrue();
        assertThat(tok.isControl(2)).isTrue();
        assertThat(tok.isEndOfGeneration(2)).isTrue();
        assertThat(tok.isEndOfGeneration(1)).isFalse();
        assertThat(tok.tokenBytes(1)).isEmpty();
        assertThat(tok.tokenBytes(0)).isEqualTo("<unk>".getBytes(StandardCharsets.UTF_8));
        assertThat(tok.tokenBytes(13)).containsExactly((byte) '\n'); // <0x0A>
        assertThat(tok.tokenBytes(tok.encode("Hello", false, false)[0])).isEqualTo(" Hello".getBytes(StandardCharsets.UTF_8));
        assertThat(tok.encode("", true, false)).containsExactly(1);
        assertThat(tok.encode("", false, false)).isEmpty();
        assertThat(tok.encode("", true, true)).containsExactly(1);
    }

    @Test
    void decodeTextDropsTheSpacePrefixAsHuggingFaceDoes() {
        Tokenizer tok = tokenizer("ggml-vocab-llama-spm.gguf"); // Llama-2's vocabulary
        assertThat(tok.piece(15043)).isEqualTo("▁Hello");
        assertThat(tok.decode(new int[]{15043})).isEqualTo(" Hello");
        assertThat(tok.decodeText(new int[]{15043})).isEqualTo("Hello");
        assertThat(tok.decodeText(new int[]{1, 15043, 3186})).isEqualTo("Hello world"); // BOS renders as nothing
        assertThat(tok.decodeText(tok.encode("  two spaces", false, false))).isEqualTo("  two spaces");
        assertThat(tok.decodeText(new int[0])).isEmpty();
        // a vocabulary without a space prefix keeps every space
        Tokenizer gpt2 = tokenizer("ggml-vocab-gpt-2.gguf");
        assertThat(gpt2.decodeText(gpt2.encode(" Hello", false, false))).isEqualTo(" Hello");
    }

    @Test
    void phi3EndTokensEndGeneration() {
        Tokenizer tok = tokenizer("ggml-vocab-phi-3.gguf");
        SentencePieceTokenizer spm = (SentencePieceTokenizer) tok;
        int end = spm.vocabulary().id("<|end|>");
        assertThat(end).isPositive();
        assertThat(tok.isEndOfGeneration(end)).isTrue();
        assertThat(tok.isControl(end)).isTrue();
        assertThat(tok.isEndOfGeneration(tok.eos())).isTrue();
        assertThat(tok.piece(tok.eos())).isEqualTo("<|endoftext|>");
    }

    @Test
    void phi3SpecialTokensSwallowFollowingWhitespace() {
        // llama.cpp marks Phi-3's special tokens RSTRIP by model name; "</s>" is user-defined there
        Tokenizer tok = tokenizer("ggml-vocab-phi-3.gguf");
        int[] chat = tok.encode("<|user|>\nHello<|end|>\n<|assistant|>", true, true);
        assertThat(Arrays.stream(chat).mapToObj(tok::piece))
                .containsExactly("<s>", "<|user|>", "▁Hello", "<|end|>", "<|assistant|>");
        assertThat(tok.encode("<|user|>", false, false)).doesNotContain(32010);
        int[] userDefined = tok.encode("a</s> b", false, false);
        assertThat(Arrays.stream(userDefined).mapToObj(tok::piece)).containsExactly("▁a", "</s>", "▁b");
        assertThat(tok.decode(userDefined)).isEqualTo(" a</s> b");
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            if (c < 0x20) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append('"').toString();
    }
}
