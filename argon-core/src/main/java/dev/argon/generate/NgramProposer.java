package dev.argon.generate;

/**
 * Prompt lookup decoding (Saxena 2023; llama.cpp's {@code llama-lookup}): the newest
 * {@code n}-gram of the sequence, for {@code n} from {@code maxN} down to {@code minN}, is looked
 * up among the earlier tokens (prompt and output, so n-grams seen in earlier output count too);
 * the tokens that followed its most recent earlier occurrence are the draft. A continuation that
 * runs into the end of the sequence repeats itself (a loop of period p continues with period p),
 * so repetitive text drafts as far as allowed. Cost: {@code O(length * maxN)} comparisons per call.
 */
public final class NgramProposer implements DraftProposer {
    private final int minN;
    private final int maxN;

    /**
     * @param minN shortest n-gram matched, >= 1
     * @param maxN longest n-gram matched, >= minN
     */
    public NgramProposer(int minN, int maxN) {
        if (minN < 1 || maxN < minN) {
            throw new IllegalArgumentException("n-gram sizes " + minN + ".." + maxN);
        }
        this.minN = minN;
        this.maxN = maxN;
    }

    @Override
    public int propose(int[] tokens, int length, int max, int[] out) {
        for (int n = Math.min(maxN, length - 1); n >= minN; n--) {
            int key = length - n;
            // the most recent earlier occurrence: it starts at i < key
            for (int i = key - 1; i >= 0; i--) {
                if (matches(tokens, i, key, n)) {
                    return copyContinuation(tokens, length, i + n, max, out);
                }
            }
        }
        return 0;
    }

    private static boolean matches(int[] tokens, int a, int b, int n) {
        for (int j = 0; j < n; j++) {
            if (tokens[a + j] != tokens[b + j]) {
                return false;
            }
        }
        return true;
    }

    /** Copies what followed position {@code from}: tokens past the end repeat the draft itself (period {@code length - from}). */
    private static int copyContinuation(int[] tokens, int length, int from, int max, int[] out) {
        int period = length - from;
        for (int m = 0; m < max; m++) {
            int src = from + m;
            out[m] = src < length ? tokens[src] : out[m - period];
        }
        return max;
    }
}
