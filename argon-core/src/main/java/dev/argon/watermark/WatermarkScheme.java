package dev.argon.watermark;

import dev.argon.ArgonException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The green-list watermark of Kirchenbauer et al. 2023 ("A Watermark for Large Language Models",
 * ICML, Algorithm 2, "soft red list"): before each token, a secret key and the previous
 * {@code contextWidth} tokens select a "green" share {@code gamma} of the vocabulary, and the
 * green tokens' logits get {@code +delta}. Detection counts green tokens: without the watermark
 * each is green with probability {@code gamma}, so {@code z = (green - gamma T) / sqrt(T gamma (1 - gamma))}.
 *
 * <p>Green-list membership here is a keyed hash per (key, context, token): token {@code v} is
 * green after context {@code c} when {@code mix(key, c, v) < gamma * 2^64} (unsigned). Each token
 * is green with probability {@code gamma} independently, so the list holds about (not exactly)
 * {@code gamma |V|} tokens, and testing one token costs one hash instead of a permutation of the
 * vocabulary.
 *
 * @param key the secret key (see {@link #keyOf})
 * @param gamma green share of the vocabulary, {@code 0 < gamma < 1} (paper: 0.25 or 0.5)
 * @param delta logit added to green tokens, {@code > 0} (paper: 1 to 10; 2 is the common setting)
 * @param contextWidth previous tokens hashed into the green list, {@code >= 1} (paper: 1)
 */
public record WatermarkScheme(long key, double gamma, double delta, int contextWidth) {
    /** Paper defaults: gamma 0.25, delta 2, context of one token. */
    public static final double DEFAULT_GAMMA = 0.25;
    /** Paper default bias, in logits. */
    public static final double DEFAULT_DELTA = 2.0;

    /** @throws ArgonException naming the first parameter out of range */
    public WatermarkScheme {
        if (!(gamma > 0 && gamma < 1)) {
            throw new ArgonException("watermark gamma is " + gamma + "; expected a green share strictly between 0 and 1 (e.g. 0.25)");
        }
        if (!(delta > 0) || Double.isInfinite(delta)) {
            throw new ArgonException("watermark delta is " + delta + "; expected a finite logit bias > 0 (e.g. 2)");
        }
        if (contextWidth < 1 || contextWidth > 8) {
            throw new ArgonException("watermark context width is " + contextWidth + "; expected 1 to 8 previous tokens");
        }
    }

    /** A scheme with the paper's defaults and the key {@link #keyOf(String) derived from} {@code key}. */
    public static WatermarkScheme of(String key) {
        return new WatermarkScheme(keyOf(key), DEFAULT_GAMMA, DEFAULT_DELTA, 1);
    }

    /**
     * The 64-bit key of a text key: the first 8 bytes (big-endian) of the SHA-256 of its UTF-8.
     *
     * @throws ArgonException if the key is empty
     */
    public static long keyOf(String key) {
        if (key == null || key.isEmpty()) {
            throw new ArgonException("the watermark key is empty; give a secret text");
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            long k = 0;
            for (int i = 0; i < 8; i++) {
                k = (k << 8) | (d[i] & 0xff);
            }
            return k;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    /**
     * The seed of the green list after {@code contextWidth} tokens ending at {@code end - 1} of
     * {@code tokens} (the most recent last).
     *
     * @param end exclusive end, {@code >= contextWidth}
     */
    public long contextSeed(int[] tokens, int end) {
        long h = mix(key ^ 0x243F6A8885A308D3L);
        for (int i = end - contextWidth; i < end; i++) {
            h = mix(h + (tokens[i] & 0xffffffffL) + 0x9E3779B97F4A7C15L);
        }
        return h;
    }

    /** Whether {@code token} is green under the seed {@link #contextSeed} gave. */
    public boolean green(long seed, int token) {
        long h = mix(seed ^ ((token & 0xffffffffL) * 0xD1B54A32D192ED03L));
        return Long.compareUnsigned(h, threshold()) < 0;
    }

    /** {@code gamma * 2^64}, as an unsigned long. */
    private long threshold() {
        // gamma in (0, 1): the product is below 2^64; values >= 2^63 need the unsigned wrap
        double t = gamma * 0x1p64;
        return t >= 0x1p63 ? (long) (t - 0x1p63) ^ Long.MIN_VALUE : (long) t;
    }

    /** The finaliser of SplitMix64 (Steele, Lea, Flood 2014): a bijective 64-bit mix. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
