package dev.argon.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a range of Unicode scalar values into UTF-8 byte-range sequences: each result is a list
 * of {@code [lo, hi]} byte ranges, one per byte position, whose product is exactly the UTF-8
 * encodings of a sub-range. Surrogates (U+D800..U+DFFF) are never produced. This lets the grammar
 * engine work on bytes only, so tokens that end inside a multi-byte character need nothing special
 * (RFC 3629, table in section 4).
 */
final class Utf8Ranges {
    private static final int[] MAX = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};

    private Utf8Ranges() {
    }

    /**
     * @param lo first code point, {@code 0..0x10FFFF}
     * @param hi last code point, {@code lo..0x10FFFF}
     * @return byte-range sequences, each an array {@code [lo0, hi0, lo1, hi1, ...]}
     */
    static List<int[]> split(int lo, int hi) {
        List<int[]> out = new ArrayList<>();
        if (lo <= 0xD7FF) {
            splitLengths(lo, Math.min(hi, 0xD7FF), out);
        }
        if (hi >= 0xE000) {
            splitLengths(Math.max(lo, 0xE000), hi, out);
        }
        return out;
    }

    private static void splitLengths(int lo, int hi, List<int[]> out) {
        if (lo > hi) {
            return;
        }
        int start = 0;
        for (int max : MAX) {
            if (lo <= max) {
                int end = Math.min(hi, max);
                if (start <= end && lo <= end) {
                    splitSameLength(Math.max(lo, start), end, out);
                }
            }
            start = max + 1;
        }
    }

    private static void splitSameLength(int lo, int hi, List<int[]> out) {
        int n = length(lo);
        for (int i = 1; i < n; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    splitSameLength(lo, lo | m, out);
                    splitSameLength((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    splitSameLength(lo, (hi & ~m) - 1, out);
                    splitSameLength(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo);
        byte[] b = encode(hi);
        int[] seq = new int[2 * n];
        for (int i = 0; i < n; i++) {
            seq[2 * i] = a[i] & 0xFF;
            seq[2 * i + 1] = b[i] & 0xFF;
        }
        out.add(seq);
    }

    static int length(int cp) {
        return cp <= 0x7F ? 1 : cp <= 0x7FF ? 2 : cp <= 0xFFFF ? 3 : 4;
    }

    static byte[] encode(int cp) {
        return new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
