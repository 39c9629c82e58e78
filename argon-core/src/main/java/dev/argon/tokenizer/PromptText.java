package dev.argon.tokenizer;

import java.util.Arrays;

/**
 * Text to tokenize, with the places where control-token text must <em>not</em> become a control
 * token.
 *
 * <p>A chat prompt mixes two kinds of text: the template's own (role markers such as
 * {@code <|im_start|>}, {@code [INST]}, BOS), which must become control tokens, and the content
 * of messages, which is data: a user who writes {@code <|eot_id|>} or {@code </s>} must get those
 * characters as plain text, not the end of their turn (a prompt-injection vector in engines that
 * tokenize the whole rendered prompt with special parsing). {@code PromptText} carries both: with
 * {@link #parseSpecial()} on, control and unknown tokens written in the text are recognised except
 * where an occurrence overlaps one of the {@linkplain #literalRanges() literal ranges}, whose text
 * is tokenized as with special parsing off. User-defined tokens are recognised everywhere, as
 * llama.cpp does.
 *
 * @param text the whole text
 * @param parseSpecial recognise control-token text (outside the literal ranges)
 * @param literalRanges sorted, non-overlapping character ranges {@code [start, end)} of {@code text}
 *     as pairs {@code start0, end0, start1, end1, ...}; a special token whose occurrence overlaps
 *     one of them is not recognised
 */
public record PromptText(String text, boolean parseSpecial, int[] literalRanges) {
    private static final int[] NONE = new int[0];

    /**
     * @throws IllegalArgumentException if the ranges are not sorted, non-empty and non-overlapping
     *     pairs inside the text
     */
    public PromptText {
        if (text == null) {
            throw new IllegalArgumentException("prompt text is null");
        }
        literalRanges = literalRanges == null || literalRanges.length == 0 ? NONE : literalRanges.clone();
        if (literalRanges.length % 2 != 0) {
            throw new IllegalArgumentException("literal ranges must be start/end pairs, got " + literalRanges.length + " numbers");
        }
        int prevEnd = 0;
        for (int i = 0; i < literalRanges.length; i += 2) {
            int s = literalRanges[i];
            int e = literalRanges[i + 1];
            if (s < prevEnd || e <= s || e > text.length()) {
                throw new IllegalArgumentException("literal range [" + s + ", " + e + ") is not sorted, empty or outside the text of "
                        + text.length() + " characters");
            }
            prevEnd = e;
        }
    }

    /** @return text in which control-token text is plain text (special parsing off) */
    public static PromptText plain(String text) {
        return new PromptText(text, false, NONE);
    }

    /** @return text in which all control-token text becomes control tokens (special parsing on) */
    public static PromptText parsed(String text) {
        return new PromptText(text, true, NONE);
    }

    /** @return the text from {@code begin} on, its literal ranges shifted (and cut) to match */
    public PromptText substring(int begin) {
        if (begin < 0 || begin > text.length()) {
            throw new IndexOutOfBoundsException("begin " + begin + " outside a text of " + text.length() + " characters");
        }
        int[] shifted = new int[literalRanges.length];
        int n = 0;
        for (int i = 0; i < literalRanges.length; i += 2) {
            int s = Math.max(literalRanges[i], begin) - begin;
            int e = literalRanges[i + 1] - begin;
            if (e > s) {
                shifted[n++] = s;
                shifted[n++] = e;
            }
        }
        return new PromptText(text.substring(begin), parseSpecial, Arrays.copyOf(shifted, n));
    }

    /** @return whether the text is empty */
    public boolean isEmpty() {
        return text.isEmpty();
    }

    /** @return the literal ranges as start/end pairs (a copy) */
    @Override
    public int[] literalRanges() {
        return literalRanges.clone();
    }

    /** @return whether {@code [start, end)} overlaps a literal range, where no special token is recognised */
    public boolean isLiteral(int start, int end) {
        // the first range ending after start is the only one that can overlap
        int lo = 0;
        int hi = literalRanges.length / 2;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (literalRanges[2 * mid + 1] <= start) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < literalRanges.length / 2 && literalRanges[2 * lo] < end;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PromptText p && p.parseSpecial == parseSpecial && p.text.equals(text)
                && Arrays.equals(p.literalRanges, literalRanges);
    }

    @Override
    public int hashCode() {
        return (text.hashCode() * 31 + Boolean.hashCode(parseSpecial)) * 31 + Arrays.hashCode(literalRanges);
    }

    @Override
    public String toString() {
        return "PromptText[" + text.length() + " chars, parseSpecial=" + parseSpecial + ", " + literalRanges.length / 2
                + " literal ranges]";
    }
}
