package dev.argon.tokenizer;

import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** WordPiece: BERT basic tokenization, greedy longest match, both vocabulary spellings. */
class WordPieceTest {

    private static Vocabulary vocab(String... tokens) {
        int[] types = new int[tokens.length];
        Arrays.fill(types, Vocabulary.NORMAL);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i].startsWith("[")) {
                types[i] = Vocabulary.CONTROL;
            }
        }
        // [CLS]=1 as BOS, [SEP]=2 as EOS, [UNK]=0
        var specials = new Vocabulary.Specials(1, 2, 0, -1, -1, -1, true, true, false);
        return new Vocabulary(tokens, new float[tokens.length], types, specials, new BitSet(), new BitSet());
    }

    private static List<String> pieces(Tokenizer t, String text) {
        return Arrays.stream(t.encode(text, false, false)).mapToObj(t::piece).toList();
    }

    @Test
    void basicTokenizationLowercasesStripsAccentsAndIsolatesPunctuation() {
        assertThat(WordPieceTokenizer.basicTokenize("Héllo, WORLD!\tÅngström\u200Dx 你好"))
                .containsExactly("hello", ",", "world", "!", "angstromx", "你", "好");
        assertThat(WordPieceTokenizer.basicTokenize("  \n ")).isEmpty();
        assertThat(WordPieceTokenizer.basicTokenize("a$b")).containsExactly("a", "$", "b"); // ASCII symbols too
    }

    @Test
    void greedyLongestMatchWithHashContinuations() {
        var t = new WordPieceTokenizer(vocab("[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "##a", "aff", "!"));
        assertThat(pieces(t, "unaffable!")).containsExactly("un", "##aff", "##able", "!");
        assertThat(pieces(t, "unx")).containsExactly("[UNK]"); // any unmatched part makes the whole word unknown
        assertThat(t.encode("un", true, false)).containsExactly(1, 3, 2);
        assertThat(t.decode(t.encode("unaffable aff", false, false))).isEqualTo(" unaffable aff");
        assertThat(pieces(t, "un".repeat(51))).containsExactly("[UNK]"); // over 100 characters
    }

    @Test
    void llamaCppSpellingWithWordStartMarks() {
        var t = new WordPieceTokenizer(vocab("[UNK]", "[CLS]", "[SEP]", "▁un", "aff", "able", "▁aff", "▁!"));
        assertThat(pieces(t, "Unaffable!")).containsExactly("▁un", "aff", "able", "▁!");
        assertThat(t.decode(t.encode("unaffable aff", false, false))).isEqualTo(" unaffable aff");
    }

    @Test
    void bertBgeGguf() {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-bert-bge.gguf"))) {
            Tokenizer t = Tokenizers.fromGguf(f);
            assertThat(t.bos()).isEqualTo(101); // [CLS]
            assertThat(t.eos()).isEqualTo(102); // [SEP]
            assertThat(t.encode("Hello world", true, false)).containsExactly(101, 7592, 2088, 102);
            assertThat(t.decode(t.encode("Hello world", true, false))).isEqualTo(" hello world");
            assertThat(t.encode("[CLS]", false, true)).containsExactly(101);
            assertThat(t.encode("[CLS]", false, false)).doesNotContain(101);
        }
    }
}
