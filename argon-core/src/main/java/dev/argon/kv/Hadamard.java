package dev.argon.kv;

/**
 * The normalized Walsh–Hadamard transform on consecutive blocks of a power-of-two size: an
 * orthonormal, symmetric matrix, so it is its own inverse and keeps dot products
 * ({@code (Hq)·(Hk) = q·k}). Rotating keys and values before quantizing them spreads an outlier
 * channel's energy over the whole block, so one large value no longer sets the scale of every
 * other value in its block (QuaRot, Ashkboos et al. 2024; llama.cpp rotates its quantized KV cache
 * the same way).
 */
public final class Hadamard {
    private Hadamard() {
    }

    /** The largest power of two that divides {@code headDim} (the rotation block for that head size). */
    public static int blockFor(int headDim) {
        return Integer.lowestOneBit(headDim);
    }

    /**
     * Rotates {@code x[off .. off+n)} in place, block by block ({@code n} a multiple of
     * {@code block}, {@code block} a power of two): the fast transform, {@code block·log2(block)}
     * additions, then a scale of {@code 1/sqrt(block)}.
     */
    public static void rotate(float[] x, int off, int n, int block) {
        float scale = (float) (1.0 / Math.sqrt(block));
        for (int b = off; b < off + n; b += block) {
            for (int h = 1; h < block; h <<= 1) {
                for (int i = b; i < b + block; i += h << 1) {
                    for (int j = i; j < i + h; j++) {
                        float u = x[j];
                        float v = x[j + h];
                        x[j] = u + v;
                        x[j + h] = u - v;
                    }
                }
            }
            for (int i = b; i < b + block; i++) {
                x[i] *= scale;
            }
        }
    }
}
