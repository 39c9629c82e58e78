package dev.argon.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Vector {@code dequantize} kernels equal their scalar references exactly (same float products). */
class VectorDequantizeTest {
    @ParameterizedTest
    @ValueSource(strings = {"Q4_0", "Q8_0"})
    void vectorDequantizeEqualsScalar(String typeName) {
        GgmlType type = GgmlType.valueOf(typeName);
        Random rnd = new Random(3);
        float[] w = new float[32 * 11];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        for (int offset : new int[]{0, 32, 96}) {
            int n = w.length - offset;
            float[] fast = new float[n + 5];
            float[] ref = new float[n + 5];
            t.dequantize(offset, fast, 5, n);
            if (t instanceof Q4_0Tensor q) {
                q.dequantizeScalar(offset, ref, 5, n);
            } else {
                ((Q8_0Tensor) t).dequantizeScalar(offset, ref, 5, n);
            }
            assertThat(fast).containsExactly(ref);
        }
    }
}
