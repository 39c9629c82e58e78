package dev.argon.tokenizer;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufValueType;
import dev.argon.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Byte-level BPE on hand-made vocabularies: byte mapping, merge order, pre-tokenizer rules, errors, speed. */
class BpeUnitTest {

    /** A vocabulary of the 256 byte characters plus the merge results, in merge order. */
    private static BpeTokenizer tokenizer(String pre, String... merges) {
        Map<String, Integer> vocab = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteLevel.charOf(b)), b);
        }
        for (String m : merges) {
            vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        }
        return BpeFiles.builder(vocab, List.of(merges)).preTokenizer(pre).build();
    }

    private static List<String> pieces(Tokenizer t, String text) {
        return Arrays.stream(t.encode(text, false, false)).mapToObj(t::piece).toList();
    }

    @Test
    void byteMappingIsGpt2s() {
        assertThat(ByteLevel.charOf(' ')).isEqualTo('Ġ');
        assertThat(ByteLevel.charOf('\n')).isEqualTo('Ċ');
        assertThat(ByteLevel.charOf('A')).isEqualTo('A');
        assertThat(ByteLevel.charOf(0xAD)).isEqualTo('\u0143'); // soft hyphen is not printable
        assertThat(ByteLevel.encode("é ")).isEqualTo("Ã©Ġ");
        assertThat(new String(ByteLevel.decode("Ã©Ġ"), StandardCharsets.UTF_8)).isEqualTo("é ");
        for (int b = 0; b < 256; b++) {
            assertThat(ByteLevel.byteOf(ByteLevel.charOf(b))).isEqualTo(b);
        }
    }

    @Test
    void lowestRankMergesFirstAndTiesGoLeftmost() {
        assertThat(pieces(tokenizer("gpt-2", "a a"), "aaa")).containsExactly("aa", "a"); // (0,1) before (1,2)
        BpeTokenizer t = tokenizer("gpt-2", "a a", "aa a");
        assertThat(pieces(t, "aaa")).containsExactly("aaa");
        assertThat(pieces(t, "aaaa")).containsExactly("aa", "aa"); // both rank-0 pairs merge before "aa a"
        BpeTokenizer u = tokenizer("gpt-2", "b c", "a b", "ab c");
        assertThat(pieces(u, "abc")).containsExactly("a", "bc"); // "b c" outranks "a b"; "ab c" never forms
    }

    @Test
    void mergesNeedNotBeContiguousInTheList() {
        BpeTokenizer t = tokenizer("gpt-2", "Ġ t", "h e", "Ġt he");
        assertThat(pieces(t, " the")).containsExactly("Ġthe");
        assertThat(pieces(t, "the")).containsExactly("t", "he");
        assertThat(t.decode(t.encode(" the the", false, false))).isEqualTo(" the the");
    }

    @Test
    void gpt2SplitKeepsOneSpaceForTheNextWord() {
        assertThat(BpePreTokenizer.GPT2.split("a   b")).containsExactly("a", "  ", " b");
        assertThat(BpePreTokenizer.GPT2.split("a  \n b")).containsExactly("a", "  \n", " b");
        assertThat(BpePreTokenizer.GPT2.split("x   ")).containsExactly("x", "   "); // end of text counts as non-\S
        assertThat(BpePreTokenizer.GPT2.split("I'll 42!?")).containsExactly("I", "'ll", " 42", "!?");
        // \s is Unicode whitespace (as in Oniguruma), but the optional prefix " ?" is an ASCII space only
        assertThat(BpePreTokenizer.GPT2.split("a\u00A0\u3000b")).containsExactly("a", "\u00A0", "\u3000", "b");
    }

    @Test
    void llama3GroupsDigitsByThreeAndKeepsNewlinesWithPunctuation() {
        assertThat(BpePreTokenizer.LLAMA3.split("12345")).containsExactly("123", "45");
        assertThat(BpePreTokenizer.LLAMA3.split("x.\n\ny")).containsExactly("x", ".\n\n", "y");
        assertThat(BpePreTokenizer.LLAMA3.split("I'VE been")).containsExactly("I", "'VE", " been");
        assertThat(BpePreTokenizer.LLAMA3.split("\"hello")).containsExactly("\"hello");
        assertThat(BpePreTokenizer.QWEN2.split("12345")).containsExactly("1", "2", "3", "4", "5");
    }

    @Test
    void sequentialRuleSetsSplitEachPieceAgain() {
        assertThat(BpePreTokenizer.FALCON.split("1234567")).containsExactly("123", "456", "7");
        assertThat(BpePreTokenizer.FALCON.split("a,b")).containsExactly("a", ",", "b");
        assertThat(BpePreTokenizer.STARCODER.split("x 12")).containsExactly("x", " ", "1", "2");
        assertThat(BpePreTokenizer.DEEPSEEK_CODER.split("ab\ncd 3")).containsExactly("ab", "\n", "cd", " ", "3");
        assertThat(BpePreTokenizer.DEEPSEEK_LLM.split("Hi 你好 42  \n")).containsExactly("Hi", " ", "你好", " ", "42", "  ", "\n");
        for (BpePreTokenizer p : BpePreTokenizer.values()) {
            String s = "Hello, y'all! 🦙 3.14 你好\r\n\t x";
            assertThat(String.join("", p.split(s))).as(p.name()).isEqualTo(s);
            assertThat(p.split("")).isEmpty();
        }
    }

    @Test
    void namesSelectRuleSets() {
        assertThat(BpePreTokenizer.forName("gpt-2")).isEqualTo(BpePreTokenizer.GPT2);
        assertThat(BpePreTokenizer.forName("phi-2")).isEqualTo(BpePreTokenizer.GPT2);
        assertThat(BpePreTokenizer.forName("mpt")).isEqualTo(BpePreTokenizer.GPT2);
        assertThat(BpePreTokenizer.forName("llama-bpe")).isEqualTo(BpePreTokenizer.LLAMA3);
        assertThat(BpePreTokenizer.forName("deepseek-r1-qwen")).isEqualTo(BpePreTokenizer.QWEN2);
        assertThat(BpePreTokenizer.forName("smollm")).isEqualTo(BpePreTokenizer.STARCODER);
        assertThat(BpePreTokenizer.forName("refact")).isEqualTo(BpePreTokenizer.STARCODER);
        assertThat(BpePreTokenizer.forName("nonsense")).isNull();
        assertThat(BpePreTokenizer.LLAMA3.ignoresMerges()).isTrue();
        assertThat(BpePreTokenizer.GPT2.ignoresMerges()).isFalse();
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void longInputsAreNotQuadratic() {
        List<String> merges = new ArrayList<>(List.of("a a", "aa aa", "aaaa aaaa", "b a", "ba b"));
        BpeTokenizer t = tokenizer("gpt-2", merges.toArray(String[]::new));
        String word = "a".repeat(200_000); // one pre-token of 200k letters
        int[] ids = t.encode(word, false, false);
        assertThat(ids).hasSize(25_000);
        assertThat(t.decode(ids)).isEqualTo(word);
        String mixed = "ba".repeat(100_000) + " " + "x y ".repeat(50_000) + " ".repeat(100_000) + "z";
        assertThat(t.decode(t.encode(mixed, false, false))).isEqualTo(mixed);
    }

    @Test
    void unknownPreTokenizerIsReportedWithTheSupportedOnes(@TempDir Path dir) {
        Path p = dir.resolve("bad-pre.gguf");
        bpeGguf("gpt2", "no-such-pre").write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThatThrownBy(() -> Tokenizers.fromGguf(f)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining(p.toString())
                    .hasMessageContaining("tokenizer.ggml.pre 'no-such-pre'")
                    .hasMessageContaining("gpt-2").hasMessageContaining("llama-bpe").hasMessageContaining("qwen2")
                    .hasMessageContaining("deepseek-coder").hasMessageContaining("falcon");
        }
        assertThatThrownBy(() -> BpeFiles.builder(Map.of("a", 0), List.of()).preTokenizer("nope"))
                .isInstanceOf(ArgonException.class).hasMessageContaining("'nope'").hasMessageContaining("starcoder");
    }

    @Test
    void unknownModelIsReportedWithTheSupportedOnes(@TempDir Path dir) {
        Path p = dir.resolve("bad-model.gguf");
        bpeGguf("rwkv-world", "default").write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThatThrownBy(() -> Tokenizers.fromGguf(f)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining(p.toString())
                    .hasMessageContaining("tokenizer.ggml.model 'rwkv-world'")
                    .hasMessageContaining("\"llama\"").hasMessageContaining("\"gpt2\"").hasMessageContaining("\"bert\"");
        }
    }

    @Test
    void minimalGgufWorksAndMissingMergesAreReported(@TempDir Path dir) {
        Path ok = dir.resolve("ok.gguf");
        bpeGguf("gpt2", "gpt-2").write(ok);
        try (GgufFile f = GgufFile.open(ok)) {
            Tokenizer t = Tokenizers.fromGguf(f);
            assertThat(Arrays.stream(t.encode("ab ab", false, false)).mapToObj(t::piece)).containsExactly("ab", "Ġ", "ab");
        }
        Path noPre = dir.resolve("no-pre.gguf");
        bpeGguf("gpt2", null).write(noPre);
        try (GgufFile f = GgufFile.open(noPre)) {
            assertThat(((BpeTokenizer) Tokenizers.fromGguf(f)).preTokenizer()).isEqualTo(BpePreTokenizer.DEFAULT);
        }
        Path noMerges = dir.resolve("no-merges.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "gpt2")
                .putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, new String[] {"a"})).write(noMerges);
        try (GgufFile f = GgufFile.open(noMerges)) {
            assertThatThrownBy(() -> Tokenizers.fromGguf(f)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining(noMerges.toString()).hasMessageContaining("tokenizer.ggml.merges");
        }
    }

    private static GgufWriter bpeGguf(String model, String pre) {
        String[] tokens = {"a", "b", "Ġ", "ab"};
        GgufWriter w = new GgufWriter().putString("tokenizer.ggml.model", model)
                .putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, tokens))
                .putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, new int[] {1, 1, 1, 1}))
                .putArray("tokenizer.ggml.merges", new GgufArray(GgufValueType.STRING, new String[] {"a b"}));
        return pre == null ? w : w.putString("tokenizer.ggml.pre", pre);
    }
}
