package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row groups ({@link RowGroups}'s interleaving) holding one signed byte per weight and one scale
 * per 32-element block and row, with their decode kernel: the layout of {@link Q8_0Tensor} (bytes
 * as stored) and {@link Q5_0Tensor} (5-bit values {@code q - 16}), whose ggml dot products are
 * both {@code d_w * d_x * sum(q_w * q_x)} per block.
 *
 * <p>For group {@code g} and block {@code b} ({@code nb = n / 32} per row): 16 chunks of
 * {@code 2G} bytes at {@code (g * nb + b) * 32 G}, byte {@code 2r + j} of chunk {@code k} holding
 * row {@code r}'s element {@code 2k + j}; the block scale as a float at
 * {@code scales[(g * nb + b) * G + r]}. 36 bytes per 32 grouped weights.
 */
record ByteRowGroups(int n, int groups, byte[] bytes, float[] scales) implements GroupedRows.Layout {
    private static final int QK = 32;
    private static final int G = RowGroups.G;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Short> GS = Simd.SNS;
    private static final VectorSpecies<Byte> GB = Simd.SNB;
    private static final VectorSpecies<Integer> GI = VectorSpecies.of(int.class, Simd.SNS.vectorShape());

    /** A type's block decoder: writes row {@code row}'s block {@code b} as 32 signed bytes, returns its scale. */
    @FunctionalInterface
    interface BlockDecoder {
        float decode(long row, int b, byte[] q);
    }

    /**
     * Builds the groups of the first {@code rows / G * G} rows of {@code cols} elements.
     *
     * @return the groups, or a layout with {@code n = -1} when they would not fit Java arrays
     */
    static ByteRowGroups build(long rows, int cols, ThreadPool pool, BlockDecoder decoder) {
        int nb = cols / QK;
        int count = (int) (rows / G);
        if ((long) count * nb * 32 * G > Integer.MAX_VALUE - 64) {
            return new ByteRowGroups(-1, 0, new byte[0], new float[0]); // too large for Java arrays: one-row kernels
        }
        byte[] bytes = new byte[count * nb * 32 * G];
        float[] scales = new float[count * nb * G];
        pool.parallelFor(count, (long) count * G * cols, (start, end) -> {
            byte[] q = new byte[QK];
            for (int grp = start; grp < end; grp++) {
                for (int r = 0; r < G; r++) {
                    long row = (long) grp * G + r;
                    for (int b = 0; b < nb; b++) {
                        scales[(grp * nb + b) * G + r] = decoder.decode(row, b, q);
                        int dst = (grp * nb + b) * 32 * G + 2 * r;
                        for (int e = 0; e < QK; e++) {
                            bytes[dst + 2 * G * (e / 2) + (e & 1)] = q[e];
                        }
                    }
                }
            }
        });
        return new ByteRowGroups(cols, count, bytes, scales);
    }

    /**
     * One group's {@link #G} dot products with the activations at {@code xo}, into
     * {@code out[oo .. oo + G)}. Per block: two chunks' products add in 16-bit lanes (each at
     * most 128 * 127, two: 32512), lane pairs widen into one 32-bit lane per row and accumulate
     * exactly, and {@code acc = fma(s, d_w * d_x, acc)} from 0 in block order: the bits of the
     * types' scalar chains ({@code dotQ8Chain}).
     */
    static void dot(ByteRowGroups gs, int g, Q8Activations x, int xo, float[] out, int oo) {
        int nb = gs.n / QK;
        byte[] by = gs.bytes;
        float[] sc = gs.scales;
        int[] xp = x.pairs;
        float[] xd = x.d;
        int base = g * nb * 32 * G;
        int sb = g * nb * G;
        int pb = xo / 2;
        int xb = xo / QK;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, base += 32 * G, sb += G, pb += 16, xb++) {
            IntVector s = IntVector.zero(GI);
            for (int k = 0; k < 16; k += 2) {
                ShortVector q0 = (ShortVector) ByteVector.fromArray(GB, by, base + 2 * G * k).convertShape(VectorOperators.B2S, GS, 0);
                ShortVector q1 = (ShortVector) ByteVector.fromArray(GB, by, base + 2 * G * (k + 1)).convertShape(VectorOperators.B2S, GS, 0);
                s = pairSums(s, q0, q1, xp[pb + k], xp[pb + k + 1]);
            }
            acc = ((FloatVector) s.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, sc, sb).mul(xd[xb]), acc);
        }
        acc.intoArray(out, oo);
    }

    /**
     * {@link #dot} for two tokens (activations at {@code xo} and {@code xo + xs}, results at
     * {@code out[oo ..]} and {@code out[oo + os ..]}): each chunk's bytes are loaded and widened
     * once for both; per token the operations are those of {@link #dot}, so the same bits.
     */
    static void dot2(ByteRowGroups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int nb = gs.n / QK;
        byte[] by = gs.bytes;
        float[] sc = gs.scales;
        int[] xp = x.pairs;
        float[] xd = x.d;
        int base = g * nb * 32 * G;
        int sb = g * nb * G;
        int pb = xo / 2;
        int pc = (xo + xs) / 2;
        int xb = xo / QK;
        int xc = (xo + xs) / QK;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, base += 32 * G, sb += G, pb += 16, pc += 16, xb++, xc++) {
            IntVector s0 = IntVector.zero(GI);
            IntVector s1 = IntVector.zero(GI);
            for (int k = 0; k < 16; k += 2) {
                ShortVector q0 = (ShortVector) ByteVector.fromArray(GB, by, base + 2 * G * k).convertShape(VectorOperators.B2S, GS, 0);
                ShortVector q1 = (ShortVector) ByteVector.fromArray(GB, by, base + 2 * G * (k + 1)).convertShape(VectorOperators.B2S, GS, 0);
                s0 = pairSums(s0, q0, q1, xp[pb + k], xp[pb + k + 1]);
                s1 = pairSums(s1, q0, q1, xp[pc + k], xp[pc + k + 1]);
            }
            FloatVector scale = FloatVector.fromArray(F, sc, sb);
            acc0 = ((FloatVector) s0.convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[xb]), acc0);
            acc1 = ((FloatVector) s1.convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[xc]), acc1);
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
    }

    /**
     * {@link #dot} for four tokens (activations at {@code xo + k * xs}, results at
     * {@code out[oo + k * os ..]}, k = 0..3): each chunk loaded and widened once for all four; per
     * token the operations of {@link #dot}, so the same bits. {@link #pairSums} is written out here:
     * as a call it can fall outside C2's inlining budget in a method this large
     * ({@code NodeCountInliningCutoff}), and vectors passed to a call that is not inlined are boxed
     * (Q4_0's four-token kernel ran 3.5-10x slower that way).
     */
    static void dot4(ByteRowGroups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int nb = gs.n / QK;
        byte[] by = gs.bytes;
        float[] sc = gs.scales;
        int[] xp = x.pairs;
        float[] xd = x.d;
        int base = g * nb * 32 * G;
        int sb = g * nb * G;
        int p0 = xo / 2, p1 = (xo + xs) / 2, p2 = (xo + 2 * xs) / 2, p3 = (xo + 3 * xs) / 2;
        int b0 = xo / QK, b1 = (xo + xs) / QK, b2 = (xo + 2 * xs) / QK, b3 = (xo + 3 * xs) / QK;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < nb; b++, base += 32 * G, sb += G) {
            IntVector s0 = IntVector.zero(GI), s1 = s0, s2 = s0, s3 = s0;
            int k0 = 16 * b;
            for (int k = 0; k < 16; k += 2) {
                ShortVector q0 = (ShortVector) ByteVector.fromArray(GB, by, base + 2 * G * k).convertShape(VectorOperators.B2S, GS, 0);
                ShortVector q1 = (ShortVector) ByteVector.fromArray(GB, by, base + 2 * G * (k + 1)).convertShape(VectorOperators.B2S, GS, 0);
                IntVector v0 = q0.mul(IntVector.broadcast(GI, xp[p0 + k0 + k]).reinterpretAsShorts())
                        .add(q1.mul(IntVector.broadcast(GI, xp[p0 + k0 + k + 1]).reinterpretAsShorts())).reinterpretAsInts();
                s0 = s0.add(v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(v0.lanewise(VectorOperators.ASHR, 16));
                IntVector v1 = q0.mul(IntVector.broadcast(GI, xp[p1 + k0 + k]).reinterpretAsShorts())
                        .add(q1.mul(IntVector.broadcast(GI, xp[p1 + k0 + k + 1]).reinterpretAsShorts())).reinterpretAsInts();
                s1 = s1.add(v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(v1.lanewise(VectorOperators.ASHR, 16));
                IntVector v2 = q0.mul(IntVector.broadcast(GI, xp[p2 + k0 + k]).reinterpretAsShorts())
                        .add(q1.mul(IntVector.broadcast(GI, xp[p2 + k0 + k + 1]).reinterpretAsShorts())).reinterpretAsInts();
                s2 = s2.add(v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(v2.lanewise(VectorOperators.ASHR, 16));
                IntVector v3 = q0.mul(IntVector.broadcast(GI, xp[p3 + k0 + k]).reinterpretAsShorts())
                        .add(q1.mul(IntVector.broadcast(GI, xp[p3 + k0 + k + 1]).reinterpretAsShorts())).reinterpretAsInts();
                s3 = s3.add(v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(v3.lanewise(VectorOperators.ASHR, 16));
            }
            FloatVector scale = FloatVector.fromArray(F, sc, sb);
            acc0 = ((FloatVector) s0.convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[b0 + b]), acc0);
            acc1 = ((FloatVector) s1.convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[b1 + b]), acc1);
            acc2 = ((FloatVector) s2.convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[b2 + b]), acc2);
            acc3 = ((FloatVector) s3.convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[b3 + b]), acc3);
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
        acc2.intoArray(out, oo + 2 * os);
        acc3.intoArray(out, oo + 3 * os);
    }

    /** {@code s} plus, per row, the two 16-bit lanes of {@code q0 * (x0 pair) + q1 * (x1 pair)} (as in {@link #dot}). */
    private static IntVector pairSums(IntVector s, ShortVector q0, ShortVector q1, int pair0, int pair1) {
        IntVector v = q0.mul(IntVector.broadcast(GI, pair0).reinterpretAsShorts())
                .add(q1.mul(IntVector.broadcast(GI, pair1).reinterpretAsShorts()))
                .reinterpretAsInts();
        return s.add(v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                .add(v.lanewise(VectorOperators.ASHR, 16));
    }
}
