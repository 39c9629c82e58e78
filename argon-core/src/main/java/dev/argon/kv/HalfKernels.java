package dev.argon.kv;

import dev.argon.tensor.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention kernels on two-byte rows ({@link KvRows.HalfRows}: IEEE half or bfloat16) that widen
 * the stored halves to floats in registers instead of decoding the rows into a buffer first: the
 * scores {@code q · k_p} of one query against a run of key rows and the weighted sum
 * {@code sum_p w_p v_p} of a run of value rows.
 *
 * <p>Widening is exact: a bfloat16 is the upper half of a float; a finite IEEE half's sign,
 * exponent and mantissa bits moved to a float's positions (exponent bias 15 read as 127) and
 * multiplied by 2<sup>112</sup> give its value, subnormal halves included. Rows holding an
 * infinite or NaN half are not read this way (the caller checks, see {@code HalfRows}). Rows are
 * addressed as {@code data[at + p * stride ..]}. Results equal decode-then-dot up to the order of
 * float additions ({@code BlockKernelsTest}). Runs at 4, 8 and 16 float lanes; heads whose size is
 * not a multiple of the lane count are left to the float kernels ({@link #supports}).
 */
final class HalfKernels {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();
    private static final boolean ENABLED = Simd.vectorBits() != 0 && (L == 4 || L == 8 || L == 16);
    /** {@link #L} halves. */
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L));
    /** {@link #L} ints. */
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private HalfKernels() {
    }

    /** @return whether a head of {@code n} values can be read by these kernels at this vector width */
    static boolean supports(int n) {
        return ENABLED && n % L == 0;
    }

    /**
     * Scores of one query against {@code count} rows: {@code out[oo + p] = sum_j q[qo + j] *
     * half(data[at + p * stride + j])}, two rows at a time.
     */
    static void dots(boolean bf16, float[] q, int qo, int n, short[] data, int at, int stride, int count, float[] out, int oo) {
        int p = 0;
        for (; p + 2 <= count; p += 2) {
            int r0 = at + p * stride;
            int r1 = r0 + stride;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            for (int j = 0; j < n; j += L) {
                IntVector v0 = (IntVector) ShortVector.fromArray(SH, data, r0 + j).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                IntVector v1 = (IntVector) ShortVector.fromArray(SH, data, r1 + j).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector k0;
                FloatVector k1;
                if (bf16) {
                    k0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    k1 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                } else {
                    k0 = v0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v0.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                            .reinterpretAsFloats().mul(0x1p112f);
                    k1 = v1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v1.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                            .reinterpretAsFloats().mul(0x1p112f);
                }
                FloatVector qv = FloatVector.fromArray(F, q, qo + j);
                a0 = k0.fma(qv, a0);
                a1 = k1.fma(qv, a1);
            }
            out[oo + p] = Simd.sum(a0);
            out[oo + p + 1] = Simd.sum(a1);
        }
        for (; p < count; p++) {
            int r0 = at + p * stride;
            FloatVector a0 = FloatVector.zero(F);
            for (int j = 0; j < n; j += L) {
                IntVector v0 = (IntVector) ShortVector.fromArray(SH, data, r0 + j).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector k0 = bf16 ? v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        : v0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v0.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                        .reinterpretAsFloats().mul(0x1p112f);
                a0 = k0.fma(FloatVector.fromArray(F, q, qo + j), a0);
            }
            out[oo + p] = Simd.sum(a0);
        }
    }

    /**
     * Weighted sum of {@code count} rows, overwriting {@code out[oo .. oo+n)}: {@code out[oo + j] =
     * sum_p w[wo + p] * half(data[at + p * stride + j])}, two vectors of outputs kept in registers
     * over all rows.
     */
    static void weightedSum(boolean bf16, float[] w, int wo, int n, short[] data, int at, int stride, int count, float[] out, int oo) {
        weightedSum(bf16, w, wo, n, data, at, stride, count, out, oo, false);
    }

    /**
     * {@link #weightedSum(boolean, float[], int, int, short[], int, int, int, float[], int)}, or with
     * {@code accumulate} the chains continue from {@code out}'s values instead of zero: rows summed
     * in several calls, in order, give the bits of one call over all of them (a paged cache's blocks).
     */
    static void weightedSum(boolean bf16, float[] w, int wo, int n, short[] data, int at, int stride, int count, float[] out, int oo,
                            boolean accumulate) {
        int j = 0;
        for (; j + 2 * L <= n; j += 2 * L) {
            FloatVector y0 = accumulate ? FloatVector.fromArray(F, out, oo + j) : FloatVector.zero(F);
            FloatVector y1 = accumulate ? FloatVector.fromArray(F, out, oo + j + L) : FloatVector.zero(F);
            for (int p = 0, r = at + j; p < count; p++, r += stride) {
                IntVector v0 = (IntVector) ShortVector.fromArray(SH, data, r).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                IntVector v1 = (IntVector) ShortVector.fromArray(SH, data, r + L).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector x0;
                FloatVector x1;
                if (bf16) {
                    x0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    x1 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                } else {
                    x0 = v0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v0.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                            .reinterpretAsFloats().mul(0x1p112f);
                    x1 = v1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v1.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                            .reinterpretAsFloats().mul(0x1p112f);
                }
                FloatVector wp = FloatVector.broadcast(F, w[wo + p]);
                y0 = x0.fma(wp, y0);
                y1 = x1.fma(wp, y1);
            }
            y0.intoArray(out, oo + j);
            y1.intoArray(out, oo + j + L);
        }
        for (; j < n; j += L) {
            FloatVector y0 = accumulate ? FloatVector.fromArray(F, out, oo + j) : FloatVector.zero(F);
            for (int p = 0, r = at + j; p < count; p++, r += stride) {
                IntVector v0 = (IntVector) ShortVector.fromArray(SH, data, r).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector x0 = bf16 ? v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        : v0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v0.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                        .reinterpretAsFloats().mul(0x1p112f);
                y0 = x0.fma(FloatVector.broadcast(F, w[wo + p]), y0);
            }
            y0.intoArray(out, oo + j);
        }
    }
    /**
     * Whether a head of {@code n} values is shorter than a float vector (4-wide heads at 8 lanes):
     * {@link dev.argon.tensor.Ops#dots} and {@link dev.argon.tensor.Ops#weightedSum} then take their
     * scalar branch, which {@link #shortDots} and {@link #shortWeightedSum} reproduce on the stored
     * halves (any value, infinite and NaN included).
     */
    static boolean shortRows(int n) {
        return n < L;
    }

    /** @return the float a stored half (IEEE half or bfloat16) decodes to, exactly as {@code HalfRows.read} decodes it */
    private static float half(boolean bf16, short h) {
        return bf16 ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h);
    }

    /**
     * {@link #dots} for heads shorter than a vector ({@link #shortRows}): the bits of decoding the
     * rows and calling {@link dev.argon.tensor.Ops#dots} (each score a sum over {@code j} in order,
     * from 0), without the decoded copy. Four rows at a time, as Ops does.
     */
    static void shortDots(boolean bf16, float[] q, int qo, int n, short[] data, int at, int stride, int count, float[] out, int oo) {
        int p = 0;
        for (; p + 4 <= count; p += 4) {
            int r0 = at + p * stride;
            int r1 = r0 + stride;
            int r2 = r1 + stride;
            int r3 = r2 + stride;
            float s0 = 0f;
            float s1 = 0f;
            float s2 = 0f;
            float s3 = 0f;
            for (int j = 0; j < n; j++) {
                float qj = q[qo + j];
                s0 += qj * half(bf16, data[r0 + j]);
                s1 += qj * half(bf16, data[r1 + j]);
                s2 += qj * half(bf16, data[r2 + j]);
                s3 += qj * half(bf16, data[r3 + j]);
            }
            out[oo + p] = s0;
            out[oo + p + 1] = s1;
            out[oo + p + 2] = s2;
            out[oo + p + 3] = s3;
        }
        for (; p < count; p++) {
            int r = at + p * stride;
            float s = 0f;
            for (int j = 0; j < n; j++) {
                s += q[qo + j] * half(bf16, data[r + j]);
            }
            out[oo + p] = s;
        }
    }

    /**
     * {@link #weightedSum} for heads shorter than a vector ({@link #shortRows}): the bits of decoding
     * the rows and calling {@link dev.argon.tensor.Ops#weightedSum} (each output a sum over the rows
     * in order, from 0; overwritten), without the decoded copy.
     */
    static void shortWeightedSum(boolean bf16, float[] w, int wo, int n, short[] data, int at, int stride, int count, float[] out,
                                 int oo) {
        int d = 0;
        for (; d + 4 <= n; d += 4) {
            float a0 = 0f;
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            for (int p = 0, r = at + d; p < count; p++, r += stride) {
                float wp = w[wo + p];
                a0 += wp * half(bf16, data[r]);
                a1 += wp * half(bf16, data[r + 1]);
                a2 += wp * half(bf16, data[r + 2]);
                a3 += wp * half(bf16, data[r + 3]);
            }
            out[oo + d] = a0;
            out[oo + d + 1] = a1;
            out[oo + d + 2] = a2;
            out[oo + d + 3] = a3;
        }
        for (; d < n; d++) {
            float a = 0f;
            for (int p = 0, r = at + d; p < count; p++, r += stride) {
                a += w[wo + p] * half(bf16, data[r]);
            }
            out[oo + d] = a;
        }
    }
}
