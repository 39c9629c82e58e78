package dev.argon.kv;

import dev.argon.tensor.Simd;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels of {@link BlockKernels} and {@link HalfKernels} for four query heads that share one
 * key/value head (grouped-query attention, Ainslie et al. 2023): each stored row is loaded and
 * widened once and multiplied with all four queries (or accumulated with all four heads'
 * weights), instead of once per query head. Query {@code i} is at {@code q[qo + i * qs ..]}, its
 * scores go to {@code out[oo + i * os + p]}; weights of head {@code i} are at
 * {@code w[wo + i * ws + p]}, its output at {@code out[oo + i * os ..]}. Per head the same
 * arithmetic as the one-query kernels, in the same order, so the results are bit-identical to
 * four calls of those (checked by {@code BlockKernelsTest}).
 */
final class GroupKernels {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();
    private static final int BU = Math.max(L, 8);
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * BU));
    private static final int PARTS = BU / L;
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private GroupKernels() {
    }

    /** Four queries against {@code count} Q8_0 rows (see {@link BlockKernels#dotsQ8}). */
    static void dotsQ8(float[] q, int qo, int qs, int n, int block, byte[] codes, int co, int codeStride,
                       short[] scales, int so, int scaleStride, int count, float[] out, int oo, int os) {
        int nb = n / block;
        for (int p = 0; p < count; p++) {
            int c0 = co + p * codeStride;
            int s0 = so + p * scaleStride;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            for (int b = 0; b < nb; b++) {
                FloatVector k0 = FloatVector.zero(F);
                FloatVector k1 = FloatVector.zero(F);
                FloatVector k2 = FloatVector.zero(F);
                FloatVector k3 = FloatVector.zero(F);
                int base = b * block;
                for (int u = 0; u < block; u += BU) {
                    ByteVector x = ByteVector.fromArray(BS, codes, c0 + base + u);
                    FloatVector f = (FloatVector) x.convertShape(VectorOperators.B2F, F, 0);
                    int at = qo + base + u;
                    k0 = f.fma(FloatVector.fromArray(F, q, at), k0);
                    k1 = f.fma(FloatVector.fromArray(F, q, at + qs), k1);
                    k2 = f.fma(FloatVector.fromArray(F, q, at + 2 * qs), k2);
                    k3 = f.fma(FloatVector.fromArray(F, q, at + 3 * qs), k3);
                    if (PARTS == 2) {
                        FloatVector g = (FloatVector) x.convertShape(VectorOperators.B2F, F, 1);
                        k0 = g.fma(FloatVector.fromArray(F, q, at + L), k0);
                        k1 = g.fma(FloatVector.fromArray(F, q, at + qs + L), k1);
                        k2 = g.fma(FloatVector.fromArray(F, q, at + 2 * qs + L), k2);
                        k3 = g.fma(FloatVector.fromArray(F, q, at + 3 * qs + L), k3);
                    }
                }
                FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(scales[s0 + b]));
                a0 = k0.fma(d, a0);
                a1 = k1.fma(d, a1);
                a2 = k2.fma(d, a2);
                a3 = k3.fma(d, a3);
            }
            out[oo + p] = Simd.sum(a0);
            out[oo + os + p] = Simd.sum(a1);
            out[oo + 2 * os + p] = Simd.sum(a2);
            out[oo + 3 * os + p] = Simd.sum(a3);
        }
    }

    /**
     * Four queries against {@code count} Q4_0 or Q4_1 rows (see {@link BlockKernels#dotsQ4});
     * {@code qp} holds the four queries permuted to the nibble order, {@code n} apart, followed by
     * their per-block sums ({@code 4 * nb} floats, used for q4_1's minimum).
     */
    static void dotsQ4(float[] qp, int n, int block, byte[] codes, int co, int codeStride,
                       short[] scales, short[] mins, int so, int scaleStride, int count, float[] out, int oo, int os) {
        int nb = n / block;
        int half = block / 2;
        byte zero = mins == null ? (byte) 8 : 0;
        int sums = 4 * n;
        for (int p = 0; p < count; p++) {
            int c0 = co + p * codeStride;
            int s0 = so + p * scaleStride;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            float m0 = 0f;
            float m1 = 0f;
            float m2 = 0f;
            float m3 = 0f;
            for (int b = 0; b < nb; b++) {
                FloatVector k0 = FloatVector.zero(F);
                FloatVector k1 = FloatVector.zero(F);
                FloatVector k2 = FloatVector.zero(F);
                FloatVector k3 = FloatVector.zero(F);
                int cb = b * half;
                int qb = b * block;
                for (int u = 0; u < half; u += BU) {
                    ByteVector x = ByteVector.fromArray(BS, codes, c0 + cb + u);
                    ByteVector lo = x.and((byte) 0x0F).sub(zero);
                    ByteVector hi = x.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub(zero);
                    FloatVector fl = (FloatVector) lo.convertShape(VectorOperators.B2F, F, 0);
                    FloatVector fh = (FloatVector) hi.convertShape(VectorOperators.B2F, F, 0);
                    int e = qb + u;
                    int o = qb + half + u;
                    k0 = fl.fma(FloatVector.fromArray(F, qp, e), k0);
                    k1 = fl.fma(FloatVector.fromArray(F, qp, e + n), k1);
                    k2 = fl.fma(FloatVector.fromArray(F, qp, e + 2 * n), k2);
                    k3 = fl.fma(FloatVector.fromArray(F, qp, e + 3 * n), k3);
                    k0 = fh.fma(FloatVector.fromArray(F, qp, o), k0);
                    k1 = fh.fma(FloatVector.fromArray(F, qp, o + n), k1);
                    k2 = fh.fma(FloatVector.fromArray(F, qp, o + 2 * n), k2);
                    k3 = fh.fma(FloatVector.fromArray(F, qp, o + 3 * n), k3);
                    if (PARTS == 2) {
                        FloatVector gl = (FloatVector) lo.convertShape(VectorOperators.B2F, F, 1);
                        FloatVector gh = (FloatVector) hi.convertShape(VectorOperators.B2F, F, 1);
                        k0 = gl.fma(FloatVector.fromArray(F, qp, e + L), k0);
                        k1 = gl.fma(FloatVector.fromArray(F, qp, e + n + L), k1);
                        k2 = gl.fma(FloatVector.fromArray(F, qp, e + 2 * n + L), k2);
                        k3 = gl.fma(FloatVector.fromArray(F, qp, e + 3 * n + L), k3);
                        k0 = gh.fma(FloatVector.fromArray(F, qp, o + L), k0);
                        k1 = gh.fma(FloatVector.fromArray(F, qp, o + n + L), k1);
                        k2 = gh.fma(FloatVector.fromArray(F, qp, o + 2 * n + L), k2);
                        k3 = gh.fma(FloatVector.fromArray(F, qp, o + 3 * n + L), k3);
                    }
                }
                FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(scales[s0 + b]));
                a0 = k0.fma(d, a0);
                a1 = k1.fma(d, a1);
                a2 = k2.fma(d, a2);
                a3 = k3.fma(d, a3);
                if (mins != null) {
                    float m = Float.float16ToFloat(mins[s0 + b]);
                    m0 += m * qp[sums + b];
                    m1 += m * qp[sums + nb + b];
                    m2 += m * qp[sums + 2 * nb + b];
                    m3 += m * qp[sums + 3 * nb + b];
                }
            }
            out[oo + p] = Simd.sum(a0) + m0;
            out[oo + os + p] = Simd.sum(a1) + m1;
            out[oo + 2 * os + p] = Simd.sum(a2) + m2;
            out[oo + 3 * os + p] = Simd.sum(a3) + m3;
        }
    }

    /** Four queries against {@code count} two-byte rows (see {@link HalfKernels#dots}). */
    static void dotsHalf(boolean bf16, float[] q, int qo, int qs, int n, short[] data, int at, int stride, int count,
                         float[] out, int oo, int os) {
        for (int p = 0; p < count; p++) {
            int r0 = at + p * stride;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            for (int j = 0; j < n; j += L) {
                IntVector v = (IntVector) ShortVector.fromArray(SH, data, r0 + j).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector k = bf16 ? v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        : v.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                        .reinterpretAsFloats().mul(0x1p112f);
                int e = qo + j;
                a0 = k.fma(FloatVector.fromArray(F, q, e), a0);
                a1 = k.fma(FloatVector.fromArray(F, q, e + qs), a1);
                a2 = k.fma(FloatVector.fromArray(F, q, e + 2 * qs), a2);
                a3 = k.fma(FloatVector.fromArray(F, q, e + 3 * qs), a3);
            }
            out[oo + p] = Simd.sum(a0);
            out[oo + os + p] = Simd.sum(a1);
            out[oo + 2 * os + p] = Simd.sum(a2);
            out[oo + 3 * os + p] = Simd.sum(a3);
        }
    }

    /** Whether {@link #sumQ8} runs at this width (one float vector per unit of codes: 8 or 16 lanes). */
    static boolean sumQ8Supported() {
        return PARTS == 1;
    }

    /**
     * Weighted sums of {@code count} Q8_0 rows for four heads (see {@link BlockKernels#sumQ8}):
     * {@code ws} holds each head's row weights times block scales ({@code count * nb} apart, from
     * {@link BlockKernels#weightedScalesFour}); head {@code i}'s output goes to
     * {@code out[oo + i * os .. + n)} (overwritten). A vector of outputs per head at a time.
     */
    static void sumQ8(float[] ws, int n, int block, byte[] codes, int co, int codeStride, int count, float[] out, int oo, int os) {
        int nb = n / block;
        int h = count * nb;
        for (int j = 0; j < n; j += L) {
            int bi = j / block;
            FloatVector y0 = FloatVector.zero(F);
            FloatVector y1 = FloatVector.zero(F);
            FloatVector y2 = FloatVector.zero(F);
            FloatVector y3 = FloatVector.zero(F);
            for (int p = 0, c = co + j, s = bi; p < count; p++, c += codeStride, s += nb) {
                FloatVector x = (FloatVector) ByteVector.fromArray(BS, codes, c).convertShape(VectorOperators.B2F, F, 0);
                y0 = x.fma(FloatVector.broadcast(F, ws[s]), y0);
                y1 = x.fma(FloatVector.broadcast(F, ws[h + s]), y1);
                y2 = x.fma(FloatVector.broadcast(F, ws[2 * h + s]), y2);
                y3 = x.fma(FloatVector.broadcast(F, ws[3 * h + s]), y3);
            }
            y0.intoArray(out, oo + j);
            y1.intoArray(out, oo + os + j);
            y2.intoArray(out, oo + 2 * os + j);
            y3.intoArray(out, oo + 3 * os + j);
        }
    }

    /** Weighted sums of {@code count} two-byte rows for four heads (see {@link HalfKernels#weightedSum}). */
    static void sumHalf(boolean bf16, float[] w, int wo, int wsStride, int n, short[] data, int at, int stride, int count,
                        float[] out, int oo, int os) {
        sumHalf(bf16, w, wo, wsStride, n, data, at, stride, count, out, oo, os, false);
    }

    /** {@link #sumHalf}, continuing from {@code out}'s values with {@code accumulate} (see {@link HalfKernels#weightedSum}). */
    static void sumHalf(boolean bf16, float[] w, int wo, int wsStride, int n, short[] data, int at, int stride, int count,
                        float[] out, int oo, int os, boolean accumulate) {
        for (int j = 0; j < n; j += L) {
            FloatVector y0 = accumulate ? FloatVector.fromArray(F, out, oo + j) : FloatVector.zero(F);
            FloatVector y1 = accumulate ? FloatVector.fromArray(F, out, oo + os + j) : FloatVector.zero(F);
            FloatVector y2 = accumulate ? FloatVector.fromArray(F, out, oo + 2 * os + j) : FloatVector.zero(F);
            FloatVector y3 = accumulate ? FloatVector.fromArray(F, out, oo + 3 * os + j) : FloatVector.zero(F);
            for (int p = 0, r = at + j; p < count; p++, r += stride) {
                IntVector v = (IntVector) ShortVector.fromArray(SH, data, r).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                FloatVector x = bf16 ? v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        : v.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(v.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                        .reinterpretAsFloats().mul(0x1p112f);
                int e = wo + p;
                y0 = x.fma(FloatVector.broadcast(F, w[e]), y0);
                y1 = x.fma(FloatVector.broadcast(F, w[e + wsStride]), y1);
                y2 = x.fma(FloatVector.broadcast(F, w[e + 2 * wsStride]), y2);
                y3 = x.fma(FloatVector.broadcast(F, w[e + 3 * wsStride]), y3);
            }
            y0.intoArray(out, oo + j);
            y1.intoArray(out, oo + os + j);
            y2.intoArray(out, oo + 2 * os + j);
            y3.intoArray(out, oo + 3 * os + j);
        }
    }
}
