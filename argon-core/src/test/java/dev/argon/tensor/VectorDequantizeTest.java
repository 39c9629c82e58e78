package dev.argon.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Vector {@code dequantize} kernels equal their scalar references exactly (same float products). */
class VectorDequantizeTest {
    @ParameterizedTest
    @ValueSource(strings = {"Q4_0", "Q4_1", "Q8_0", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void vectorDequantizeEqualsScalar(String typeName) {
        GgmlType type = GgmlType.valueOf(typeName);
        Random rnd = new Random(3);
        int block = type.blockSize();
        float[] w = new float[block * 11];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        for (int offset : new int[]{0, block, 3 * block}) {
            int n = w.length - offset;
            float[] fast = new float[n + 5];
            float[] ref = new float[n + 5];
            t.dequantize(offset, fast, 5, n);
            switch (t) {
                case Q4_0Tensor q -> q.dequantizeScalar(offset, ref, 5, n);
                case Q8_0Tensor q -> q.dequantizeScalar(offset, ref, 5, n);
                case Q5_0Tensor q -> q.dequantizeScalar(offset, ref, 5, n);
                case Q4_1Tensor q -> q.dequantizeScalar(offset, ref, 5, n);
                case Q5_1Tensor q -> q.dequantizeScalar(offset, ref, 5, n);
                case Q4_KTensor q -> q.dequantizeScalar(offset, ref, 5, n);
                case Q5_KTensor q -> q.dequantizeScalar(offset, ref, 5, n);
                case Q6_KTensor q -> q.dequantizeScalar(offset, ref, 5, n);
                default -> throw new AssertionError(type);
            }
            for (int i = 0; i < ref.length; i++) {
                assertThat(Float.floatToRawIntBits(fast[i])).as("%s offset %d element %d: %s vs %s", type, offset, i, fast[i], ref[i])
                        .isEqualTo(Float.floatToRawIntBits(ref[i]));
            }
        }
    }
    @org.junit.jupiter.api.Test
    void halfAndBfloat16DequantizeEqualGetFloat() {
        // every 16-bit pattern (normal, subnormal, infinite, NaN), at an odd offset and length
        java.lang.foreign.MemorySegment bits = java.lang.foreign.Arena.ofAuto().allocate(2 * 65536);
        for (int i = 0; i < 65536; i++) {
            bits.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 2L * i, (short) i);
        }
        for (GgmlType type : new GgmlType[]{GgmlType.F16, GgmlType.BF16}) {
            Tensor t = Tensor.of(type, bits, 65536);
            float[] out = new float[65536];
            t.dequantize(3, out, 1, 65531);
            for (int i = 0; i < 65531; i++) {
                assertThat(Float.floatToRawIntBits(out[1 + i])).as("%s element %d", type, 3 + i)
                        .isEqualTo(Float.floatToRawIntBits(t.getFloat(3 + i)));
            }
        }
    }
}
