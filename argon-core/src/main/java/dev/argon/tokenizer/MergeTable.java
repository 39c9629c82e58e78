package dev.argon.tokenizer;

import java.util.Arrays;

/**
 * BPE merge ranks keyed by the pair of token ids (GPT-2 {@code encoder.py} {@code bpe_ranks};
 * llama.cpp {@code bpe_ranks}): an open-addressing hash table from (left id, right id) to the
 * merge's rank (its line in the merges list, lower merges first) and the id of the merged token.
 */
final class MergeTable {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] ranks;
    private final int[] results;
    private final int mask;
    private final int size;

    /**
     * @param merges lines {@code "left right"} in rank order (first the most frequent pair)
     * @param vocab the vocabulary holding both parts and their concatenation
     */
    MergeTable(String[] merges, Vocabulary vocab) {
        int cap = Integer.highestOneBit(Math.max(16, merges.length * 2 + 1)) << 1;
        keys = new long[cap];
        Arrays.fill(keys, EMPTY);
        ranks = new int[cap];
        results = new int[cap];
        mask = cap - 1;
        int n = 0;
        for (int rank = 0; rank < merges.length; rank++) {
            String m = merges[rank];
            int sp = m.indexOf(' ', 1); // llama.cpp: the separator is the first space after the first character
            if (sp < 0) {
                continue; // malformed line
            }
            String left = m.substring(0, sp);
            String right = m.substring(sp + 1);
            int a = vocab.id(left);
            int b = vocab.id(right);
            int r = vocab.id(left + right);
            if (a < 0 || b < 0 || r < 0) {
                continue; // a pair or result outside the vocabulary: HF refuses such files
            }
            if (put(key(a, b), rank, r)) {
                n++;
            }
        }
        size = n;
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }

    // keeps the first (lowest-rank) entry of a duplicated pair, as llama.cpp's map emplace does
    private boolean put(long key, int rank, int result) {
        int i = slot(key);
        while (keys[i] != EMPTY) {
            if (keys[i] == key) {
                return false;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        ranks[i] = rank;
        results[i] = result;
        return true;
    }

    /** @return {@code rank << 32 | mergedId} for the pair, or -1 if the pair never merges */
    long lookup(int a, int b) {
        long key = key(a, b);
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) {
                return ((long) ranks[i] << 32) | results[i];
            }
            if (k == EMPTY) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    /** @return the number of usable merges (lines that are malformed or name unknown tokens are left out) */
    int size() {
        return size;
    }
}
