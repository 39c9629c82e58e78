package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The 12-byte packed scales of ggml's {@code Q4_K} and {@code Q5_K} blocks: eight 6-bit
 * (scale, min) pairs, one per 32-element sub-block, as in ggml's {@code get_scale_min_k4}.
 * Bytes 0..3 hold the scales of sub-blocks 0..3 in their low 6 bits, bytes 4..7 the mins of
 * sub-blocks 0..3; bytes 8..11 hold the low 4 bits of scale (low nibble) and min (high nibble) of
 * sub-blocks 4..7, whose top 2 bits sit in the top 2 bits of bytes 0..3 (scales) and 4..7 (mins).
 *
 * <p>Readers pass the 12 bytes as a little-endian {@code long} (bytes 0..7) and {@code int}
 * (bytes 8..11), so no array is needed.
 */
final class KScales {
    private KScales() {
    }

    private static int b(long lo, int hi, int k) {
        return k < 8 ? (int) (lo >>> (8 * k)) & 0xFF : (hi >>> (8 * (k - 8))) & 0xFF;
    }

    /** @return the 6-bit scale (0..63) of sub-block {@code j} (0..7) */
    static int scale(long lo, int hi, int j) {
        return j < 4 ? b(lo, hi, j) & 63 : (b(lo, hi, j + 4) & 0xF) | (b(lo, hi, j - 4) >> 6) << 4;
    }

    /** @return the 6-bit min (0..63) of sub-block {@code j} (0..7) */
    static int min(long lo, int hi, int j) {
        return j < 4 ? b(lo, hi, j + 4) & 63 : (b(lo, hi, j + 4) >> 4) | (b(lo, hi, j) >> 6) << 4;
    }

    /**
     * All eight scales at once, scale {@code j} in byte {@code j} of the result (read it with
     * {@link #at}): the byte-wise form of {@link #scale}, for the dot kernels.
     */
    static long scales(long lo, int hi) {
        int s0 = (int) lo;
        int low = s0 & 0x3F3F3F3F;
        int high = (hi & 0x0F0F0F0F) | ((s0 >>> 6) & 0x03030303) << 4;
        return (low & 0xFFFFFFFFL) | (long) high << 32;
    }

    /** All eight mins at once, min {@code j} in byte {@code j}: the byte-wise form of {@link #min}. */
    static long mins(long lo, int hi) {
        int s1 = (int) (lo >>> 32);
        int low = s1 & 0x3F3F3F3F;
        int high = ((hi >>> 4) & 0x0F0F0F0F) | ((s1 >>> 6) & 0x03030303) << 4;
        return (low & 0xFFFFFFFFL) | (long) high << 32;
    }

    /** @return byte {@code j} (0..7) of {@code packed}, unsigned */
    static int at(long packed, int j) {
        return (int) (packed >>> (8 * j)) & 0xFF;
    }

    /**
     * Packs eight scales and eight mins (each 0..63) into {@code out[at .. at + 12)}; the inverse of
     * {@link #scale} and {@link #min}.
     */
    static void pack(int[] sc, int[] m, byte[] out, int at) {
        for (int j = 0; j < 4; j++) {
            out[at + j] = (byte) ((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
            out[at + j + 4] = (byte) ((m[j] & 63) | (m[j + 4] >> 4) << 6);
            out[at + j + 8] = (byte) ((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
        }
    }

    /**
     * The min term of one K-quant super-block against 8-bit activations:
     * {@code sum_j m_j * dx_j * sum(qx in block j)} over its eight 32-element sub-blocks, where
     * block {@code xb + j} of {@code x} lines up with sub-block {@code j} and {@code mins} holds
     * {@code m_j} in byte {@code j} (see {@link #mins}). Multiply by {@code dmin} and subtract.
     */
    static float minDot(long mins, Q8Activations x, int xb) {
        float[] xd = x.d;
        float[] xs = x.sum;
        float s = 0f;
        for (int j = 0; j < 8; j++) {
            s += at(mins, j) * (xd[xb + j] * xs[xb + j]);
        }
        return s;
    }

    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Long> L2 = LongVector.SPECIES_128;
    /** Where {@link #superBlockFactors} keeps its eight min accumulators in a kernel's lane buffer. */
    static final int MINS = 16;

    /**
     * The per-super-block factors of the Q4_K and Q5_K kernels on 8-bit activations, for the
     * super-block whose header ({@code f16 d, f16 dmin, u8 scales[12]}) is at byte {@code bo} and
     * whose sub-blocks meet activation blocks {@code xb .. xb+7}: writes
     * {@code d * sc_j * dx_j} to {@code lanes[factors + j]} and adds
     * {@code dmin * m_j * (dx_j * sum qx_j)} to the accumulator {@code lanes[mins + j]} (one 8-lane
     * FMA, so each accumulator's additions come in super-block order). Callers zero
     * {@code lanes[mins .. mins+8)} first and subtract its fold at the end; single-token kernels
     * pass {@code 0, MINS}.
     */
    static void superBlockFactors(MemorySegment seg, long bo, float[] xd, float[] xs, int xb, float[] lanes, int factors,
                                  int mins) {
        long packedLo = seg.get(Le.LONG, bo + 4);
        int packedHi = seg.get(Le.INT, bo + 12);
        FloatVector dx = FloatVector.fromArray(F8, xd, xb);
        FloatVector sc = (FloatVector) LongVector.broadcast(L2, scales(packedLo, packedHi)).reinterpretAsBytes()
                .convertShape(VectorOperators.B2F, F8, 0);
        FloatVector m = (FloatVector) LongVector.broadcast(L2, mins(packedLo, packedHi)).reinterpretAsBytes()
                .convertShape(VectorOperators.B2F, F8, 0);
        sc.mul(dx.mul(Le.f16(seg, bo))).intoArray(lanes, factors);
        m.mul(dx.mul(FloatVector.fromArray(F8, xs, xb))).fma(FloatVector.broadcast(F8, Le.f16(seg, bo + 2)),
                FloatVector.fromArray(F8, lanes, mins)).intoArray(lanes, mins);
    }

    /**
     * {@link #superBlockFactors} for four tokens whose activation blocks start at {@code xb},
     * {@code xb + bs}, {@code xb + 2 bs}, {@code xb + 3 bs}: token {@code t}'s factors go to
     * {@code lanes[at + 8t ..+8)} and its min accumulators are {@code lanes[at + 32 + 8t ..+8)}.
     * The scales and mins are unpacked once; per token the arithmetic is
     * {@link #superBlockFactors}'s, so the values are the same bits.
     */
    static void superBlockFactors4(MemorySegment seg, long bo, float[] xd, float[] xs, int xb, int bs, float[] lanes, int at) {
        long packedLo = seg.get(Le.LONG, bo + 4);
        int packedHi = seg.get(Le.INT, bo + 12);
        FloatVector sc = (FloatVector) LongVector.broadcast(L2, scales(packedLo, packedHi)).reinterpretAsBytes()
                .convertShape(VectorOperators.B2F, F8, 0);
        FloatVector m = (FloatVector) LongVector.broadcast(L2, mins(packedLo, packedHi)).reinterpretAsBytes()
                .convertShape(VectorOperators.B2F, F8, 0);
        float d = Le.f16(seg, bo);
        FloatVector dmin = FloatVector.broadcast(F8, Le.f16(seg, bo + 2));
        for (int t = 0; t < 4; t++) {
            int b = xb + t * bs;
            FloatVector dx = FloatVector.fromArray(F8, xd, b);
            sc.mul(dx.mul(d)).intoArray(lanes, at + 8 * t);
            m.mul(dx.mul(FloatVector.fromArray(F8, xs, b))).fma(dmin, FloatVector.fromArray(F8, lanes, at + 32 + 8 * t))
                    .intoArray(lanes, at + 32 + 8 * t);
        }
    }
}
