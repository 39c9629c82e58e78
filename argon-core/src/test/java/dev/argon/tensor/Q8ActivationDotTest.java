package dev.argon.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The 8-bit activation kernels ({@link Tensor#dotQ8}) against their scalar reference, and the quantizer itself. */
class Q8ActivationDotTest {
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0"})
    void vectorKernelMatchesScalarReference(GgmlType type) {
        Random rnd = new Random(7);
        int rows = 3;
        int cols = 32 * 9;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        assertThat(t.supportsQ8Activations()).isTrue();
        float[] x = new float[2 * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * 3;
        }
        Q8Activations q = new Q8Activations(x.length);
        q.quantize(x, x.length);
        for (int r = 0; r < rows; r++) {
            for (int xo : new int[]{0, cols}) {
                for (int n : new int[]{32, 64, cols}) {
                    float fast = t.dotQ8((long) r * cols, q, xo, n);
                    float ref = t.dotQ8Reference((long) r * cols, q, xo, n);
                    // integer block sums are exact in both; only the order of the scaled block sums differs
                    assertThat(fast).as("%s row %d xo %d n %d", type, r, xo, n).isCloseTo(ref, within(1e-4f * Math.max(1f, Math.abs(ref))));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void multiTokenKernelIsBitIdenticalToOneDotPerToken(GgmlType type) {
        Random rnd = new Random(11);
        int rows = 5;
        int cols = 256 * 2;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        if (!t.supportsQ8Activations()) {
            return; // only types with an 8-bit activation kernel have the multi-token form
        }
        for (int tokens : new int[]{1, 3, 4, 7, 9}) {
            float[] x = new float[tokens * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian() * 2;
            }
            Q8Activations q = new Q8Activations(x.length);
            q.quantize(x, x.length);
            float[] out = new float[tokens * rows];
            for (int r = 0; r < rows; r++) {
                t.dotQ8Tokens((long) r * cols, q, 0, cols, tokens, cols, out, r, rows);
                for (int k = 0; k < tokens; k++) {
                    // exactly equal, bit for bit: a token's result must not depend on its batch
                    assertThat(out[k * rows + r]).as("%s row %d token %d of %d", type, r, k, tokens)
                            .isEqualTo(t.dotQ8((long) r * cols, q, k * cols, cols));
                }
            }
        }
    }

    @Test
    void quantizationFollowsQ8_0() {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) {
            x[i] = (i - 16) * 0.25f;
        }
        Q8Activations q = new Q8Activations(32);
        q.quantize(x, 32);
        float d = Float.float16ToFloat(Float.floatToFloat16(4f / 127f)); // max |x| = 4
        for (int i = 0; i < 32; i++) {
            assertThat(q.get(i)).isCloseTo(d * (float) Math.rint(x[i] * 127f / 4f), within(1e-6f)); // ties to even, as ggml's AVX path
            assertThat(Math.abs(q.get(i) - x[i])).isLessThanOrEqualTo(d / 2 + 1e-3f);
        }
    }
}
