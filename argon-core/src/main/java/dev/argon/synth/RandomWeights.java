package dev.argon.synth;

import java.nio.charset.StandardCharsets;

/**
 * Reproducible pseudo-random weights: element {@code i} of a tensor is a function of the seed,
 * the tensor's name and {@code i} only (a counter-based generator, SplitMix64's finaliser), so
 * any range of any tensor can be generated independently, in parallel, in any order, with the
 * same result.
 *
 * <p>Values are approximately normal with mean 0 and standard deviation 1: the sum of four
 * independent 16-bit uniforms, centred and scaled (Irwin-Hall, bounded at about ±3.46).
 */
public final class RandomWeights {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    /** sqrt(3) / 65536: the sum of four 16-bit uniforms has standard deviation 65536 / sqrt(3). */
    private static final float SCALE = (float) (Math.sqrt(3.0) / 65536.0);

    private RandomWeights() {
    }

    /** @return the key of one tensor's stream: a hash of the seed and the tensor's name */
    public static long key(long seed, String tensorName) {
        long h = 0xCBF29CE484222325L; // FNV-1a 64
        for (byte b : tensorName.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        }
        return mix(seed * GOLDEN ^ mix(h));
    }

    /**
     * Fills {@code out[0..n)} with elements {@code first .. first+n-1} of the stream {@code key},
     * multiplied by {@code std}.
     */
    public static void fill(long key, long first, float[] out, int n, float std) {
        float s = SCALE * std;
        for (int j = 0; j < n; j++) {
            long r = mix(key + (first + j) * GOLDEN);
            int sum = (int) (r & 0xFFFF) + (int) ((r >>> 16) & 0xFFFF) + (int) ((r >>> 32) & 0xFFFF) + (int) (r >>> 48);
            out[j] = (sum - 2 * 65535) * s; // the mean of the sum is 4 * 65535 / 2
        }
    }

    /** SplitMix64's output function (Steele, Lea, Flood 2014). */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
