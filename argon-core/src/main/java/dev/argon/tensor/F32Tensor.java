package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** 32-bit IEEE float elements, little-endian. Any row length. */
public final class F32Tensor extends Tensor {
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Float> S = Simd.F;

    F32Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    /** Wraps a heap array (for computed weights and tests). */
    public static F32Tensor of(float[] values) {
        return new F32Tensor(MemorySegment.ofArray(values), values.length);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public float getFloat(long index) {
        return data.get(LE_FLOAT, index * 4);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        MemorySegment.copy(data, LE_FLOAT, offset * 4, out, outOffset, n);
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        int upper = S.loopBound(n);
        long base = offset * 4;
        for (; i < upper; i += S.length()) {
            FloatVector w = FloatVector.fromMemorySegment(S, data, base + i * 4L, ByteOrder.LITTLE_ENDIAN);
            acc = w.fma(FloatVector.fromArray(S, x, xOffset + i), acc);
        }
        float sum = Simd.sum(acc);
        for (; i < n; i++) {
            sum += data.get(LE_FLOAT, base + i * 4L) * x[xOffset + i];
        }
        return sum;
    }
}
