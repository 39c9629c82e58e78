package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q4_0}: blocks of 32 elements in 18 bytes, {@code {f16 d; u8 qs[16]}}. For
 * {@code j < 16}, element {@code j} is {@code d * ((qs[j] & 0xF) - 8)} and element {@code j + 16}
 * is {@code d * ((qs[j] >> 4) - 8)}. Layout from ggml {@code block_q4_0} /
 * {@code dequantize_row_q4_0}. Offsets and lengths must be multiples of 32.
 */
public final class Q4_0Tensor extends Tensor implements ScalarDot {
    static final int QK = 32;
    static final int BYTES = 18;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q4_0Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        int j = (int) (index % QK);
        int q = Le.u8(data, bo + 2 + (j & 15));
        return Le.f16(data, bo) * ((j < 16 ? q & 0xF : q >> 4) - 8);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        if (!Simd.ENABLED) {
            dequantizeScalar(offset, out, outOffset, n);
            return;
        }
        long bo = offset / QK * BYTES;
        int o = outOffset;
        for (int b = 0; b < n / QK; b++, bo += BYTES, o += QK) {
            FloatVector d = FloatVector.broadcast(F, Le.f16(data, bo));
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub((byte) 8);
                for (int p = 0; p < PARTS; p++) {
                    ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(out, o + u + p * L);
                    ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(out, o + 16 + u + p * L);
                }
            }
        }
    }

    /** Scalar reference of {@link #dequantize}. */
    void dequantizeScalar(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo);
            int o = outOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 2 + j);
                out[o + j] = d * ((q & 0xF) - 8);
                out[o + j + 16] = d * ((q >> 4) - 8);
            }
        }
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        if (!Simd.ENABLED) {
            return dotScalar(offset, x, xOffset, n);
        }
        long bo = offset / QK * BYTES;
        int xi = xOffset;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK) {
            FloatVector s = FloatVector.zero(F);
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                // high nibbles: shift 16-bit lanes (x86 has no byte shift), then mask
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub((byte) 8);
                for (int p = 0; p < PARTS; p++) {
                    s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xi + u + p * L), s);
                    s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xi + 16 + u + p * L), s);
                }
            }
            // two accumulators, swapped every block, halve the FMA dependency chain
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = s.fma(FloatVector.broadcast(F, Le.f16(data, bo)), t);
        }
        return Simd.sum(acc0.add(acc1));
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        float sum = 0f;
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            int xi = xOffset + b * QK;
            float s = 0f;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 2 + j);
                s += ((q & 0xF) - 8) * x[xi + j] + ((q >> 4) - 8) * x[xi + j + 16];
            }
            sum += Le.f16(data, bo) * s;
        }
        return sum;
    }

    @Override
    public boolean supportsQ8Activations() {
        return true;
    }

    @Override
    public float dotQ8(long offset, Q8Activations x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        if (!Simd.ENABLED) {
            return dotQ8Reference(offset, x, xOffset, n);
        }
        if (WIDE) {
            return dotQ8Wide(offset, x, xOffset, n);
        }
        if (GROUPED) {
            return dotQ8Chain(offset, x, xOffset, n);
        }
        if (Simd.NARROW_INT16) {
            return dotQ8Narrow(offset, x, xOffset, n);
        }
        return dotQ8Floats(offset, x, xOffset, n);
    }

    // ---- Row groups: the decode kernel of 4- and 8-lane machines (128-bit NEON/SSE, AVX2) ----

    /** Whether decode runs on row groups ({@link RowGroups}, built once per tensor on first use). */
    static final boolean GROUPED = RowGroups.ENABLED;
    /** Rows per group: one float lane per row. */
    private static final int G = RowGroups.G;
    private static final VectorSpecies<Integer> SNI = VectorSpecies.of(int.class, Simd.SNS.vectorShape());

    private final GroupedRows<RowGroups> grouped = new GroupedRows<>(QK, this::buildGroups, this::groupDot, this::groupDot2,
            this::groupDot4);

    @Override
    public int q8RowGroup(int cols, ThreadPool pool) {
        return grouped.group(cols, pool);
    }

    private RowGroups buildGroups(int cols, ThreadPool pool) {
        int nb = cols / QK;
        RowGroups made = RowGroups.allocate(cols, (int) (size() / cols / G), false);
        if (made == null) {
            return RowGroups.NONE; // too large for Java arrays: the one-row kernels
        }
        pool.parallelFor(made.groups(), (long) made.groups() * nb * G * QK, (start, end) -> {
            byte[] src = new byte[16];
            int[] nib = new int[QK];
            for (int grp = start; grp < end; grp++) {
                for (int r = 0; r < G; r++) {
                    long row = (long) grp * G + r;
                    for (int b = 0; b < nb; b++) {
                        long bo = (row * nb + b) * BYTES;
                        made.scales()[made.factor(grp, b, r)] = Le.f16(data, bo);
                        MemorySegment.copy(data, java.lang.foreign.ValueLayout.JAVA_BYTE, bo + 2, src, 0, 16);
                        for (int e = 0; e < QK; e++) {
                            nib[e] = nibble(src, e);
                        }
                        made.put(grp, b, r, nib);
                    }
                }
            }
        });
        return made;
    }

    /** Element {@code e} (0..31) of a block's 16 nibble bytes, unsigned. */
    private static int nibble(byte[] qs, int e) {
        return e < 16 ? qs[e] & 0xF : (qs[e - 16] >> 4) & 0xF;
    }

    @Override
    protected int dotQ8RowGroups(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                 float[] out, int outOffset, int outStride) {
        return grouped.dot(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
    }

    /**
     * One group's {@link #G} dot products with the activations at {@code xo}, into
     * {@code out[oo .. oo + G)}. Per block, the 16-bit lanes collect exact integer products (at
     * most 16 * 15 * 127 = 30480 in magnitude), lane pairs add into one 32-bit lane per row, the
     * offset {@code 8 * sum x} of ggml's {@code q - 8} is subtracted, and the exact block sum
     * {@code s} enters the row's float accumulator as {@code fma(s, d_w * d_x, acc)}: the bits of
     * {@link #dotQ8Chain}, which the one-row path gives.
     */
    private void groupDot(RowGroups gs, int g, Q8Activations x, int xo, float[] out, int oo) {
        int nb = gs.n() / QK;
        byte[] nib = gs.nibbles();
        float[] sc = gs.scales();
        int[] xp = x.pairs;
        float[] xd = x.d;
        float[] xsum = x.sum;
        int base = g * nb * 16 * G;
        int sb = g * nb * G;
        int pb = xo / 2;
        int xb = xo / QK;
        FloatVector acc = FloatVector.zero(F);
        // one flat loop over the 8 chunks of every block, two per iteration: every index is linear
        // in i, so C2 hoists the index checks out of it (a nested chunk loop left them in the block
        // loop, ~35 instructions per block); the block's sum closes after its 8th chunk. Written-out
        // chunks (8 per iteration) exceed C2's inlining budget for Vector API code and run ~5x slower.
        ShortVector a = ShortVector.zero(SNS);
        for (int i = 0, end = nb * 8; i < end; i += 2) {
            a = step(a, nibbles(nib, base + i * 2 * G), xp[pb + 2 * i], xp[pb + 2 * i + 1]);
            a = step(a, nibbles(nib, base + i * 2 * G + 2 * G), xp[pb + 2 * i + 2], xp[pb + 2 * i + 3]);
            if ((i & 7) == 6) {
                int b = i >> 3;
                acc = blockSum(a, xsum[xb + b]).fma(FloatVector.fromArray(F, sc, sb + b * G).mul(xd[xb + b]), acc);
                a = ShortVector.zero(SNS);
            }
        }
        acc.intoArray(out, oo);
    }

    /** Chunk {@code o} of a group's nibbles, widened to 16-bit lanes. */
    private static ShortVector nibbles(byte[] nib, int o) {
        return (ShortVector) ByteVector.fromArray(SNB, nib, o).convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
    }

    /** {@code a + lo(q) * (x0, x1) + hi(q) * (x2, x3)}, the pairs broadcast to every 32-bit lane. */
    private static ShortVector step(ShortVector a, ShortVector q, int lowPair, int highPair) {
        return a.add(q.and((short) 0x0F).mul(IntVector.broadcast(SNI, lowPair).reinterpretAsShorts()))
                .add(q.lanewise(VectorOperators.LSHR, 4).mul(IntVector.broadcast(SNI, highPair).reinterpretAsShorts()));
    }

    /** Per row: its two 16-bit lanes added, minus ggml's offset {@code 8 * sum x}, as a float (exact). */
    private static FloatVector blockSum(ShortVector a, float xsum) {
        IntVector v = a.reinterpretAsInts();
        return (FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(v.lanewise(VectorOperators.ASHR, 16))
                .sub(8 * (int) xsum)
                .convert(VectorOperators.I2F, 0);
    }

    /**
     * {@link #groupDot} for two tokens (activations at {@code xo} and {@code xo + xs}, results at
     * {@code out[oo ..]} and {@code out[oo + os ..]}): each chunk of nibbles is loaded and widened
     * once for both. Per token the operations are those of {@link #groupDot}: the same bits.
     */
    private void groupDot2(RowGroups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int nb = gs.n() / QK;
        byte[] nib = gs.nibbles();
        float[] sc = gs.scales();
        int[] xp = x.pairs;
        float[] xd = x.d;
        float[] xsum = x.sum;
        int base = g * nb * 16 * G;
        int sb = g * nb * G;
        int pb = xo / 2;
        int pc = (xo + xs) / 2;
        int xb = xo / QK;
        int xc = (xo + xs) / QK;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        ShortVector a0 = ShortVector.zero(SNS);
        ShortVector a1 = ShortVector.zero(SNS);
        for (int i = 0, end = nb * 8; i < end; i++) {
            ShortVector n = nibbles(nib, base + i * 2 * G);
            a0 = step(a0, n, xp[pb + 2 * i], xp[pb + 2 * i + 1]);
            a1 = step(a1, n, xp[pc + 2 * i], xp[pc + 2 * i + 1]);
            if ((i & 7) == 7) {
                int b = i >> 3;
                FloatVector scale = FloatVector.fromArray(F, sc, sb + b * G);
                acc0 = blockSum(a0, xsum[xb + b]).fma(scale.mul(xd[xb + b]), acc0);
                acc1 = blockSum(a1, xsum[xc + b]).fma(scale.mul(xd[xc + b]), acc1);
                a0 = ShortVector.zero(SNS);
                a1 = ShortVector.zero(SNS);
            }
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
    }

    /**
     * {@link #groupDot} for four tokens (activations at {@code xo + k * xs}, results at
     * {@code out[oo + k * os ..]}, k = 0..3): each chunk of nibbles is loaded and widened once for
     * all four; per token the operations of {@link #groupDot}, so the same bits.
     *
     * <p>Written without helper calls on purpose: with {@link #step} and {@link #blockSum} as
     * calls, C2 stopped inlining them once the method passed its node budget
     * ({@code NodeCountInliningCutoff}, seen with {@code -XX:CompileCommand=PrintInlining,...}), and
     * vectors passed to a call that is not inlined are boxed: that form ran 3.5-10x slower than two
     * {@link #groupDot2} calls. Vector API methods themselves are always inlined.
     */
    private void groupDot4(RowGroups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int nb = gs.n() / QK;
        byte[] nib = gs.nibbles();
        float[] sc = gs.scales();
        int[] xp = x.pairs;
        float[] xd = x.d;
        float[] xsum = x.sum;
        int base = g * nb * 16 * G;
        int sb = g * nb * G;
        int p0 = xo / 2, p1 = (xo + xs) / 2, p2 = (xo + 2 * xs) / 2, p3 = (xo + 3 * xs) / 2;
        int x0 = xo / QK, x1 = (xo + xs) / QK, x2 = (xo + 2 * xs) / QK, x3 = (xo + 3 * xs) / QK;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        ShortVector a0 = ShortVector.zero(SNS), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0, end = nb * 8; i < end; i++) {
            ShortVector q = (ShortVector) ByteVector.fromArray(SNB, nib, base + i * 2 * G)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
            ShortVector lo = q.and((short) 0x0F);
            ShortVector hi = q.lanewise(VectorOperators.LSHR, 4);
            a0 = a0.add(lo.mul(IntVector.broadcast(SNI, xp[p0 + 2 * i]).reinterpretAsShorts()))
                    .add(hi.mul(IntVector.broadcast(SNI, xp[p0 + 2 * i + 1]).reinterpretAsShorts()));
            a1 = a1.add(lo.mul(IntVector.broadcast(SNI, xp[p1 + 2 * i]).reinterpretAsShorts()))
                    .add(hi.mul(IntVector.broadcast(SNI, xp[p1 + 2 * i + 1]).reinterpretAsShorts()));
            a2 = a2.add(lo.mul(IntVector.broadcast(SNI, xp[p2 + 2 * i]).reinterpretAsShorts()))
                    .add(hi.mul(IntVector.broadcast(SNI, xp[p2 + 2 * i + 1]).reinterpretAsShorts()));
            a3 = a3.add(lo.mul(IntVector.broadcast(SNI, xp[p3 + 2 * i]).reinterpretAsShorts()))
                    .add(hi.mul(IntVector.broadcast(SNI, xp[p3 + 2 * i + 1]).reinterpretAsShorts()));
            if ((i & 7) == 7) {
                int b = i >> 3;
                FloatVector scale = FloatVector.fromArray(F, sc, sb + b * G);
                IntVector v0 = a0.reinterpretAsInts();
                acc0 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(v0.lanewise(VectorOperators.ASHR, 16)).sub(8 * (int) xsum[x0 + b])
                        .convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[x0 + b]), acc0);
                IntVector v1 = a1.reinterpretAsInts();
                acc1 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(v1.lanewise(VectorOperators.ASHR, 16)).sub(8 * (int) xsum[x1 + b])
                        .convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[x1 + b]), acc1);
                IntVector v2 = a2.reinterpretAsInts();
                acc2 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(v2.lanewise(VectorOperators.ASHR, 16)).sub(8 * (int) xsum[x2 + b])
                        .convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[x2 + b]), acc2);
                IntVector v3 = a3.reinterpretAsInts();
                acc3 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(v3.lanewise(VectorOperators.ASHR, 16)).sub(8 * (int) xsum[x3 + b])
                        .convert(VectorOperators.I2F, 0)).fma(scale.mul(xd[x3 + b]), acc3);
                a0 = ShortVector.zero(SNS);
                a1 = a0;
                a2 = a0;
                a3 = a0;
            }
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
        acc2.intoArray(out, oo + 2 * os);
        acc3.intoArray(out, oo + 3 * os);
    }

    /**
     * {@link #dotQ8} where row groups are used: the exact integer sum {@code s_b} of each block
     * (16-bit lanes as in {@link #dotQ8Narrow}, then summed across lanes), accumulated in block
     * order as {@code acc = fma(s_b, d_w * d_x, acc)} from 0 — the same operations, and so the same
     * bits, as one lane of {@link #groupDot}. Rows outside whole groups, and single calls, use it.
     */
    float dotQ8Chain(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        short[] xs = x.qs;
        short[] o8 = x.offset8;
        float[] xd = x.d;
        float acc = 0f;
        for (int i = xOffset, end = xOffset + n; i < end; i += QK, bo += BYTES) {
            int s = 0;
            for (int c = 0; c < 16; c += SN) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(SNB, data, bo + 2 + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
                ShortVector v = q.and((short) 0x0F).mul(ShortVector.fromArray(SNS, xs, i + c))
                        .add(q.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SNS, xs, i + 16 + c)))
                        .sub(ShortVector.fromArray(SNS, o8, i / 2 + c));
                s += ((IntVector) v.convertShape(VectorOperators.S2I, SNI, 0)).add((IntVector) v.convertShape(VectorOperators.S2I, SNI, 1))
                        .reduceLanes(VectorOperators.ADD);
            }
            acc = Math.fma((float) s, Le.f16(data, bo) * xd[i / QK], acc);
        }
        return acc;
    }

    /** Scalar reference of {@link #dotQ8Chain}, the same bits. */
    float dotQ8ChainScalar(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        float acc = 0f;
        for (int i = xOffset, end = xOffset + n; i < end; i += QK, bo += BYTES) {
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 2 + j);
                s += ((q & 0xF) - 8) * x.q[i + j] + ((q >> 4) - 8) * x.q[i + 16 + j];
            }
            acc = Math.fma((float) s, Le.f16(data, bo) * x.d[i / QK], acc);
        }
        return acc;
    }

    /** {@link #dotQ8} with every nibble widened to a float: the form the narrow kernel must match bit for bit. */
    float dotQ8Floats(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        int xi = xOffset;
        int xb = xOffset / QK;
        float[] xq = x.qf;
        float[] xd = x.d;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK, xb++) {
            // Products of 4-bit and 8-bit integers summed over a block stay below 2^24, so float
            // arithmetic gives the exact integer sum.
            FloatVector s = FloatVector.zero(F);
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub((byte) 8);
                for (int p = 0; p < PARTS; p++) {
                    s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xi + u + p * L), s);
                    s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xi + 16 + u + p * L), s);
                }
            }
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = s.fma(FloatVector.broadcast(F, Le.f16(data, bo) * xd[xb]), t);
        }
        return Simd.sum(acc0.add(acc1));
    }
    private static final VectorSpecies<Short> SNS = Simd.SNS;
    private static final VectorSpecies<Byte> SNB = Simd.SNB;
    private static final int SN = Simd.SN;

    /**
     * {@link #dotQ8} for 4 and 8 float lanes (128-bit, AVX2): per block, {@code 2L} packed bytes at
     * a time widen once to 16-bit lanes holding both nibbles, which multiply the activations'
     * 16-bit copies (lane {@code l}: {@code (lo_l - 8) x_l + (hi_l - 8) x_{l+16}}, the offset
     * precomputed in {@link Q8Activations#offset8}; at most 5842 in magnitude), and the 16-bit
     * sums convert to two float vectors. Those hold exact integers, and their sum is exactly the
     * float form's block sum ({@link #dotQ8Floats}: lane {@code j} sums the same products over
     * the same elements {@code j mod L}), so the scale, the two swapped accumulators and the fold
     * give the same bits as the float form and as the batched kernels. About half the vector
     * operations of widening every nibble to a float.
     */
    private float dotQ8Narrow(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        short[] xs = x.qs;
        short[] o8 = x.offset8;
        float[] xd = x.d;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int i = xOffset, end = xOffset + n; i < end; i += QK, bo += BYTES) {
            FloatVector s = FloatVector.zero(F);
            for (int c = 0; c < 16; c += SN) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(SNB, data, bo + 2 + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
                ShortVector v = q.and((short) 0x0F).mul(ShortVector.fromArray(SNS, xs, i + c))
                        .add(q.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SNS, xs, i + 16 + c)))
                        .sub(ShortVector.fromArray(SNS, o8, i / 2 + c));
                s = s.add((FloatVector) v.convertShape(VectorOperators.S2F, F, 0))
                        .add((FloatVector) v.convertShape(VectorOperators.S2F, F, 1));
            }
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = s.fma(FloatVector.broadcast(F, Le.f16(data, bo) * xd[i / QK]), t);
        }
        return Simd.sum(acc0.add(acc1));
    }

    /** 16-lane floats (512-bit vectors): one nibble half of a block is exactly one vector. */
    private static final boolean WIDE = Simd.ENABLED && L == 16 && BU == 16;

    /** Low nibbles (elements 0..15) of the block at byte {@code bo}, minus 8, as floats. */
    private FloatVector low(long bo) {
        ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 2, ByteOrder.LITTLE_ENDIAN);
        return (FloatVector) qs.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    /** High nibbles (elements 16..31) of the block at byte {@code bo}, minus 8, as floats. */
    private FloatVector high(long bo) {
        ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 2, ByteOrder.LITTLE_ENDIAN);
        return (FloatVector) qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                .and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    private static final VectorSpecies<Short> SS = Simd.S16;

    /**
     * The exact integer sums of one block with the activations at {@code i}, per lane
     * ({@code sum q_w * q_x} over lanes {@code l} and {@code l + 16}), in 16-bit integer
     * arithmetic: the 16 bytes widen once to 16-bit lanes
     * holding both nibbles, the unsigned nibbles multiply the activations, and the offset
     * {@code 8 * (x_l + x_{l+16})} comes precomputed ({@link Q8Activations#offset8}). Lane
     * {@code l} is {@code (lo_l - 8) x_l + (hi_l - 8) x_{l+16}} (at most 3810 + 2032 in magnitude:
     * no 16-bit overflow), exactly the lane of the float form ({@link #low}/{@link #high} times the
     * activations, as in {@link #dotQ8x4x2}), so both give the same bits.
     */
    private FloatVector intBlockSum(long bo, short[] xs, short[] offset8, int i) {
        ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BS, data, bo + 2, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
        ShortVector s = q.and((short) 0x0F).mul(ShortVector.fromArray(SS, xs, i))
                .add(q.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SS, xs, i + 16)))
                .sub(ShortVector.fromArray(SS, offset8, i / 2));
        return (FloatVector) s.convertShape(VectorOperators.S2F, F, 0);
    }

    /**
     * {@link #dotQ8} with 16-lane vectors: block sums in 16-bit integers ({@link #intBlockSum},
     * ~20% faster than widening every nibble to a float), even blocks accumulate into one vector
     * and odd blocks into another (two chains halve the FMA latency), then the two are added and
     * folded. The lanes are the float form's exact integers, and the accumulation is the generic
     * loop's two swapped accumulators (swapping only renames the chains, and the final add is
     * commutative) and {@link #dotQ8x4}'s per token, so all give identical bits.
     */
    private float dotQ8Wide(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        short[] xs = x.qs;
        short[] o8 = x.offset8;
        float[] xd = x.d;
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        int off = 0;
        for (; off + 2 * QK <= n; off += 2 * QK, bo += 2 * BYTES) {
            even = intBlockSum(bo, xs, o8, xOffset + off)
                    .fma(FloatVector.broadcast(F, Le.f16(data, bo) * xd[(xOffset + off) / QK]), even);
            odd = intBlockSum(bo + BYTES, xs, o8, xOffset + off + QK)
                    .fma(FloatVector.broadcast(F, Le.f16(data, bo + BYTES) * xd[(xOffset + off) / QK + 1]), odd);
        }
        if (off < n) {
            even = intBlockSum(bo, xs, o8, xOffset + off)
                    .fma(FloatVector.broadcast(F, Le.f16(data, bo) * xd[(xOffset + off) / QK]), even);
        }
        // scalar fold of the stored lanes: same bits as Simd.sum, and no boxing when the JIT
        // runs out of inlining budget in a large caller
        float[] lanes = Simd.lanes();
        even.add(odd).intoArray(lanes, 0);
        return Simd.sumLanes16(lanes, 0);
    }

    @Override
    protected boolean hasDotQ8x4() {
        // with row groups, the one-row form is the block-sum chain (dotQ8Chain), which this
        // kernel does not follow; rows outside whole groups then go token by token
        return Simd.ENABLED && !GROUPED;
    }

    /**
     * {@link #dotQ8} for four activation rows at once, each weight block unpacked once. Per token
     * the operations are exactly those of {@link #dotQ8} (exact integer block sums, the same two
     * swapped accumulators, the same final fold), so the results are bit-identical.
     */
    @Override
    protected void dotQ8x4(long offset, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os,
                           MemorySegment lanes) {
        long bo = offset / QK * BYTES;
        float[] xq = x.qf;
        float[] xd = x.d;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        FloatVector a0 = FloatVector.zero(F), b0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F), b1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), b2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        for (int off = 0; off < n; off += QK, bo += BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).sub((byte) 8);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector wl = (FloatVector) lo.convertShape(VectorOperators.B2F, F, p);
                    FloatVector wh = (FloatVector) hi.convertShape(VectorOperators.B2F, F, p);
                    int il = off + u + p * L;
                    int ih = il + 16;
                    s0 = wl.fma(FloatVector.fromArray(F, xq, x0 + il), s0);
                    s0 = wh.fma(FloatVector.fromArray(F, xq, x0 + ih), s0);
                    s1 = wl.fma(FloatVector.fromArray(F, xq, x1 + il), s1);
                    s1 = wh.fma(FloatVector.fromArray(F, xq, x1 + ih), s1);
                    s2 = wl.fma(FloatVector.fromArray(F, xq, x2 + il), s2);
                    s2 = wh.fma(FloatVector.fromArray(F, xq, x2 + ih), s2);
                    s3 = wl.fma(FloatVector.fromArray(F, xq, x3 + il), s3);
                    s3 = wh.fma(FloatVector.fromArray(F, xq, x3 + ih), s3);
                }
            }
            float dw = Le.f16(data, bo);
            FloatVector t;
            t = a0; a0 = b0; b0 = s0.fma(FloatVector.broadcast(F, dw * xd[(x0 + off) / QK]), t);
            t = a1; a1 = b1; b1 = s1.fma(FloatVector.broadcast(F, dw * xd[(x1 + off) / QK]), t);
            t = a2; a2 = b2; b2 = s2.fma(FloatVector.broadcast(F, dw * xd[(x2 + off) / QK]), t);
            t = a3; a3 = b3; b3 = s3.fma(FloatVector.broadcast(F, dw * xd[(x3 + off) / QK]), t);
        }
        if (WIDE) {
            // Store and fold with a transposed vector fold (Simd.sumLanes16x4: the same additions
            // as Simd.sum): this method is too large for the JIT to also inline four vector folds,
            // and a fold that is not inlined boxes its vector argument on every call.
            ByteOrder no = ByteOrder.nativeOrder();
            a0.add(b0).intoMemorySegment(lanes, 0, no);
            a1.add(b1).intoMemorySegment(lanes, 64, no);
            a2.add(b2).intoMemorySegment(lanes, 128, no);
            a3.add(b3).intoMemorySegment(lanes, 192, no);
            Simd.sumLanes16x4(lanes, 0, out, oo, os);
            return;
        }
        out[oo] = Simd.sum(a0.add(b0));
        out[oo + os] = Simd.sum(a1.add(b1));
        out[oo + 2 * os] = Simd.sum(a2.add(b2));
        out[oo + 3 * os] = Simd.sum(a3.add(b3));
    }

    @Override
    protected boolean hasDotQ8x4x2() {
        return WIDE;
    }

    /**
     * {@link #dotQ8x4} for two weight rows at once (16-lane vectors only): the activations of
     * each token are loaded once for both rows and the eight sums share one transposed fold. Per
     * row and token the operations are those of {@link #dotQ8}: identical bits.
     */
    @Override
    protected void dotQ8x4x2(long offset0, long offset1, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os,
                             MemorySegment lanes) {
        long bo = offset0 / QK * BYTES;
        long bp = offset1 / QK * BYTES;
        float[] xq = x.qf;
        float[] xd = x.d;
        FloatVector a0 = FloatVector.zero(F), b0 = FloatVector.zero(F), c0 = FloatVector.zero(F), e0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F), b1 = FloatVector.zero(F), c1 = FloatVector.zero(F), e1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), b2 = FloatVector.zero(F), c2 = FloatVector.zero(F), e2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F), b3 = FloatVector.zero(F), c3 = FloatVector.zero(F), e3 = FloatVector.zero(F);
        int bs = xs / QK;
        for (int off = 0; off < n; off += QK, bo += BYTES, bp += BYTES) {
            // row 0 accumulates into a (older) / b (newer), row 1 into c / e, swapped every block
            FloatVector l0 = low(bo), h0 = high(bo), l1 = low(bp), h1 = high(bp);
            float d0 = Le.f16(data, bo), d1 = Le.f16(data, bp);
            int xb = (x0 + off) / QK;
            FloatVector t;
            FloatVector xl = FloatVector.fromArray(F, xq, x0 + off), xh = FloatVector.fromArray(F, xq, x0 + off + 16);
            t = a0; a0 = b0; b0 = h0.fma(xh, l0.mul(xl)).fma(FloatVector.broadcast(F, d0 * xd[xb]), t);
            t = c0; c0 = e0; e0 = h1.fma(xh, l1.mul(xl)).fma(FloatVector.broadcast(F, d1 * xd[xb]), t);
            xl = FloatVector.fromArray(F, xq, x0 + xs + off);
            xh = FloatVector.fromArray(F, xq, x0 + xs + off + 16);
            t = a1; a1 = b1; b1 = h0.fma(xh, l0.mul(xl)).fma(FloatVector.broadcast(F, d0 * xd[xb + bs]), t);
            t = c1; c1 = e1; e1 = h1.fma(xh, l1.mul(xl)).fma(FloatVector.broadcast(F, d1 * xd[xb + bs]), t);
            xl = FloatVector.fromArray(F, xq, x0 + 2 * xs + off);
            xh = FloatVector.fromArray(F, xq, x0 + 2 * xs + off + 16);
            t = a2; a2 = b2; b2 = h0.fma(xh, l0.mul(xl)).fma(FloatVector.broadcast(F, d0 * xd[xb + 2 * bs]), t);
            t = c2; c2 = e2; e2 = h1.fma(xh, l1.mul(xl)).fma(FloatVector.broadcast(F, d1 * xd[xb + 2 * bs]), t);
            xl = FloatVector.fromArray(F, xq, x0 + 3 * xs + off);
            xh = FloatVector.fromArray(F, xq, x0 + 3 * xs + off + 16);
            t = a3; a3 = b3; b3 = h0.fma(xh, l0.mul(xl)).fma(FloatVector.broadcast(F, d0 * xd[xb + 3 * bs]), t);
            t = c3; c3 = e3; e3 = h1.fma(xh, l1.mul(xl)).fma(FloatVector.broadcast(F, d1 * xd[xb + 3 * bs]), t);
        }
        // stored, then folded four at a time (see dotQ8x4 for why not in registers)
        ByteOrder no = ByteOrder.nativeOrder();
        a0.add(b0).intoMemorySegment(lanes, 0, no);
        a1.add(b1).intoMemorySegment(lanes, 64, no);
        a2.add(b2).intoMemorySegment(lanes, 128, no);
        a3.add(b3).intoMemorySegment(lanes, 192, no);
        c0.add(e0).intoMemorySegment(lanes, 256, no);
        c1.add(e1).intoMemorySegment(lanes, 320, no);
        c2.add(e2).intoMemorySegment(lanes, 384, no);
        c3.add(e3).intoMemorySegment(lanes, 448, no);
        Simd.sumLanes16x4(lanes, 0, out, oo, os);
        Simd.sumLanes16x4(lanes, 256, out, oo + 1, os);
    }

    @Override
    protected boolean hasDotQ8x2x2() {
        return WIDE;
    }

    /**
     * {@link #dotQ8x4x2} for two tokens (16-lane vectors only): each weight block is unpacked once
     * for both tokens and each token's activations are loaded once for both rows; the four sums
     * share one transposed fold. Per row and token the operations are those of {@link #dotQ8}.
     */
    @Override
    protected void dotQ8x2x2(long offset0, long offset1, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os,
                             MemorySegment lanes) {
        long bo = offset0 / QK * BYTES;
        long bp = offset1 / QK * BYTES;
        float[] xq = x.qf;
        float[] xd = x.d;
        // token 0: row 0 in a (older) / b (newer), row 1 in c / e; token 1 likewise in a1, b1, c1, e1
        FloatVector a0 = FloatVector.zero(F), b0 = FloatVector.zero(F), c0 = FloatVector.zero(F), e0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F), b1 = FloatVector.zero(F), c1 = FloatVector.zero(F), e1 = FloatVector.zero(F);
        int bs = xs / QK;
        for (int off = 0; off < n; off += QK, bo += BYTES, bp += BYTES) {
            FloatVector l0 = low(bo), h0 = high(bo), l1 = low(bp), h1 = high(bp);
            float d0 = Le.f16(data, bo), d1 = Le.f16(data, bp);
            int xb = (x0 + off) / QK;
            FloatVector t;
            FloatVector xl = FloatVector.fromArray(F, xq, x0 + off), xh = FloatVector.fromArray(F, xq, x0 + off + 16);
            t = a0; a0 = b0; b0 = h0.fma(xh, l0.mul(xl)).fma(FloatVector.broadcast(F, d0 * xd[xb]), t);
            t = c0; c0 = e0; e0 = h1.fma(xh, l1.mul(xl)).fma(FloatVector.broadcast(F, d1 * xd[xb]), t);
            xl = FloatVector.fromArray(F, xq, x0 + xs + off);
            xh = FloatVector.fromArray(F, xq, x0 + xs + off + 16);
            t = a1; a1 = b1; b1 = h0.fma(xh, l0.mul(xl)).fma(FloatVector.broadcast(F, d0 * xd[xb + bs]), t);
            t = c1; c1 = e1; e1 = h1.fma(xh, l1.mul(xl)).fma(FloatVector.broadcast(F, d1 * xd[xb + bs]), t);
        }
        ByteOrder no = ByteOrder.nativeOrder();
        a0.add(b0).intoMemorySegment(lanes, 0, no);
        a1.add(b1).intoMemorySegment(lanes, 64, no);
        c0.add(e0).intoMemorySegment(lanes, 128, no);
        c1.add(e1).intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, oo, oo + os, oo + 1, oo + 1 + os);
    }
}
