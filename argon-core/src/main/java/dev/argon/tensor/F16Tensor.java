package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * IEEE 754 half-precision elements (ggml {@code GGML_TYPE_F16}), 2 bytes each, little-endian.
 * Any offset and length.
 */
public final class F16Tensor extends Tensor implements ScalarDot {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = Simd.L;
    private static final VectorSpecies<Short> SH = Simd.ENABLED
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(Simd.L * 16)) : null;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    F16Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float getFloat(long index) {
        return Le.f16(data, index * 2);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        // an int counter and a loop-invariant base: C2 turns this loop into vector half-to-float
        // conversions (with (offset + i) * 2 as the address it stayed scalar: 10% of F16 prefill)
        long base = offset * 2;
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = Le.f16(data, base + 2L * i);
        }
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        if (!Simd.ENABLED) {
            return dotScalar(offset, x, xOffset, n);
        }
        long base = offset * 2;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            // widen L halves: move sign and exponent/mantissa bits to float positions and multiply
            // by 2^112, which rebiases the exponent exactly for normal and subnormal halves;
            // infinities and NaNs (exponent 31) get the float's all-ones exponent instead
            ShortVector h = ShortVector.fromMemorySegment(SH, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector v = (IntVector) h.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            IntVector bits = v.and(0x7FFF).lanewise(VectorOperators.LSHL, 13)
                    .or(v.and(0x8000).lanewise(VectorOperators.LSHL, 16));
            FloatVector w = bits.reinterpretAsFloats().mul(0x1p112f);
            VectorMask<Integer> special = v.and(0x7C00).eq(0x7C00);
            if (special.anyTrue()) {
                w = w.blend(bits.or(0x7F800000).reinterpretAsFloats(), special.cast(F));
            }
            // two accumulators, swapped every step, halve the FMA dependency chain
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = w.fma(FloatVector.fromArray(F, x, xOffset + i), t);
        }
        float sum = Simd.sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += Le.f16(data, base + 2L * i) * x[xOffset + i];
        }
        return sum;
    }

    /**
     * Activations scaled by 2^90 let a half's bits, moved to float positions without a rebias
     * ({@link #halves}: the half's value times 2^-112), multiply them directly: each product is
     * the exact product times 2^-22, and the sum times 2^22 gives the bits of {@link #dot} (scaling
     * by a power of two commutes with rounding while values stay normal floats, i.e. while partial
     * sums exceed ~5e-32 in magnitude, where the two can differ in the last place).
     */
    private static final float X_SCALE = 0x1p90f;
    private static final float UNSCALE = 0x1p22f;
    /** Scaled activations must stay finite: |x| below 2^37 (else the exact kernel runs). */
    private static final float X_LIMIT = 0x1p37f;
    /** 0: not scanned yet; 1: no infinite or NaN half; -1: some (then the exact kernel runs). */
    private volatile int finite;

    /**
     * {@link #dot} for many rows and tokens, bit-identical per row and token: the activations are
     * scaled once per call ({@link #X_SCALE}), so converting 16 halves costs a widening, a shift
     * and a mask (instead of the rebias multiply and the infinity check of {@link #dot}), and
     * with 16-lane vectors four tokens share each conversion. Decode of F16 weights was
     * compute-bound on that conversion.
     */
    @Override
    public void dotRows(long offset, int nRows, float[] x, int xOffset, int xStride, int tokens, int n,
                        float[] out, int outOffset, int outStride) {
        if (!Simd.ENABLED || n < L || !finiteWeights()) {
            super.dotRows(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
            return;
        }
        int vn = n - n % L;
        float[] xs = Simd.scratch(tokens * vn);
        if (!scaleActivations(x, xOffset, xStride, tokens, vn, xs)) {
            super.dotRows(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
            return;
        }
        MemorySegment lanes = L == 16 && tokens >= 4 ? Simd.laneSegment() : null;
        int r = 0;
        if (lanes != null) {
            // two rows by four tokens: each activation load feeds two FMAs
            for (; r + 2 <= nRows; r += 2) {
                long base = (offset + (long) r * n) * 2;
                int t = 0;
                for (; t + 4 <= tokens; t += 4) {
                    dot4x2Scaled(base, base + 2L * n, xs, t * vn, vn, out, outOffset + r + t * outStride, outStride, lanes);
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
                for (; t + 4 <= tokens; t += 4) {
                    dot4Scaled(base, xs, t * vn, vn, out, outOffset + r + t * outStride, outStride, lanes);
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
                sum += Le.f16(data, base + 2L * i) * x[xo + i];
            }
            out[oo + t * os] = sum;
        }
    }

    /** @return whether every half of this tensor is finite (scanned once, on first use) */
    private boolean finiteWeights() {
        int f = finite;
        if (f == 0) {
            f = scanFinite() ? 1 : -1;
            finite = f;
        }
        return f > 0;
    }

    private boolean scanFinite() {
        VectorSpecies<Short> sp = ShortVector.SPECIES_PREFERRED;
        long bytes = size * 2;
        long at = 0;
        for (; at + sp.vectorByteSize() <= bytes; at += sp.vectorByteSize()) {
            ShortVector h = ShortVector.fromMemorySegment(sp, data, at, ByteOrder.LITTLE_ENDIAN);
            if (h.and((short) 0x7C00).eq((short) 0x7C00).anyTrue()) {
                return false;
            }
        }
        for (; at < bytes; at += 2) {
            if ((data.get(Le.SHORT, at) & 0x7C00) == 0x7C00) {
                return false;
            }
        }
        return true;
    }

    /** {@code xs[t * vn + i] = x[xOffset + t * xStride + i] * 2^90}; false if some |x| reaches 2^37 or is NaN. */
    private static boolean scaleActivations(float[] x, int xOffset, int xStride, int tokens, int vn, float[] xs) {
        FloatVector max = FloatVector.zero(F);
        for (int t = 0; t < tokens; t++) {
            int xo = xOffset + t * xStride;
            for (int i = 0; i < vn; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, xo + i);
                max = max.max(v.abs());
                v.mul(X_SCALE).intoArray(xs, t * vn + i);
            }
        }
        return max.reduceLanes(VectorOperators.MAX) < X_LIMIT;
    }

    /**
     * The {@code L} halves at byte {@code at} as floats times 2^-112: the sign-extended half
     * shifted 13 bits up has the sign in bit 31 and exponent and mantissa in bits 27..13, where a
     * float with exponent bias 127 (not 15) reads them. Exact for finite halves, subnormal ones
     * included (they become float subnormals).
     */
    private FloatVector halves(long at) {
        ShortVector h = ShortVector.fromMemorySegment(SH, data, at, ByteOrder.LITTLE_ENDIAN);
        IntVector v = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return v.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).reinterpretAsFloats();
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
        return Simd.sum(acc0.add(acc1)) * UNSCALE;
    }

    /**
     * {@link #dotScaled} for four tokens (scaled activations at {@code so}, {@code so + vn}, ...),
     * each half converted once; results to {@code out[oo + k * os]}. 16-lane vectors only.
     */
    private void dot4Scaled(long base, float[] xs, int so, int vn, float[] out, int oo, int os, MemorySegment lanes) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int s1 = so + vn;
        int s2 = s1 + vn;
        int s3 = s2 + vn;
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
        Simd.sumLanes16x4(lanes, 0, out, oo, os);
        for (int k = 0; k < 4; k++) {
            out[oo + k * os] *= UNSCALE;
        }
    }

    /**
     * {@link #dot4Scaled} for the rows at bytes {@code base0} and {@code base1}: row 0's results
     * to {@code out[oo + k * os]}, row 1's to {@code out[oo + 1 + k * os]}.
     */
    private void dot4x2Scaled(long base0, long base1, float[] xs, int so, int vn, float[] out, int oo, int os,
                              MemorySegment lanes) {
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        FloatVector c0 = a0, d0 = a0, c1 = a0, d1 = a0, c2 = a0, d2 = a0, c3 = a0, d3 = a0;
        int s1 = so + vn;
        int s2 = s1 + vn;
        int s3 = s2 + vn;
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
        Simd.sumLanes16x4(lanes, 0, out, oo, os);
        Simd.sumLanes16x4(lanes, 256, out, oo + 1, os);
        for (int k = 0; k < 4; k++) {
            out[oo + k * os] *= UNSCALE;
            out[oo + 1 + k * os] *= UNSCALE;
        }
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        long base = offset * 2;
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += Le.f16(data, base + 2L * i) * x[xOffset + i];
        }
        return sum;
    }
}
