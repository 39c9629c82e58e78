package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q8_K}: blocks of 256 elements in 292 bytes, {@code {f32 d; i8 qs[256]; i16 bsums[16]}};
 * element {@code j} is {@code d * qs[j]} ({@code bsums}, the sums of each 16 quants, is not needed
 * here). Layout from ggml {@code block_q8_K} / {@code dequantize_row_q8_K}. Offsets and lengths
 * must be multiples of 256.
 */
public final class Q8_KTensor extends Tensor implements ScalarDot {
    static final int QK = 256;
    static final int BYTES = 292;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q8_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_K;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        return data.get(Le.FLOAT, bo) * Le.i8(data, bo + 4 + index % QK);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = data.get(Le.FLOAT, bo);
            for (int j = 0; j < QK; j++) {
                out[outOffset + b * QK + j] = d * Le.i8(data, bo + 4 + j);
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
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK) {
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            for (int u = 0; u < QK; u += BU) {
                ByteVector q = ByteVector.fromMemorySegment(BS, data, bo + 4 + u, ByteOrder.LITTLE_ENDIAN);
                for (int p = 0; p < PARTS; p++) {
                    // two partial sums, swapped every step, halve the FMA dependency chain
                    FloatVector t = s0;
                    s0 = s1;
                    s1 = ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xi + u + p * L), t);
                }
            }
            acc = s0.add(s1).fma(FloatVector.broadcast(F, data.get(Le.FLOAT, bo)), acc);
        }
        return Simd.sum(acc);
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
                s += Le.i8(data, bo + 4 + j) * x[xi + j];
            }
            sum += data.get(Le.FLOAT, bo) * s;
        }
        return sum;
    }
}
