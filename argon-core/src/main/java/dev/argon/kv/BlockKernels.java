package dev.argon.kv;

import dev.argon.tensor.Simd;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention kernels that read block-quantized rows ({@link BlockRows}, ggml's {@code q8_0} and
 * {@code q4_0} encodings) directly, without decoding them to floats first: the scores
 * {@code q · k_p} of one query against a run of key rows, and the weighted sum
 * {@code sum_p w_p v_p} of a run of value rows. Each block's codes are widened to float vectors
 * and multiplied with the query (or accumulated with the row's weight times the block scale) in
 * registers; the scale is applied once per block (keys) or folded into the row's weight (values).
 *
 * <p>Rows are addressed as {@code codes[co + p * codeStride ..]} (the head's first code byte of
 * row {@code p}) and {@code scales[so + p * scaleStride ..]} (its first block scale, F16 bits),
 * so any run of rows stored at a fixed stride (a whole cache, or one page of a paged pool) can
 * be read.
 *
 * <p>4-bit codes are packed two to a byte, value {@code 2i} in the low nibble and {@code 2i+1}
 * in the high nibble of byte {@code i} of the block: a byte vector's low nibbles are a block's
 * even values and its high nibbles the odd ones. The query is therefore permuted once per call
 * (per block: even values, then odd ones), and the weighted sum is accumulated in that order and
 * permuted back at the end.
 *
 * <p>Vector width: units of {@link #BU} code bytes ({@code max(L, 8)} for {@code L} float lanes)
 * widen to {@link #PARTS} float vectors; the kernels run at 4, 8 and 16 lanes
 * ({@code -Dargon.simd=128|256|512}). {@link #supports} says whether a head of a given block size
 * can be read this way; otherwise callers decode the rows and use the float kernels. Results equal
 * decode-then-dot up to float rounding (the order of additions differs): {@code BlockKernelsTest}
 * checks 1e-5 relative to {@code sum |q_i k_i|} (keys) and {@code sum |w_p v_pi|} (values).
 */
final class BlockKernels {
    private static final VectorSpecies<Float> F = Simd.F;
    /** Float lanes. */
    private static final int L = F.length();
    /** Whether the vector kernels may run at all (4, 8 or 16 lanes, vectors not switched off). */
    private static final boolean ENABLED = Simd.vectorBits() != 0 && (L == 4 || L == 8 || L == 16);
    /** Code bytes per unit. */
    private static final int BU = Math.max(L, 8);
    /** Byte species of one unit. */
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * BU));
    /** Float vectors per unit of 8-bit codes (2 at 4 lanes, else 1). */
    private static final int PARTS = BU / L;

    private BlockKernels() {
    }

    /**
     * @return whether a head of {@code n} values in blocks of {@code block} can be read by these
     *     kernels at this vector width (8-bit: blocks of at least one unit; 4-bit: blocks of at
     *     least two units)
     */
    static boolean supports(BlockRows.Kind kind, int block, int n) {
        if (!ENABLED || n % block != 0) {
            return false;
        }
        return switch (kind) {
            case Q8_0 -> block % BU == 0;
            case Q4_0, Q4_1 -> (block / 2) % BU == 0;
        };
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][]{new float[0], new float[0]});

    /** @return this thread's scratch {@code i} (0 or 1) of at least {@code n} floats (contents undefined) */
    private static float[] scratch(int i, int n) {
        float[][] h = SCRATCH.get();
        if (h[i].length < n) {
            h[i] = new float[Math.max(n, 2 * h[i].length)];
        }
        return h[i];
    }

    /**
     * Scores of one query against {@code count} Q8_0 rows: {@code out[oo + p] = sum_b d_pb *
     * sum_i q[qo + b*block + i] * c_pbi}, rows two at a time (two independent add chains).
     *
     * @param n values per head (a multiple of {@code block}, see {@link #supports})
     */
    static void dotsQ8(float[] q, int qo, int n, int block, byte[] codes, int co, int codeStride,
                       short[] scales, int so, int scaleStride, int count, float[] out, int oo) {
        int nb = n / block;
        int p = 0;
        for (; p + 2 <= count; p += 2) {
            int c0 = co + p * codeStride;
            int c1 = c0 + codeStride;
            int s0 = so + p * scaleStride;
            int s1 = s0 + scaleStride;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            for (int b = 0; b < nb; b++) {
                FloatVector k0 = FloatVector.zero(F);
                FloatVector k1 = FloatVector.zero(F);
                int base = b * block;
                for (int u = 0; u < block; u += BU) {
                    ByteVector x0 = ByteVector.fromArray(BS, codes, c0 + base + u);
                    ByteVector x1 = ByteVector.fromArray(BS, codes, c1 + base + u);
                    FloatVector qv = FloatVector.fromArray(F, q, qo + base + u);
                    k0 = ((FloatVector) x0.convertShape(VectorOperators.B2F, F, 0)).fma(qv, k0);
                    k1 = ((FloatVector) x1.convertShape(VectorOperators.B2F, F, 0)).fma(qv, k1);
                    if (PARTS == 2) {
                        FloatVector qw = FloatVector.fromArray(F, q, qo + base + u + L);
                        k0 = ((FloatVector) x0.convertShape(VectorOperators.B2F, F, 1)).fma(qw, k0);
                        k1 = ((FloatVector) x1.convertShape(VectorOperators.B2F, F, 1)).fma(qw, k1);
                    }
                }
                a0 = k0.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[s0 + b])), a0);
                a1 = k1.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[s1 + b])), a1);
            }
            out[oo + p] = Simd.sum(a0);
            out[oo + p + 1] = Simd.sum(a1);
        }
        for (; p < count; p++) {
            int c0 = co + p * codeStride;
            int s0 = so + p * scaleStride;
            FloatVector a0 = FloatVector.zero(F);
            for (int b = 0; b < nb; b++) {
                FloatVector k0 = FloatVector.zero(F);
                int base = b * block;
                for (int u = 0; u < block; u += BU) {
                    ByteVector x0 = ByteVector.fromArray(BS, codes, c0 + base + u);
                    k0 = ((FloatVector) x0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, q, qo + base + u), k0);
                    if (PARTS == 2) {
                        k0 = ((FloatVector) x0.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, q, qo + base + u + L), k0);
                    }
                }
                a0 = k0.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[s0 + b])), a0);
            }
            out[oo + p] = Simd.sum(a0);
        }
    }

    /**
     * Weighted sum of {@code count} Q8_0 rows: {@code out[oo + i] = sum_p w[wo + p] * d_pb * c_pi}
     * for {@code i < n} (overwritten, not added to), four vectors of outputs kept in registers
     * over all rows (or two, when {@code n} is not a multiple of four vectors).
     */
    static void sumQ8(float[] w, int wo, int n, int block, byte[] codes, int co, int codeStride,
                      short[] scales, int so, int scaleStride, int count, float[] out, int oo) {
        int nb = n / block;
        float[] ws = weightedScales(w, wo, scales, so, scaleStride, count, nb);
        int vpb = block / L; // float vectors per block (1 or more)
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            int bi = i / block;
            // block of vector j of this chunk: bi + j / vpb
            int j1 = 1 / vpb;
            int j2 = 2 / vpb;
            int j3 = 3 / vpb;
            FloatVector y0 = FloatVector.zero(F);
            FloatVector y1 = FloatVector.zero(F);
            FloatVector y2 = FloatVector.zero(F);
            FloatVector y3 = FloatVector.zero(F);
            for (int p = 0, c = co + i, s = bi; p < count; p++, c += codeStride, s += nb) {
                FloatVector x0;
                FloatVector x1;
                FloatVector x2;
                FloatVector x3;
                if (PARTS == 2) {
                    ByteVector b0 = ByteVector.fromArray(BS, codes, c);
                    ByteVector b1 = ByteVector.fromArray(BS, codes, c + BU);
                    x0 = (FloatVector) b0.convertShape(VectorOperators.B2F, F, 0);
                    x1 = (FloatVector) b0.convertShape(VectorOperators.B2F, F, 1);
                    x2 = (FloatVector) b1.convertShape(VectorOperators.B2F, F, 0);
                    x3 = (FloatVector) b1.convertShape(VectorOperators.B2F, F, 1);
                } else {
                    x0 = (FloatVector) ByteVector.fromArray(BS, codes, c).convertShape(VectorOperators.B2F, F, 0);
                    x1 = (FloatVector) ByteVector.fromArray(BS, codes, c + L).convertShape(VectorOperators.B2F, F, 0);
                    x2 = (FloatVector) ByteVector.fromArray(BS, codes, c + 2 * L).convertShape(VectorOperators.B2F, F, 0);
                    x3 = (FloatVector) ByteVector.fromArray(BS, codes, c + 3 * L).convertShape(VectorOperators.B2F, F, 0);
                }
                y0 = x0.fma(FloatVector.broadcast(F, ws[s]), y0);
                y1 = x1.fma(FloatVector.broadcast(F, ws[s + j1]), y1);
                y2 = x2.fma(FloatVector.broadcast(F, ws[s + j2]), y2);
                y3 = x3.fma(FloatVector.broadcast(F, ws[s + j3]), y3);
            }
            y0.intoArray(out, oo + i);
            y1.intoArray(out, oo + i + L);
            y2.intoArray(out, oo + i + 2 * L);
            y3.intoArray(out, oo + i + 3 * L);
        }
        for (; i < n; i += BU) { // the rest, a unit at a time (n is a multiple of the block, the block of the unit)
            int bi = i / block;
            FloatVector y0 = FloatVector.zero(F);
            FloatVector y1 = FloatVector.zero(F);
            for (int p = 0, c = co + i, s = bi; p < count; p++, c += codeStride, s += nb) {
                ByteVector b0 = ByteVector.fromArray(BS, codes, c);
                y0 = ((FloatVector) b0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.broadcast(F, ws[s]), y0);
                if (PARTS == 2) {
                    y1 = ((FloatVector) b0.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.broadcast(F, ws[s]), y1);
                }
            }
            y0.intoArray(out, oo + i);
            if (PARTS == 2) {
                y1.intoArray(out, oo + i + L);
            }
        }
    }

    /**
     * Scores of one query against {@code count} Q4_0 rows ({@code d * (code - 8)}): the query is
     * permuted to the nibble order once, then each unit of code bytes gives its low nibbles (even
     * values) and high nibbles (odd values) as float vectors.
     */
    static void dotsQ4(float[] q, int qo, int n, int block, byte[] codes, int co, int codeStride,
                       short[] scales, short[] mins, int so, int scaleStride, int count, float[] out, int oo) {
        int nb = n / block;
        int half = block / 2;
        float[] qp = scratch(0, n + nb);
        permute(q, qo, n, block, qp);
        byte zero = mins == null ? (byte) 8 : 0; // the code of value 0: q4_0 codes are offset by 8, q4_1's are not
        if (mins != null) { // q4_1: sum_b m_pb * (sum of the query's block b), the minimum's part of each score
            for (int b = 0; b < nb; b++) {
                float t = 0f;
                for (int i = 0; i < block; i++) {
                    t += qp[b * block + i];
                }
                qp[n + b] = t;
            }
        }
        int p = 0;
        for (; p + 2 <= count; p += 2) {
            int c0 = co + p * codeStride;
            int c1 = c0 + codeStride;
            int s0 = so + p * scaleStride;
            int s1 = s0 + scaleStride;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            float m0 = 0f;
            float m1 = 0f;
            for (int b = 0; b < nb; b++) {
                FloatVector k0 = FloatVector.zero(F);
                FloatVector k1 = FloatVector.zero(F);
                int cb = b * half;
                int qb = b * block;
                for (int u = 0; u < half; u += BU) {
                    ByteVector x0 = ByteVector.fromArray(BS, codes, c0 + cb + u);
                    ByteVector x1 = ByteVector.fromArray(BS, codes, c1 + cb + u);
                    ByteVector lo0 = x0.and((byte) 0x0F).sub(zero);
                    ByteVector hi0 = x0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub(zero);
                    ByteVector lo1 = x1.and((byte) 0x0F).sub(zero);
                    ByteVector hi1 = x1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub(zero);
                    FloatVector qe = FloatVector.fromArray(F, qp, qb + u);
                    FloatVector qo2 = FloatVector.fromArray(F, qp, qb + half + u);
                    k0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 0)).fma(qe, k0);
                    k1 = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F, 0)).fma(qe, k1);
                    k0 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 0)).fma(qo2, k0);
                    k1 = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F, 0)).fma(qo2, k1);
                    if (PARTS == 2) {
                        FloatVector qe2 = FloatVector.fromArray(F, qp, qb + u + L);
                        FloatVector qo3 = FloatVector.fromArray(F, qp, qb + half + u + L);
                        k0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 1)).fma(qe2, k0);
                        k1 = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F, 1)).fma(qe2, k1);
                        k0 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 1)).fma(qo3, k0);
                        k1 = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F, 1)).fma(qo3, k1);
                    }
                }
                a0 = k0.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[s0 + b])), a0);
                a1 = k1.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[s1 + b])), a1);
                if (mins != null) {
                    m0 += Float.float16ToFloat(mins[s0 + b]) * qp[n + b];
                    m1 += Float.float16ToFloat(mins[s1 + b]) * qp[n + b];
                }
            }
            out[oo + p] = Simd.sum(a0) + m0;
            out[oo + p + 1] = Simd.sum(a1) + m1;
        }
        for (; p < count; p++) {
            int c0 = co + p * codeStride;
            int s0 = so + p * scaleStride;
            FloatVector a0 = FloatVector.zero(F);
            float m0 = 0f;
            for (int b = 0; b < nb; b++) {
                FloatVector k0 = FloatVector.zero(F);
                int cb = b * half;
                int qb = b * block;
                for (int u = 0; u < half; u += BU) {
                    ByteVector x0 = ByteVector.fromArray(BS, codes, c0 + cb + u);
                    ByteVector lo0 = x0.and((byte) 0x0F).sub(zero);
                    ByteVector hi0 = x0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub(zero);
                    k0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, qp, qb + u), k0);
                    k0 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, qp, qb + half + u), k0);
                    if (PARTS == 2) {
                        k0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, qp, qb + u + L), k0);
                        k0 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, qp, qb + half + u + L), k0);
                    }
                }
                a0 = k0.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[s0 + b])), a0);
                if (mins != null) {
                    m0 += Float.float16ToFloat(mins[s0 + b]) * qp[n + b];
                }
            }
            out[oo + p] = Simd.sum(a0) + m0;
        }
    }

    /**
     * Weighted sum of {@code count} Q4_0 rows ({@code d * (code - 8)}), overwriting
     * {@code out[oo .. oo+n)}: accumulated in the nibble order, a unit (its low and high nibbles)
     * or two at a time, then permuted back.
     */
    static void sumQ4(float[] w, int wo, int n, int block, byte[] codes, int co, int codeStride,
                      short[] scales, short[] mins, int so, int scaleStride, int count, float[] out, int oo) {
        byte zero = mins == null ? (byte) 8 : 0;
        int nb = n / block;
        int half = block / 2;
        float[] ws = weightedScales(w, wo, scales, so, scaleStride, count, nb);
        float[] acc = scratch(0, n); // nibble order
        int bytes = n / 2;
        int ub = 0;
        if (PARTS == 1) {
            for (; ub + 2 * BU <= bytes; ub += 2 * BU) { // two units: four vectors
                int bA = ub / half;
                int bB = (ub + BU) / half;
                FloatVector y0 = FloatVector.zero(F);
                FloatVector y1 = FloatVector.zero(F);
                FloatVector y2 = FloatVector.zero(F);
                FloatVector y3 = FloatVector.zero(F);
                for (int p = 0, c = co + ub, s = 0; p < count; p++, c += codeStride, s += nb) {
                    ByteVector x0 = ByteVector.fromArray(BS, codes, c);
                    ByteVector x1 = ByteVector.fromArray(BS, codes, c + BU);
                    ByteVector lo0 = x0.and((byte) 0x0F).sub(zero);
                    ByteVector hi0 = x0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub(zero);
                    ByteVector lo1 = x1.and((byte) 0x0F).sub(zero);
                    ByteVector hi1 = x1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub(zero);
                    float wa = ws[s + bA];
                    float wb = ws[s + bB];
                    y0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.broadcast(F, wa), y0);
                    y1 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.broadcast(F, wa), y1);
                    y2 = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.broadcast(F, wb), y2);
                    y3 = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.broadcast(F, wb), y3);
                }
                int uA = ub % half;
                int uB = (ub + BU) % half;
                y0.intoArray(acc, bA * block + uA);
                y1.intoArray(acc, bA * block + half + uA);
                y2.intoArray(acc, bB * block + uB);
                y3.intoArray(acc, bB * block + half + uB);
            }
        }
        for (; ub < bytes; ub += BU) { // one unit: its low and high nibbles (two vectors, or four at 4 lanes)
            int bA = ub / half;
            FloatVector y0 = FloatVector.zero(F);
            FloatVector y1 = FloatVector.zero(F);
            FloatVector y2 = FloatVector.zero(F);
            FloatVector y3 = FloatVector.zero(F);
            for (int p = 0, c = co + ub, s = bA; p < count; p++, c += codeStride, s += nb) {
                ByteVector x0 = ByteVector.fromArray(BS, codes, c);
                ByteVector lo0 = x0.and((byte) 0x0F).sub(zero);
                ByteVector hi0 = x0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub(zero);
                float wa = ws[s];
                y0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.broadcast(F, wa), y0);
                y1 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.broadcast(F, wa), y1);
                if (PARTS == 2) {
                    y2 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.broadcast(F, wa), y2);
                    y3 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.broadcast(F, wa), y3);
                }
            }
            int uA = ub % half;
            y0.intoArray(acc, bA * block + uA);
            y1.intoArray(acc, bA * block + half + uA);
            if (PARTS == 2) {
                y2.intoArray(acc, bA * block + uA + L);
                y3.intoArray(acc, bA * block + half + uA + L);
            }
        }
        if (mins != null) { // q4_1: sum_p w_p * m_pb, the same for every value of block b
            for (int b = 0; b < nb; b++) {
                float t = 0f;
                for (int p = 0, m = so + b; p < count; p++, m += scaleStride) {
                    t += w[wo + p] * Float.float16ToFloat(mins[m]);
                }
                for (int i = b * block; i < (b + 1) * block; i++) {
                    acc[i] += t;
                }
            }
        }
        unpermute(acc, n, block, out, oo);
    }

    /**
     * The four queries {@code q[qo + i * qs ..]} permuted to the nibble order, {@code n} apart, then
     * each one's per-block sums ({@code nb} apart), in this thread's scratch (for
     * {@link GroupKernels#dotsQ4}).
     */
    static float[] permuteFour(float[] q, int qo, int qs, int n, int block) {
        int nb = n / block;
        float[] qp = scratch(0, 4 * n + 4 * nb);
        for (int i = 0; i < 4; i++) {
            permute(q, qo + i * qs, n, block, qp, i * n);
            for (int b = 0; b < nb; b++) {
                float t = 0f;
                for (int j = 0; j < block; j++) {
                    t += qp[i * n + b * block + j];
                }
                qp[4 * n + i * nb + b] = t;
            }
        }
        return qp;
    }

    /**
     * {@link #weightedScales} for four heads' weights ({@code w[wo + i * wStride + p]}), head
     * {@code i}'s at {@code [i * count * nb ..)} of this thread's scratch.
     */
    static float[] weightedScalesFour(float[] w, int wo, int wStride, short[] scales, int so, int scaleStride, int count, int nb) {
        float[] ws = scratch(1, 4 * count * nb);
        for (int p = 0; p < count; p++) {
            int s = so + p * scaleStride;
            for (int b = 0; b < nb; b++) {
                float d = Float.float16ToFloat(scales[s + b]);
                for (int i = 0; i < 4; i++) {
                    ws[i * count * nb + p * nb + b] = w[wo + i * wStride + p] * d;
                }
            }
        }
        return ws;
    }

    /** {@code ws[p * nb + b] = w[wo + p] * d_pb}: each row's weight times its block scales. */
    private static float[] weightedScales(float[] w, int wo, short[] scales, int so, int scaleStride, int count, int nb) {
        float[] ws = scratch(1, count * nb);
        for (int p = 0; p < count; p++) {
            float wp = w[wo + p];
            int s = so + p * scaleStride;
            for (int b = 0; b < nb; b++) {
                ws[p * nb + b] = wp * Float.float16ToFloat(scales[s + b]);
            }
        }
        return ws;
    }

    /** Per block of {@code x[xo .. xo+n)}: its even values, then its odd values, into {@code dst[0 .. n)}. */
    static void permute(float[] x, int xo, int n, int block, float[] dst) {
        permute(x, xo, n, block, dst, 0);
    }

    /** {@link #permute} into {@code dst[d0 .. d0+n)}. */
    static void permute(float[] x, int xo, int n, int block, float[] dst, int d0) {
        int half = block / 2;
        for (int b = 0; b < n; b += block) {
            for (int i = 0; i < half; i++) {
                dst[d0 + b + i] = x[xo + b + 2 * i];
                dst[d0 + b + half + i] = x[xo + b + 2 * i + 1];
            }
        }
    }

    /** The inverse of {@link #permute}: {@code src[0 .. n)} in nibble order into {@code out[oo .. oo+n)}. */
    static void unpermute(float[] src, int n, int block, float[] out, int oo) {
        int half = block / 2;
        for (int b = 0; b < n; b += block) {
            for (int i = 0; i < half; i++) {
                out[oo + b + 2 * i] = src[b + i];
                out[oo + b + 2 * i + 1] = src[b + half + i];
            }
        }
    }
}
