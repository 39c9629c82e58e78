package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The two 16-bit float element types, F16 and BF16, whose batched decode kernels
 * ({@link #dotRows}) share one shape: a vector of 16-bit elements sign-extends to 32-bit lanes,
 * shifts up (16 bits for BF16; 13 for F16, then masked), which yields the element's float
 * times a power of two; the activations are multiplied by {@code xScale} once per call and each
 * result by {@code unscale} at the end, so that products and sums are the exact ones times a
 * power of two. For BF16 there is no scale; for F16 see {@link F16Tensor}. Results are
 * bit-identical to the type's {@link #dot}, which must accumulate as {@link #dotScaled} does
 * (one chain of FMAs over the vectors in order, folded by {@link Simd#sum}, then the scalar
 * tail); the kernels run several rows and tokens side by side instead of splitting a chain.
 */
abstract sealed class HalfWidthTensor extends Tensor permits F16Tensor, BF16Tensor {
    static final VectorSpecies<Float> F = Simd.F;
    static final int L = Simd.L;
    static final VectorSpecies<Short> SH = Simd.ENABLED
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(Simd.L * 16)) : null;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private final boolean f16;
    private final float xScale;
    private final float unscale;
    private final float xLimit;

    /**
     * @param f16 F16's conversion (shift 13, mask {@code 0x8FFFE000}), else BF16's (shift 16)
     * @param xScale power of two the activations are multiplied by (1: none)
     * @param unscale power of two that undoes both scales in a result
     * @param xLimit activations must stay below it in magnitude, else {@link #dot} runs instead
     */
    HalfWidthTensor(MemorySegment data, long size, boolean f16, float xScale, float unscale,
                    float xLimit) {
        super(data, size);
        this.f16 = f16;
        this.xScale = xScale;
        this.unscale = unscale;
        this.xLimit = xLimit;
    }

    /** @return the element at byte {@code at} as a float */
    abstract float element(long at);

    /** @return whether {@link #halves} converts every element of this tensor exactly */
    abstract boolean weightsConvertible();

    /**
     * {@link #dot} for many rows and tokens, bit-identical per row and token: the activations are
     * scaled once per call, each vector of weights converts with a widening, a shift and a mask,
     * and with 16-lane vectors four rows run side by side for one token, and two rows and up to
     * eight tokens share each conversion and activation load (batched decode).
     */
    @Override
    public void dotRows(long offset, int nRows, float[] x, int xOffset, int xStride, int tokens, int n,
                        float[] out, int outOffset, int outStride) {
        if (!Simd.ENABLED || n < L || !weightsConvertible()) {
            super.dotRows(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
            return;
        }
        int vn = n - n % L;
        float[] xs = Simd.scratch(tokens * vn);
        if (!scaleActivations(x, xOffset, xStride, tokens, vn, xs)) {
            super.dotRows(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
            return;
        }
        MemorySegment lanes = L == 16 ? Simd.laneSegment() : null;
        int r = 0;
        if (lanes != null && tokens == 1) {
            // one token: four rows at a time, four independent FMA chains
            for (; r + 4 <= nRows; r += 4) {
                long b0 = (offset + (long) r * n) * 2;
                long rb = 2L * n;
                dot1x4Scaled(b0, b0 + rb, b0 + 2 * rb, b0 + 3 * rb, xs, 0, vn, out, outOffset + r, outStride, lanes);
                for (int k = 0; k < 4; k++) {
                    addTails(b0 + k * rb, n, vn, x, xOffset, xStride, 1, out, outOffset + r + k, outStride);
                }
            }
        } else if (lanes != null) {
            // two rows by up to eight tokens: each weight conversion feeds up to 16 FMAs, each
            // activation load two
            for (; r + 2 <= nRows; r += 2) {
                long base = (offset + (long) r * n) * 2;
                int o = outOffset + r;
                int t = 0;
                for (; t + 6 <= tokens; t += 8) {
                    dot8x2Scaled(base, base + 2L * n, xs, t * vn, vn, Math.min(8, tokens - t), out, o + t * outStride, outStride, lanes);
                }
                for (; t + 3 <= tokens; t += 4) {
                    dot4x2Scaled(base, base + 2L * n, xs, t * vn, vn, Math.min(4, tokens - t), out, o + t * outStride, outStride, lanes);
                }
                if (t + 2 <= tokens) {
                    dot2x2Scaled(base, base + 2L * n, xs, t * vn, vn, 2, out, o + t * outStride, outStride, lanes);
                    t += 2;
                }
                for (; t < tokens; t++) {
                    out[o + t * outStride] = dotScaled(base, xs, t * vn, vn);
                    out[o + 1 + t * outStride] = dotScaled(base + 2L * n, xs, t * vn, vn);
                }
                addTails(base, n, vn, x, xOffset, xStride, tokens, out, o, outStride);
                addTails(base + 2L * n, n, vn, x, xOffset, xStride, tokens, out, o + 1, outStride);
            }
        }
        for (; r < nRows; r++) {
            long base = (offset + (long) r * n) * 2;
            int t = 0;
            if (lanes != null) {
                for (; t + 2 <= tokens; t += 4) {
                    dot4x1Scaled(base, xs, t * vn, vn, Math.min(4, tokens - t), out, outOffset + r + t * outStride, outStride, lanes);
                }
            }
            for (; t < tokens; t++) {
                out[outOffset + r + t * outStride] = dotScaled(base, xs, t * vn, vn);
            }
            addTails(base, n, vn, x, xOffset, xStride, tokens, out, outOffset + r, outStride);
        }
    }

    /** Adds the scalar tail {@code [vn, n)} of the row at byte {@code base} to each token's result. */
    private void addTails(long base, int n, int vn, float[] x, int xOffset, int xStride, int tokens, float[] out, int oo, int os) {
        for (int t = 0; vn < n && t < tokens; t++) {
            float sum = out[oo + t * os];
            int xo = xOffset + t * xStride;
            for (int i = vn; i < n; i++) {
                sum += element(base + 2L * i) * x[xo + i];
            }
            out[oo + t * os] = sum;
        }
    }

    /** {@code xs[t * vn + i] = x[xOffset + t * xStride + i] * xScale}; false if some |x| reaches {@code xLimit} or is NaN. */
    private boolean scaleActivations(float[] x, int xOffset, int xStride, int tokens, int vn, float[] xs) {
        FloatVector max = FloatVector.zero(F);
        for (int t = 0; t < tokens; t++) {
            int xo = xOffset + t * xStride;
            for (int i = 0; i < vn; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, xo + i);
                max = max.max(v.abs());
                v.mul(xScale).intoArray(xs, t * vn + i);
            }
        }
        return max.reduceLanes(VectorOperators.MAX) < xLimit;
    }

    /**
     * The {@code L} elements at byte {@code at} as floats (times {@code 1 / xScale}): each
     * sign-extended 16-bit value shifted up (and masked, for F16).
     */
    private FloatVector halves(long at) {
        ShortVector h = ShortVector.fromMemorySegment(SH, data, at, ByteOrder.LITTLE_ENDIAN);
        IntVector v = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        // constant shift counts and masks per type (a shift by a field's value ran ~2x slower)
        IntVector bits = f16 ? v.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000) : v.lanewise(VectorOperators.LSHL, 16);
        return bits.reinterpretAsFloats();
    }

    /**
     * The vector part ({@code vn} elements) of {@link #dot} on scaled activations {@code xs[so..)},
     * unscaled: one chain of FMAs in order, folded by {@link Simd#sum}.
     */
    private float dotScaled(long base, float[] xs, int so, int vn) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < vn; i += L) {
            acc = halves(base + 2L * i).fma(FloatVector.fromArray(F, xs, so + i), acc);
        }
        return Simd.sum(acc) * unscale;
    }

    /**
     * {@link #dotScaled} for two rows (bytes {@code base0}, {@code base1}) and {@code count} (up to
     * eight) tokens (scaled activations at {@code so}, {@code so + vn}, ...): row {@code r}'s result
     * for token {@code k} to {@code out[oo + r + k * os]}. Each vector of weights is converted once
     * for all tokens and each activation load feeds both rows; every output keeps its own single
     * chain of FMAs, so the bits are {@link #dotScaled}'s. With fewer than eight tokens the last one
     * is computed again in the unused places and written again to its own output (the same bits).
     * 16-lane vectors only.
     */
    private void dot8x2Scaled(long base0, long base1, float[] xs, int so, int vn, int count, float[] out, int oo,
                              int os, MemorySegment lanes) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero, a04 = zero, a05 = zero, a06 = zero, a07 = zero;
        FloatVector a10 = zero, a11 = zero, a12 = zero, a13 = zero, a14 = zero, a15 = zero, a16 = zero, a17 = zero;
        int s0 = so;
        int s1 = so + Math.min(1, count - 1) * vn;
        int s2 = so + Math.min(2, count - 1) * vn;
        int s3 = so + Math.min(3, count - 1) * vn;
        int s4 = so + Math.min(4, count - 1) * vn;
        int s5 = so + Math.min(5, count - 1) * vn;
        int s6 = so + Math.min(6, count - 1) * vn;
        int s7 = so + Math.min(7, count - 1) * vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w0 = halves(base0 + 2L * i);
            FloatVector w1 = halves(base1 + 2L * i);
            FloatVector x = FloatVector.fromArray(F, xs, s0 + i);
            a00 = w0.fma(x, a00);
            a10 = w1.fma(x, a10);
            x = FloatVector.fromArray(F, xs, s1 + i);
            a01 = w0.fma(x, a01);
            a11 = w1.fma(x, a11);
            x = FloatVector.fromArray(F, xs, s2 + i);
            a02 = w0.fma(x, a02);
            a12 = w1.fma(x, a12);
            x = FloatVector.fromArray(F, xs, s3 + i);
            a03 = w0.fma(x, a03);
            a13 = w1.fma(x, a13);
            x = FloatVector.fromArray(F, xs, s4 + i);
            a04 = w0.fma(x, a04);
            a14 = w1.fma(x, a14);
            x = FloatVector.fromArray(F, xs, s5 + i);
            a05 = w0.fma(x, a05);
            a15 = w1.fma(x, a15);
            x = FloatVector.fromArray(F, xs, s6 + i);
            a06 = w0.fma(x, a06);
            a16 = w1.fma(x, a16);
            x = FloatVector.fromArray(F, xs, s7 + i);
            a07 = w0.fma(x, a07);
            a17 = w1.fma(x, a17);
        }
        int o0 = oo;
        int o1 = oo + Math.min(1, count - 1) * os;
        int o2 = oo + Math.min(2, count - 1) * os;
        int o3 = oo + Math.min(3, count - 1) * os;
        int o4 = oo + Math.min(4, count - 1) * os;
        int o5 = oo + Math.min(5, count - 1) * os;
        int o6 = oo + Math.min(6, count - 1) * os;
        int o7 = oo + Math.min(7, count - 1) * os;
        ByteOrder no = ByteOrder.nativeOrder();
        a00.intoMemorySegment(lanes, 0, no);
        a01.intoMemorySegment(lanes, 64, no);
        a02.intoMemorySegment(lanes, 128, no);
        a03.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o0, o1, o2, o3);
        a04.intoMemorySegment(lanes, 0, no);
        a05.intoMemorySegment(lanes, 64, no);
        a06.intoMemorySegment(lanes, 128, no);
        a07.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o4, o5, o6, o7);
        a10.intoMemorySegment(lanes, 0, no);
        a11.intoMemorySegment(lanes, 64, no);
        a12.intoMemorySegment(lanes, 128, no);
        a13.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o0 + 1, o1 + 1, o2 + 1, o3 + 1);
        a14.intoMemorySegment(lanes, 0, no);
        a15.intoMemorySegment(lanes, 64, no);
        a16.intoMemorySegment(lanes, 128, no);
        a17.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o4 + 1, o5 + 1, o6 + 1, o7 + 1);
        for (int k = 0; k < count; k++) {
            out[oo + k * os] *= unscale;
            out[oo + 1 + k * os] *= unscale;
        }
    }

    /**
     * {@link #dot8x2Scaled} for up to four tokens.
     */
    private void dot4x2Scaled(long base0, long base1, float[] xs, int so, int vn, int count, float[] out, int oo,
                              int os, MemorySegment lanes) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero;
        FloatVector a10 = zero, a11 = zero, a12 = zero, a13 = zero;
        int s0 = so;
        int s1 = so + Math.min(1, count - 1) * vn;
        int s2 = so + Math.min(2, count - 1) * vn;
        int s3 = so + Math.min(3, count - 1) * vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w0 = halves(base0 + 2L * i);
            FloatVector w1 = halves(base1 + 2L * i);
            FloatVector x = FloatVector.fromArray(F, xs, s0 + i);
            a00 = w0.fma(x, a00);
            a10 = w1.fma(x, a10);
            x = FloatVector.fromArray(F, xs, s1 + i);
            a01 = w0.fma(x, a01);
            a11 = w1.fma(x, a11);
            x = FloatVector.fromArray(F, xs, s2 + i);
            a02 = w0.fma(x, a02);
            a12 = w1.fma(x, a12);
            x = FloatVector.fromArray(F, xs, s3 + i);
            a03 = w0.fma(x, a03);
            a13 = w1.fma(x, a13);
        }
        int o0 = oo;
        int o1 = oo + Math.min(1, count - 1) * os;
        int o2 = oo + Math.min(2, count - 1) * os;
        int o3 = oo + Math.min(3, count - 1) * os;
        ByteOrder no = ByteOrder.nativeOrder();
        a00.intoMemorySegment(lanes, 0, no);
        a01.intoMemorySegment(lanes, 64, no);
        a02.intoMemorySegment(lanes, 128, no);
        a03.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o0, o1, o2, o3);
        a10.intoMemorySegment(lanes, 0, no);
        a11.intoMemorySegment(lanes, 64, no);
        a12.intoMemorySegment(lanes, 128, no);
        a13.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o0 + 1, o1 + 1, o2 + 1, o3 + 1);
        for (int k = 0; k < count; k++) {
            out[oo + k * os] *= unscale;
            out[oo + 1 + k * os] *= unscale;
        }
    }

    /**
     * {@link #dot8x2Scaled} for two tokens ({@code count} is 2).
     */
    private void dot2x2Scaled(long base0, long base1, float[] xs, int so, int vn, int count, float[] out, int oo,
                              int os, MemorySegment lanes) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero, a01 = zero;
        FloatVector a10 = zero, a11 = zero;
        int s0 = so;
        int s1 = so + Math.min(1, count - 1) * vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w0 = halves(base0 + 2L * i);
            FloatVector w1 = halves(base1 + 2L * i);
            FloatVector x = FloatVector.fromArray(F, xs, s0 + i);
            a00 = w0.fma(x, a00);
            a10 = w1.fma(x, a10);
            x = FloatVector.fromArray(F, xs, s1 + i);
            a01 = w0.fma(x, a01);
            a11 = w1.fma(x, a11);
        }
        int o0 = oo;
        int o1 = oo + Math.min(1, count - 1) * os;
        ByteOrder no = ByteOrder.nativeOrder();
        a00.intoMemorySegment(lanes, 0, no);
        a01.intoMemorySegment(lanes, 64, no);
        a10.intoMemorySegment(lanes, 128, no);
        a11.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o0, o1, o0 + 1, o1 + 1);
        for (int k = 0; k < count; k++) {
            out[oo + k * os] *= unscale;
            out[oo + 1 + k * os] *= unscale;
        }
    }

    /**
     * {@link #dot8x2Scaled} for one row and up to four tokens (the last row of an odd count).
     */
    private void dot4x1Scaled(long base0, float[] xs, int so, int vn, int count, float[] out, int oo,
                              int os, MemorySegment lanes) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero;
        int s0 = so;
        int s1 = so + Math.min(1, count - 1) * vn;
        int s2 = so + Math.min(2, count - 1) * vn;
        int s3 = so + Math.min(3, count - 1) * vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w0 = halves(base0 + 2L * i);
            FloatVector x = FloatVector.fromArray(F, xs, s0 + i);
            a00 = w0.fma(x, a00);
            x = FloatVector.fromArray(F, xs, s1 + i);
            a01 = w0.fma(x, a01);
            x = FloatVector.fromArray(F, xs, s2 + i);
            a02 = w0.fma(x, a02);
            x = FloatVector.fromArray(F, xs, s3 + i);
            a03 = w0.fma(x, a03);
        }
        int o0 = oo;
        int o1 = oo + Math.min(1, count - 1) * os;
        int o2 = oo + Math.min(2, count - 1) * os;
        int o3 = oo + Math.min(3, count - 1) * os;
        ByteOrder no = ByteOrder.nativeOrder();
        a00.intoMemorySegment(lanes, 0, no);
        a01.intoMemorySegment(lanes, 64, no);
        a02.intoMemorySegment(lanes, 128, no);
        a03.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o0, o1, o2, o3);
        for (int k = 0; k < count; k++) {
            out[oo + k * os] *= unscale;
        }
    }

    /**
     * {@link #dotScaled} for four rows (bytes {@code base0..base3}) and one token: four independent
     * FMA chains hide the FMA latency that a single row's one chain would wait on; row {@code r}'s
     * result to {@code out[oo + r]}.
     */
    private void dot1x4Scaled(long base0, long base1, long base2, long base3, float[] xs, int so, int vn, float[] out, int oo,
                              int os, MemorySegment lanes) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector a00 = zero;
        FloatVector a10 = zero;
        FloatVector a20 = zero;
        FloatVector a30 = zero;
        int s0 = so;
        for (int i = 0; i < vn; i += L) {
            FloatVector w0 = halves(base0 + 2L * i);
            FloatVector w1 = halves(base1 + 2L * i);
            FloatVector w2 = halves(base2 + 2L * i);
            FloatVector w3 = halves(base3 + 2L * i);
            FloatVector x = FloatVector.fromArray(F, xs, s0 + i);
            a00 = w0.fma(x, a00);
            a10 = w1.fma(x, a10);
            a20 = w2.fma(x, a20);
            a30 = w3.fma(x, a30);
        }
        int o0 = oo;
        ByteOrder no = ByteOrder.nativeOrder();
        a00.intoMemorySegment(lanes, 0, no);
        a10.intoMemorySegment(lanes, 64, no);
        a20.intoMemorySegment(lanes, 128, no);
        a30.intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, o0, o0 + 1, o0 + 2, o0 + 3);
        out[oo] *= unscale;
        out[oo + 1] *= unscale;
        out[oo + 2] *= unscale;
        out[oo + 3] *= unscale;
    }
}
