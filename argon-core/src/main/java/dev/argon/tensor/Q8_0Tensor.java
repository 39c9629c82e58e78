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
 * ggml {@code Q8_0}: blocks of 32 elements in 34 bytes, {@code {f16 d; i8 qs[32]}}; element
 * {@code j} is {@code d * qs[j]}. Layout from ggml {@code block_q8_0} / {@code dequantize_row_q8_0}.
 * Offsets and lengths must be multiples of 32.
 */
public final class Q8_0Tensor extends Tensor implements ScalarDot {
    static final int QK = 32;
    static final int BYTES = 34;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q8_0Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        return Le.f16(data, bo) * Le.i8(data, bo + 2 + index % QK);
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
            for (int u = 0; u < QK; u += BU) {
                ByteVector q = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                for (int p = 0; p < PARTS; p++) {
                    ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(out, o + u + p * L);
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
            for (int j = 0; j < QK; j++) {
                out[outOffset + b * QK + j] = d * Le.i8(data, bo + 2 + j);
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
            for (int u = 0; u < QK; u += BU) {
                ByteVector q = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                for (int p = 0; p < PARTS; p++) {
                    s = ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xi + u + p * L), s);
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
            for (int j = 0; j < QK; j++) {
                s += Le.i8(data, bo + 2 + j) * x[xi + j];
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

    /** Whether decode runs on row groups (as {@link RowGroups}, one signed byte per element). */
    static final boolean GROUPED = RowGroups.ENABLED;
    private static final int G = RowGroups.G;

    /** The row-group copy ({@link ByteRowGroups}: the stored bytes interleaved; 36 bytes per 32 weights). */
    private final GroupedRows<ByteRowGroups> grouped = new GroupedRows<>(QK, this::buildGroups, ByteRowGroups::dot, ByteRowGroups::dot2, ByteRowGroups::dot4);

    @Override
    public int q8RowGroup(int cols, ThreadPool pool) {
        return grouped.group(cols, pool);
    }

    private ByteRowGroups buildGroups(int cols, ThreadPool pool) {
        int nb = cols / QK;
        return ByteRowGroups.build(size() / cols, cols, pool, (row, b, q) -> {
            long bo = (row * nb + b) * BYTES;
            MemorySegment.copy(data, java.lang.foreign.ValueLayout.JAVA_BYTE, bo + 2, q, 0, QK);
            return Le.f16(data, bo);
        });
    }

    @Override
    protected int dotQ8RowGroups(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                 float[] out, int outOffset, int outStride) {
        return grouped.dot(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
    }

    /**
     * {@link #dotQ8} where row groups are used: per block the exact integer sum {@code s}, then
     * {@code acc = fma(s, d_w * d_x, acc)} in order from 0: one lane of {@link ByteRowGroups#dot}, the
     * same bits. Scalar: only rows outside whole groups and single calls take it.
     */
    float dotQ8Chain(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        float acc = 0f;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES) {
            int s = 0;
            for (int e = 0; e < QK; e++) {
                s += data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, bo + 2 + e) * x.q[xi + e];
            }
            acc = Math.fma((float) s, Le.f16(data, bo) * x.d[xi / QK], acc);
        }
        return acc;
    }

    /** {@link #dotQ8} with every weight widened to a float: the form the narrow kernel must match bit for bit. */
    float dotQ8Floats(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        int xi = xOffset;
        int xb = xOffset / QK;
        float[] xq = x.qf;
        float[] xd = x.d;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK, xb++) {
            // |q_w * q_x| <= 127 * 128 and 32 of them stay below 2^24: float sums are exact.
            FloatVector s = FloatVector.zero(F);
            for (int u = 0; u < QK; u += BU) {
                ByteVector q = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                for (int p = 0; p < PARTS; p++) {
                    s = ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xi + u + p * L), s);
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
     * {@link #dotQ8} for 4 and 8 float lanes (128-bit, AVX2): {@code 2L} weights at a time widen
     * once to 16-bit lanes and multiply the activations' 16-bit copies; elements {@code l} and
     * {@code l + 16} share a lane (at most {@code 2 * 128 * 127 = 32512}: no overflow), and the
     * sums convert to two float vectors of exact integers whose sum is exactly the float form's
     * block sum ({@link #dotQ8Floats}), so the results have the same bits.
     */
    private float dotQ8Narrow(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        short[] xs = x.qs;
        float[] xd = x.d;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int i = xOffset, end = xOffset + n; i < end; i += QK, bo += BYTES) {
            FloatVector s = FloatVector.zero(F);
            for (int c = 0; c < 16; c += SN) {
                ShortVector lo = (ShortVector) ByteVector.fromMemorySegment(SNB, data, bo + 2 + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2S, SNS, 0);
                ShortVector hi = (ShortVector) ByteVector.fromMemorySegment(SNB, data, bo + 18 + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2S, SNS, 0);
                ShortVector v = lo.mul(ShortVector.fromArray(SNS, xs, i + c)).add(hi.mul(ShortVector.fromArray(SNS, xs, i + 16 + c)));
                s = s.add((FloatVector) v.convertShape(VectorOperators.S2F, F, 0))
                        .add((FloatVector) v.convertShape(VectorOperators.S2F, F, 1));
            }
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = s.fma(FloatVector.broadcast(F, Le.f16(data, bo) * xd[i / QK]), t);
        }
        return Simd.sum(acc0.add(acc1));
    }

    /** 16-lane floats (512-bit vectors): half a block is exactly one vector. */
    private static final boolean WIDE = Simd.ENABLED && L == 16 && BU == 16;

    /** Elements {@code h*16 .. h*16+15} of the block at byte {@code bo} as floats. */
    private FloatVector half(long bo, int h) {
        return (FloatVector) ByteVector.fromMemorySegment(BS, data, bo + 2 + 16L * h, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2F, F, 0);
    }

    private static final VectorSpecies<Short> SS = Simd.S16;

    /** Elements {@code h*16 .. h*16+15} of the block at byte {@code bo} as 16-bit integers. */
    private ShortVector halfShorts(long bo, int h) {
        return (ShortVector) ByteVector.fromMemorySegment(BS, data, bo + 2 + 16L * h, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2S, SS, 0);
    }

    /**
     * The exact integer sums {@code q_w * q_x} of the block at {@code bo} with the activations at
     * {@code i}, lane {@code l} over elements {@code l} and {@code l + 16}, computed in 16-bit
     * integers (each weight widened once to 16 bits instead of to a float): at most
     * {@code 2 * 128 * 127 = 32512} in magnitude, so no overflow, and the same lanes as the float
     * form ({@link #half} times the activations, as in {@link #dotQ8x4x2}): the same bits.
     */
    private FloatVector intBlockSum(long bo, short[] xs, int i) {
        ShortVector s = halfShorts(bo, 0).mul(ShortVector.fromArray(SS, xs, i))
                .add(halfShorts(bo, 1).mul(ShortVector.fromArray(SS, xs, i + 16)));
        return (FloatVector) s.convertShape(VectorOperators.S2F, F, 0);
    }

    /**
     * {@link #dotQ8} with 16-lane vectors: block sums in 16-bit integers ({@link #intBlockSum}),
     * even blocks accumulate into one vector and odd blocks into another, then the two are added
     * and folded in scalar code. The same values and operations as the generic loop's swapped
     * accumulators and as {@link #dotQ8x4} per token: identical bits.
     */
    private float dotQ8Wide(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        short[] xs = x.qs;
        float[] xd = x.d;
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        int off = 0;
        for (; off + 2 * QK <= n; off += 2 * QK, bo += 2 * BYTES) {
            even = intBlockSum(bo, xs, xOffset + off)
                    .fma(FloatVector.broadcast(F, Le.f16(data, bo) * xd[(xOffset + off) / QK]), even);
            odd = intBlockSum(bo + BYTES, xs, xOffset + off + QK)
                    .fma(FloatVector.broadcast(F, Le.f16(data, bo + BYTES) * xd[(xOffset + off) / QK + 1]), odd);
        }
        if (off < n) {
            even = intBlockSum(bo, xs, xOffset + off)
                    .fma(FloatVector.broadcast(F, Le.f16(data, bo) * xd[(xOffset + off) / QK]), even);
        }
        float[] lanes = Simd.lanes();
        even.add(odd).intoArray(lanes, 0);
        return Simd.sumLanes16(lanes, 0);
    }

    @Override
    protected boolean hasDotQ8x4() {
        return Simd.ENABLED && !GROUPED; // with row groups the one-row form is dotQ8Chain
    }

    /**
     * {@link #dotQ8} for four activation rows at once, each weight block converted once; per token
     * the same operations as {@link #dotQ8}, so the results are bit-identical.
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
            for (int u = 0; u < QK; u += BU) {
                ByteVector q = ByteVector.fromMemorySegment(BS, data, bo + 2 + u, ByteOrder.LITTLE_ENDIAN);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector w = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
                    int i = off + u + p * L;
                    s0 = w.fma(FloatVector.fromArray(F, xq, x0 + i), s0);
                    s1 = w.fma(FloatVector.fromArray(F, xq, x1 + i), s1);
                    s2 = w.fma(FloatVector.fromArray(F, xq, x2 + i), s2);
                    s3 = w.fma(FloatVector.fromArray(F, xq, x3 + i), s3);
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
     * {@link #dotQ8x4} for two weight rows at once (16-lane vectors only): each token's
     * activations are loaded once for both rows and the eight sums share one transposed fold.
     * Per row and token the operations are those of {@link #dotQ8}: identical bits.
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
            FloatVector l0 = half(bo, 0), h0 = half(bo, 1), l1 = half(bp, 0), h1 = half(bp, 1);
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
            FloatVector l0 = half(bo, 0), h0 = half(bo, 1), l1 = half(bp, 0), h1 = half(bp, 1);
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
