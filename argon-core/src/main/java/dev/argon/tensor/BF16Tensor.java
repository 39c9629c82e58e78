package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * bfloat16 elements (ggml {@code GGML_TYPE_BF16}): the upper 16 bits of an IEEE float32, 2 bytes
 * each, little-endian. Any offset and length.
 */
public final class BF16Tensor extends HalfWidthTensor implements ScalarDot {
    BF16Tensor(MemorySegment data, long size) {
        super(data, size, false, 1f, 1f, Float.POSITIVE_INFINITY);
    }

    @Override
    float element(long at) {
        return Le.bf16(data, at);
    }

    @Override
    boolean weightsConvertible() {
        return true;
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float getFloat(long index) {
        return Le.bf16(data, index * 2);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        long base = offset * 2;
        int i = 0;
        if (Simd.ENABLED) {
            for (; i + L <= n; i += L) {
                ShortVector h = ShortVector.fromMemorySegment(SH, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
                ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats().intoArray(out, outOffset + i);
            }
        }
        for (; i < n; i++) {
            out[outOffset + i] = Le.bf16(data, base + 2L * i);
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
            // each bfloat16 becomes the top half of a float
            ShortVector h = ShortVector.fromMemorySegment(SH, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector v = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
            FloatVector w = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = w.fma(FloatVector.fromArray(F, x, xOffset + i), t);
        }
        float sum = Simd.sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += Le.bf16(data, base + 2L * i) * x[xOffset + i];
        }
        return sum;
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        long base = offset * 2;
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += Le.bf16(data, base + 2L * i) * x[xOffset + i];
        }
        return sum;
    }
}
