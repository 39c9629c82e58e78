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
 * (two accumulators for even and odd vectors, added and folded by {@link Simd#sum}, then the
 * scalar tail).
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
     * and with 16-lane vectors two rows and four tokens share each conversion and each activation
     * load (batched decode).
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
        if (L < 16) {
            narrowRows(offset, nRows, x, xOffset, xStride, tokens, n, vn, xs, out, outOffset, outStride);
            return;
        }
        MemorySegment lanes = tokens >= 2 ? Simd.laneSegment() : null;
        int r = 0;
        if (lanes != null) {
            // two rows by (up to) four tokens: each activation load feeds two FMAs
            for (; r + 2 <= nRows; r += 2) {
                long base = (offset + (long) r * n) * 2;
                int t = 0;
                for (; t + 3 <= tokens; t += 4) {
                    dot4x2Scaled(base, base + 2L * n, xs, t * vn, vn, Math.min(4, tokens - t), out,
                            outOffset + r + t * outStride, outStride, lanes);
                }
                if (t + 2 <= tokens) {
                    dot2x2Scaled(base, base + 2L * n, xs, t * vn, vn, out, outOffset + r + t * outStride, outStride, lanes);
                    t += 2;
                }
                for (; t < tokens; t++) {
                    out[outOffset + r + t * outStride] = dotScaled(base, xs, t * vn, vn);
                    out[outOffset + r + 1 + t * outStride] = dotScaled(base + 2L * n, xs, t * vn, vn);
                }
                addTails(base, n, vn, x, xOffset, xStride, tokens, out, outOffset + r, outStride);
                addTails(base + 2L * n, n, vn, x, xOffset, xStride, tokens, out, outOffset + r + 1, outStride);
            }
        }
        for (; r < nRows; r++) {
            long base = (offset + (long) r * n) * 2;
            int t = 0;
            if (lanes != null) {
                for (; t + 2 <= tokens; t += 4) {
                    dot4Scaled(base, xs, t * vn, vn, Math.min(4, tokens - t), out, outOffset + r + t * outStride, outStride,
                            lanes);
                }
            }
            for (; t < tokens; t++) {
                out[outOffset + r + t * outStride] = dotScaled(base, xs, t * vn, vn);
            }
            addTails(base, n, vn, x, xOffset, xStride, tokens, out, outOffset + r, outStride);
        }
    }

    /**
     * {@link #dotRows} with 4 or 8 float lanes (128-bit, AVX2), kept apart from the 16-lane kernels so
     * that each compiled method stays small enough for C2 to inline its vector code: tokens two at a
     * time ({@link #dot2Scaled}), then one ({@link #dotScaled}).
     */
    private void narrowRows(long offset, int nRows, float[] x, int xOffset, int xStride, int tokens, int n, int vn, float[] xs,
                            float[] out, int outOffset, int outStride) {
        for (int r = 0; r < nRows; r++) {
            long base = (offset + (long) r * n) * 2;
            int t = 0;
            for (; t + 2 <= tokens; t += 2) {
                dot2Scaled(base, xs, t * vn, vn, out, outOffset + r + t * outStride, outStride);
            }
            if (t < tokens) {
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

    /** The vector part ({@code vn} elements) of {@link #dot} on scaled activations {@code xs[so..)}, unscaled. */
    private float dotScaled(long base, float[] xs, int so, int vn) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int i = 0; i < vn; i += L) {
            FloatVector w = halves(base + 2L * i);
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = w.fma(FloatVector.fromArray(F, xs, so + i), t);
        }
        return Simd.sum(acc0.add(acc1)) * unscale;
    }

    /**
     * {@link #dotScaled} for two tokens (scaled activations at {@code so} and {@code so + vn}), each
     * vector of weights converted once; results to {@code out[oo]} and {@code out[oo + os]}. Per
     * token the operations of {@link #dotScaled}, so the same bits; any vector width (the batched
     * decode kernel of 4- and 8-lane machines).
     */
    private void dot2Scaled(long base, float[] xs, int so, int vn, float[] out, int oo, int os) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0;
        int s1 = so + vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w = halves(base + 2L * i);
            FloatVector t = a0;
            a0 = b0;
            b0 = w.fma(FloatVector.fromArray(F, xs, so + i), t);
            t = a1;
            a1 = b1;
            b1 = w.fma(FloatVector.fromArray(F, xs, s1 + i), t);
        }
        out[oo] = Simd.sum(a0.add(b0)) * unscale;
        out[oo + os] = Simd.sum(a1.add(b1)) * unscale;
    }

    /**
     * {@link #dotScaled} for {@code count} (1 to 4) tokens (scaled activations at {@code so},
     * {@code so + vn}, ...), each vector of weights converted once; results to
     * {@code out[oo + k * os]}. With fewer than four tokens the last one is computed again in the
     * unused places and written again to its own output (the same bits). 16-lane vectors only.
     */
    private void dot4Scaled(long base, float[] xs, int so, int vn, int count, float[] out, int oo, int os,
                            MemorySegment lanes) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int s1 = so + Math.min(1, count - 1) * vn;
        int s2 = so + Math.min(2, count - 1) * vn;
        int s3 = so + Math.min(3, count - 1) * vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w = halves(base + 2L * i);
            FloatVector t = a0;
            a0 = b0;
            b0 = w.fma(FloatVector.fromArray(F, xs, so + i), t);
            t = a1;
            a1 = b1;
            b1 = w.fma(FloatVector.fromArray(F, xs, s1 + i), t);
            t = a2;
            a2 = b2;
            b2 = w.fma(FloatVector.fromArray(F, xs, s2 + i), t);
            t = a3;
            a3 = b3;
            b3 = w.fma(FloatVector.fromArray(F, xs, s3 + i), t);
        }
        ByteOrder no = ByteOrder.nativeOrder();
        a0.add(b0).intoMemorySegment(lanes, 0, no);
        a1.add(b1).intoMemorySegment(lanes, 64, no);
        a2.add(b2).intoMemorySegment(lanes, 128, no);
        a3.add(b3).intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, oo, oo + Math.min(1, count - 1) * os, oo + Math.min(2, count - 1) * os,
                oo + Math.min(3, count - 1) * os);
        for (int k = 0; k < count; k++) {
            out[oo + k * os] *= unscale;
        }
    }

    /**
     * {@link #dotScaled} for two rows (bytes {@code base0}, {@code base1}) and two tokens (scaled
     * activations at {@code so}, {@code so + vn}): row 0's results to {@code out[oo]},
     * {@code out[oo + os]}, row 1's to {@code out[oo + 1]}, {@code out[oo + 1 + os]}.
     */
    private void dot2x2Scaled(long base0, long base1, float[] xs, int so, int vn, float[] out, int oo, int os,
                              MemorySegment lanes) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, c0 = a0, d0 = a0, c1 = a0, d1 = a0;
        int s1 = so + vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w = halves(base0 + 2L * i);
            FloatVector v = halves(base1 + 2L * i);
            FloatVector x = FloatVector.fromArray(F, xs, so + i);
            FloatVector t = a0;
            a0 = b0;
            b0 = w.fma(x, t);
            t = c0;
            c0 = d0;
            d0 = v.fma(x, t);
            x = FloatVector.fromArray(F, xs, s1 + i);
            t = a1;
            a1 = b1;
            b1 = w.fma(x, t);
            t = c1;
            c1 = d1;
            d1 = v.fma(x, t);
        }
        ByteOrder no = ByteOrder.nativeOrder();
        a0.add(b0).intoMemorySegment(lanes, 0, no);
        a1.add(b1).intoMemorySegment(lanes, 64, no);
        c0.add(d0).intoMemorySegment(lanes, 128, no);
        c1.add(d1).intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, oo, oo + os, oo + 1, oo + 1 + os);
        out[oo] *= unscale;
        out[oo + os] *= unscale;
        out[oo + 1] *= unscale;
        out[oo + 1 + os] *= unscale;
    }

    /**
     * {@link #dot4Scaled} for the rows at bytes {@code base0} and {@code base1}: row 0's results
     * to {@code out[oo + k * os]}, row 1's to {@code out[oo + 1 + k * os]}.
     */
    private void dot4x2Scaled(long base0, long base1, float[] xs, int so, int vn, int count, float[] out, int oo, int os,
                              MemorySegment lanes) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        FloatVector c0 = a0, d0 = a0, c1 = a0, d1 = a0, c2 = a0, d2 = a0, c3 = a0, d3 = a0;
        int s1 = so + Math.min(1, count - 1) * vn;
        int s2 = so + Math.min(2, count - 1) * vn;
        int s3 = so + Math.min(3, count - 1) * vn;
        for (int i = 0; i < vn; i += L) {
            FloatVector w = halves(base0 + 2L * i);
            FloatVector v = halves(base1 + 2L * i);
            FloatVector x = FloatVector.fromArray(F, xs, so + i);
            FloatVector t = a0;
            a0 = b0;
            b0 = w.fma(x, t);
            t = c0;
            c0 = d0;
            d0 = v.fma(x, t);
            x = FloatVector.fromArray(F, xs, s1 + i);
            t = a1;
            a1 = b1;
            b1 = w.fma(x, t);
            t = c1;
            c1 = d1;
            d1 = v.fma(x, t);
            x = FloatVector.fromArray(F, xs, s2 + i);
            t = a2;
            a2 = b2;
            b2 = w.fma(x, t);
            t = c2;
            c2 = d2;
            d2 = v.fma(x, t);
            x = FloatVector.fromArray(F, xs, s3 + i);
            t = a3;
            a3 = b3;
            b3 = w.fma(x, t);
            t = c3;
            c3 = d3;
            d3 = v.fma(x, t);
        }
        ByteOrder no = ByteOrder.nativeOrder();
        a0.add(b0).intoMemorySegment(lanes, 0, no);
        a1.add(b1).intoMemorySegment(lanes, 64, no);
        a2.add(b2).intoMemorySegment(lanes, 128, no);
        a3.add(b3).intoMemorySegment(lanes, 192, no);
        c0.add(d0).intoMemorySegment(lanes, 256, no);
        c1.add(d1).intoMemorySegment(lanes, 320, no);
        c2.add(d2).intoMemorySegment(lanes, 384, no);
        c3.add(d3).intoMemorySegment(lanes, 448, no);
        int o1 = oo + Math.min(1, count - 1) * os;
        int o2 = oo + Math.min(2, count - 1) * os;
        int o3 = oo + Math.min(3, count - 1) * os;
        Simd.sumLanes16x4(lanes, 0, out, oo, o1, o2, o3);
        Simd.sumLanes16x4(lanes, 256, out, oo + 1, o1 + 1, o2 + 1, o3 + 1);
        for (int k = 0; k < count; k++) {
            out[oo + k * os] *= unscale;
            out[oo + 1 + k * os] *= unscale;
        }
    }
}
