package dev.argon.compress;

import dev.argon.ArgonException;

/**
 * A next-token distribution quantized to integer frequencies for {@link ArithmeticEncoder}: the
 * softmax of the logits (in double, with {@link StrictMath#exp}, so the same logits give the same
 * frequencies on every JVM and CPU), scaled to {@code TOTAL - vocab} and floored, plus one for
 * every token (so every token, however unlikely, stays codable); what the flooring leaves goes to
 * the most likely token (the lowest id among equals). The frequencies sum to exactly
 * {@link #TOTAL}; {@code cum[i]} is the sum of those of tokens {@code 0..i-1}.
 */
public final class Frequencies {
    /** Sum of the frequencies: 2^24. */
    public static final int TOTAL = ArithmeticEncoder.MAX_TOTAL;
    /** The largest vocabulary: at least a quarter of {@link #TOTAL} is left to the model. */
    public static final int MAX_VOCAB = TOTAL / 4 * 3;

    private final long[] cum;
    private final double[] exps;
    private final int vocab;
    private double sum;
    private boolean uniform;

    /** @param vocab the number of tokens, at most {@link #MAX_VOCAB} */
    public Frequencies(int vocab) {
        if (vocab < 1 || vocab > MAX_VOCAB) {
            throw new ArgonException("the vocabulary has " + vocab + " tokens; compression supports at most " + MAX_VOCAB);
        }
        this.vocab = vocab;
        this.cum = new long[vocab + 1];
        this.exps = new double[vocab];
    }

    /** Sets the frequencies from the model's logits {@code [vocab]}. */
    public void setLogits(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        int argmax = 0;
        for (int i = 0; i < vocab; i++) {
            if (logits[i] > max) {
                max = logits[i];
                argmax = i;
            }
        }
        if (!Double.isFinite(max)) {
            throw new ArgonException("the model produced non-finite logits (max " + max + ")");
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            double e = StrictMath.exp(logits[i] - max);
            exps[i] = e;
            sum += e;
        }
        this.sum = sum;
        this.uniform = false;
        double scale = (TOTAL - vocab) / sum;
        long c = 0;
        long argmaxExtra = 0;
        for (int i = 0; i < vocab; i++) {
            cum[i] = c;
            c += 1 + (long) (exps[i] * scale);
        }
        cum[vocab] = c;
        argmaxExtra = TOTAL - c;
        if (argmaxExtra < 0) {
            throw new IllegalStateException("frequencies sum to " + c + " > " + TOTAL);
        }
        for (int i = argmax + 1; i <= vocab; i++) {
            cum[i] += argmaxExtra;
        }
    }

    /** Sets a uniform distribution (the first token of a window when the vocabulary has no BOS). */
    public void setUniform() {
        uniform = true;
        long base = TOTAL / vocab;
        long extra = TOTAL - base * vocab;
        for (int i = 0; i <= vocab; i++) {
            cum[i] = base * i + Math.min(i, extra);
        }
    }

    /** @return the cumulative frequency before {@code token} */
    public long low(int token) {
        return cum[token];
    }

    /** @return the cumulative frequency through {@code token} */
    public long high(int token) {
        return cum[token + 1];
    }

    /** @return the token whose interval holds {@code target} ({@code 0 ≤ target < TOTAL}) */
    public int find(long target) {
        int lo = 0;
        int hi = vocab - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (cum[mid] <= target) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** @return the model's own code length of {@code token}, {@code -log2 p} before quantizing */
    public double modelBits(int token) {
        return uniform ? Math.log(vocab) / Math.log(2) : -Math.log(exps[token] / sum) / Math.log(2);
    }

    /** @return the code length of {@code token} in bits, {@code -log2(freq / TOTAL)} */
    public double bits(int token) {
        return -Math.log((double) (cum[token + 1] - cum[token]) / TOTAL) / Math.log(2);
    }
}
