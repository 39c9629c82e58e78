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
}
