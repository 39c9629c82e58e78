package dev.argon.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Converts floats to the byte layout of a {@link GgmlType}, for building test models with random
 * weights and for checking the tensor types. Block layouts are those read by the tensor classes
 * (ggml's {@code block_*} structs, little-endian).
 *
 * <p>Quantization is plain round-to-nearest with scales chosen from each block's extremes (as in
 * ggml's {@code quantize_row_*_ref} for the 32-element types; for K-quants see
 * {@link KQuantizer}); it is valid, not optimal. Scales that do not fit in an f16 are clamped.
 */
public final class Quantizer {
    /** Largest finite IEEE half. */
    static final float HALF_MAX = 65504f;

    private Quantizer() {
    }

    /**
     * Quantizes {@code values} to {@code type}.
     *
     * @param type one of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q8_K
     * @param values the elements; their count must be a multiple of the type's block size
     * @return a heap segment (backed by a {@code byte[]}) of exactly {@code type.bytesFor(values.length)} bytes
     * @throws IllegalArgumentException if the type has no quantizer or the length is not block-aligned
     */
    public static MemorySegment quantize(GgmlType type, float[] values) {
        int bs = type.blockSize();
        if (values.length % bs != 0) {
            throw new IllegalArgumentException(type + ": " + values.length + " values is not a multiple of the block size " + bs);
        }
        long bytes = type.bytesFor(values.length);
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(type + ": " + bytes + " bytes is too large for a heap array");
        }
        ByteBuffer out = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> {
                for (float v : values) {
                    out.putFloat(v);
                }
            }
            case F16 -> {
                for (float v : values) {
                    out.putShort(Float.floatToFloat16(v));
                }
            }
            case BF16 -> {
                for (float v : values) {
                    out.putShort(bf16(v));
                }
            }
            case Q8_0 -> forBlocks(values, 32, i -> q8_0(values, i, out));
            case Q4_0 -> forBlocks(values, 32, i -> q4_0(values, i, out));
            case Q4_1 -> forBlocks(values, 32, i -> qx_1(values, i, 15, out));
            case Q5_0 -> forBlocks(values, 32, i -> q5_0(values, i, out));
            case Q5_1 -> forBlocks(values, 32, i -> qx_1(values, i, 31, out));
            case Q8_K -> forBlocks(values, 256, i -> q8_K(values, i, out));
            case Q4_K -> forBlocks(values, 256, i -> KQuantizer.q4_K(values, i, out));
            case Q5_K -> forBlocks(values, 256, i -> KQuantizer.q5_K(values, i, out));
            case Q6_K -> forBlocks(values, 256, i -> KQuantizer.q6_K(values, i, out));
            default -> throw new IllegalArgumentException("no quantizer for " + type);
        }
        if (out.hasRemaining()) {
            throw new IllegalStateException(type + ": quantizer wrote " + out.position() + " of " + bytes + " bytes");
        }
        return MemorySegment.ofArray(out.array());
    }

    private static void forBlocks(float[] values, int bs, java.util.function.IntConsumer block) {
        for (int i = 0; i < values.length; i += bs) {
            block.accept(i);
        }
    }

    /** Float to bfloat16 bits, rounding to nearest even; NaN stays NaN. */
    static short bf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** Float to f16 bits (nearest), clamped to the finite range. */
    static short half(float v) {
        return Float.floatToFloat16(Math.max(-HALF_MAX, Math.min(HALF_MAX, v)));
    }

    /** @return the value of f16 bits */
    static float f16(short h) {
        return Float.float16ToFloat(h);
    }

    /** @return {@code round(v / d)} clamped to {@code [lo, hi]}, or 0 if {@code d} is 0 */
    static int level(float v, float d, int lo, int hi) {
        if (d == 0f) {
            return 0;
        }
        return Math.max(lo, Math.min(hi, Math.round(v / d)));
    }

    /** @return the element of {@code values[i .. i+n)} with the largest magnitude, with its sign */
    static float signedMax(float[] values, int i, int n) {
        float max = 0f;
        for (int j = i; j < i + n; j++) {
            if (Math.abs(values[j]) > Math.abs(max)) {
                max = values[j];
            }
        }
        return max;
    }

    private static void q8_0(float[] v, int i, ByteBuffer out) {
        short dh = half(Math.abs(signedMax(v, i, 32)) / 127f);
        float d = f16(dh);
        out.putShort(dh);
        for (int j = 0; j < 32; j++) {
            out.put((byte) level(v[i + j], d, -127, 127));
        }
    }

    private static void q4_0(float[] v, int i, ByteBuffer out) {
        // as ggml: the extreme maps to -8, so the 16 levels are all used
        short dh = half(signedMax(v, i, 32) / -8f + 0f); // + 0f: an all-zero block gets d = +0, not -0
        float d = f16(dh);
        out.putShort(dh);
        for (int j = 0; j < 16; j++) {
            int lo = level(v[i + j], d, -8, 7) + 8;
            int hi = level(v[i + j + 16], d, -8, 7) + 8;
            out.put((byte) (lo | hi << 4));
        }
    }

    private static void q5_0(float[] v, int i, ByteBuffer out) {
        short dh = half(signedMax(v, i, 32) / -16f + 0f);
        float d = f16(dh);
        int[] q = new int[32];
        int qh = 0;
        for (int j = 0; j < 32; j++) {
            q[j] = level(v[i + j], d, -16, 15) + 16;
            qh |= (q[j] >> 4) << j;
        }
        out.putShort(dh).putInt(qh);
        for (int j = 0; j < 16; j++) {
            out.put((byte) ((q[j] & 0xF) | (q[j + 16] & 0xF) << 4));
        }
    }

    /** Q4_1 ({@code nmax} 15) and Q5_1 ({@code nmax} 31): {@code x = d*q + m} with m the block minimum. */
    private static void qx_1(float[] v, int i, int nmax, ByteBuffer out) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = i; j < i + 32; j++) {
            min = Math.min(min, v[j]);
            max = Math.max(max, v[j]);
        }
        short dh = half((max - min) / nmax);
        short mh = half(min);
        float d = f16(dh);
        float m = f16(mh);
        int[] q = new int[32];
        int qh = 0;
        for (int j = 0; j < 32; j++) {
            q[j] = level(v[i + j] - m, d, 0, nmax);
            qh |= (q[j] >> 4) << j;
        }
        out.putShort(dh).putShort(mh);
        if (nmax == 31) {
            out.putInt(qh);
        }
        for (int j = 0; j < 16; j++) {
            out.put((byte) ((q[j] & 0xF) | (q[j + 16] & 0xF) << 4));
        }
    }

    private static void q8_K(float[] v, int i, ByteBuffer out) {
        float d = Math.abs(signedMax(v, i, 256)) / 127f;
        out.putFloat(d);
        short[] bsums = new short[16];
        for (int j = 0; j < 256; j++) {
            int q = level(v[i + j], d, -127, 127);
            out.put((byte) q);
            bsums[j / 16] += (short) q;
        }
        for (short s : bsums) {
            out.putShort(s);
        }
    }
}
