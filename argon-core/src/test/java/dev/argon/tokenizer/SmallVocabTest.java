package dev.argon.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The SentencePiece algorithm on hand-made vocabularies: merge order, fallbacks, special splitting. */
class SmallVocabTest {

    /** Builds a vocabulary from "piece:score:type" entries after the usual three specials. */
    private static Vocabulary vocab(boolean spacePrefix, BitSet rstrip, String... entries) {
        List<String> toks = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        List<Integer> types = new ArrayList<>(List.of(Vocabulary.UNKNOWN, Vocabulary.CONTROL, Vocabulary.CONTROL));
        for (String e : entries) {
            int a = e.lastIndexOf(':', e.lastIndexOf(':') - 1);
            toks.add(e.substring(0, a));
            String[] rest = e.substring(a + 1).split(":");
            scores.add(Float.parseFloat(rest[0]));
            types.add(Integer.parseInt(rest[1]));
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
        }
        var specials = new Vocabulary.Specials(1, 2, 0, -1, -1, -1, true, false, spacePrefix);
        return new Vocabulary(toks.toArray(String[]::new), s, types.stream().mapToInt(Integer::intValue).toArray(),
                specials, new BitSet(), rstrip);
    }

    private static List<String> pieces(Tokenizer t, String text, boolean parseSpecial) {
        return Arrays.stream(t.encode(text, false, parseSpecial)).mapToObj(t::piece).toList();
    }

    @Test
    void equalScoresMergeLeftmostFirst() {
        var t = new SentencePieceTokenizer(vocab(false, new BitSet(), "a:-1:1", "b:-1:1", "ab:-2:1", "ba:-2:1"));
        assertThat(pieces(t, "aba", false)).containsExactly("ab", "a");
        var u = new SentencePieceTokenizer(vocab(false, new BitSet(), "a:-1:1", "b:-1:1", "ab:-3:1", "ba:-2:1"));
        assertThat(pieces(u, "aba", false)).containsExactly("a", "ba");
    }

    @Test
    void mergesAreRepeatedAndUseScoresNotLength() {
        var t = new SentencePieceTokenizer(vocab(true, new BitSet(),
                "▁:-1:1", "a:-1:1", "b:-1:1", "c:-1:1", "▁a:-5:1", "bc:-2:1", "abc:-3:1", "▁abc:-9:1"));
        // bc (-2) first, then abc (-3); ▁a (-5) is stale by then; ▁abc (-9) last
        assertThat(pieces(t, "abc", false)).containsExactly("▁abc");
        assertThat(pieces(t, "abc abc", false)).containsExactly("▁abc", "▁abc");
        assertThat(pieces(t, "ab", false)).containsExactly("▁a", "b");
    }

    @Test
    void unknownCharactersFallBackToBytesOrUnk() {
        List<String> entries = new ArrayList<>(List.of("▁:-1:1", "x:-1:1"));
        for (int b = 0; b < 256; b++) {
            entries.add(String.format("<0x%02X>:0:6", b));
        }
        var withBytes = new SentencePieceTokenizer(vocab(true, new BitSet(), entries.toArray(String[]::new)));
        assertThat(pieces(withBytes, "xé", false)).containsExactly("▁", "x", "<0xC3>", "<0xA9>");
        assertThat(withBytes.decode(withBytes.encode("xé", false, false))).isEqualTo(" xé");

        var noBytes = new SentencePieceTokenizer(vocab(true, new BitSet(), "▁:-1:1", "x:-1:1"));
        assertThat(pieces(noBytes, "xé", false)).containsExactly("▁", "x", "<unk>", "<unk>");
        assertThat(noBytes.decode(noBytes.encode("xé", false, false))).isEqualTo(" x<unk><unk>");
    }

    @Test
    void userDefinedTokensAlwaysMatchLongestFirst() {
        var t = new SentencePieceTokenizer(vocab(false, new BitSet(),
                "a:-1:1", "b:-1:1", "c:-1:1", "d:-1:1", "ab:-1:4", "bcd:-1:4"));
        // llama.cpp takes special tokens longest first over the whole text: bcd wins over ab
        assertThat(pieces(t, "abcd", false)).containsExactly("a", "bcd");
        assertThat(pieces(t, "abab", false)).containsExactly("ab", "ab");
        assertThat(t.decode(t.encode("abcd", false, false))).isEqualTo("abcd");
    }

    @Test
    void spacePrefixFollowsSpecialTokens() {
        var t = new SentencePieceTokenizer(vocab(true, new BitSet(), "▁:-1:1", "x:-1:1", "▁x:-0.5:1", "<T>:0:4"));
        assertThat(pieces(t, "x<T>x", false)).containsExactly("▁x", "<T>", "▁x");
        assertThat(pieces(t, "<T>", false)).containsExactly("<T>");
        assertThat(pieces(t, "x</s>x", false)).doesNotContain("</s>");
        assertThat(pieces(t, "x</s>x", true)).containsExactly("▁x", "</s>", "▁x");
    }

    @Test
    void rstripSwallowsFollowingWhitespace() {
        BitSet rstrip = new BitSet();
        rstrip.set(6);
        var t = new SentencePieceTokenizer(vocab(true, rstrip, "▁:-1:1", "x:-1:1", "▁x:-0.5:1", "<T>:0:3"));
        assertThat(t.vocabulary().token(6)).isEqualTo("<T>");
        assertThat(pieces(t, "x<T> \n x", true)).containsExactly("▁x", "<T>", "▁x");
        assertThat(pieces(t, "x<T> \n ", true)).containsExactly("▁x", "<T>");
    }

    @Test
    void tokenBytesByType() {
        var t = new SentencePieceTokenizer(vocab(true, new BitSet(),
                "▁a▁b:0:1", "<0x41>:0:6", "<ctl>:0:3", "<▁u>:0:4", "junk:0:5"));
        assertThat(new String(t.tokenBytes(3))).isEqualTo(" a b");
        assertThat(t.tokenBytes(4)).containsExactly((byte) 'A');
        assertThat(t.tokenBytes(5)).isEmpty();
        assertThat(new String(t.tokenBytes(6), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("<▁u>");
        assertThat(t.tokenBytes(7)).isEmpty();
        assertThat(new String(t.tokenBytes(0))).isEqualTo("<unk>");
        assertThat(t.isControl(5)).isTrue();
        assertThat(t.isControl(6)).isFalse();
    }
}
