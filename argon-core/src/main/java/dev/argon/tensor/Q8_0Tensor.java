package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
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
    @Override
    public void dotQ8Tokens(long offset, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                            float[] out, int outOffset, int outStride) {
        if (!Simd.ENABLED) {
            super.dotQ8Tokens(offset, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
            return;
        }
        checkBlockAligned(offset, n);
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            dotQ8x4(offset, x, xOffset + t * xStride, xStride, n, out, outOffset + t * outStride, outStride);
        }
        for (; t < tokens; t++) {
            out[outOffset + t * outStride] = dotQ8(offset, x, xOffset + t * xStride, n);
        }
    }

    /**
     * {@link #dotQ8} for four activation rows at once, each weight block converted once; per token
     * the same operations as {@link #dotQ8}, so the results are bit-identical.
     */
    private void dotQ8x4(long offset, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os) {
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
        out[oo] = Simd.sum(a0.add(b0));
        out[oo + os] = Simd.sum(a1.add(b1));
        out[oo + 2 * os] = Simd.sum(a2.add(b2));
        out[oo + 3 * os] = Simd.sum(a3.add(b3));
    }
}
