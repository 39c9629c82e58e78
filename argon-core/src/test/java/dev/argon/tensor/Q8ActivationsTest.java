package dev.argon.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Q8ActivationsTest {
    @Test
    void vectorQuantizationHasTheScalarReferenceBits() {
        Random random = new Random(3);
        int n = 32 * 40;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian() * (1 + i % 7);
        }
        // blocks made to hit halfway cases (x * 127 / max = k + 0.5), zeros, negative values that
        // round to -0, a block of all zeros, and tiny and huge magnitudes
        for (int i = 0; i < 32; i++) {
            x[i] = i == 0 ? 127f : (i - 16) + 0.5f;
        }
        for (int i = 32; i < 64; i++) {
            x[i] = i == 32 ? -100f : (i % 2 == 0 ? -0.1f : 0.2f);
        }
        java.util.Arrays.fill(x, 64, 96, 0f);
        x[70] = -0f;
        for (int i = 96; i < 128; i++) {
            x[i] = (float) random.nextGaussian() * 1e-30f;
        }
        for (int i = 128; i < 160; i++) {
            x[i] = (float) random.nextGaussian() * 1e30f;
        }
        Q8Activations fast = new Q8Activations(n);
        Q8Activations ref = new Q8Activations(n);
        fast.quantize(x, n);
        ref.quantizeScalar(x, n);
        assertThat(fast.length()).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            assertThat(fast.q[i]).as("q[%d]", i).isEqualTo(ref.q[i]);
            assertThat(Float.floatToRawIntBits(fast.qf[i])).as("qf[%d] of x=%s", i, x[i]).isEqualTo(Float.floatToRawIntBits(ref.qf[i]));
            assertThat(fast.qs[i]).as("qs[%d]", i).isEqualTo(ref.qs[i]).isEqualTo((short) ref.q[i]);
            assertThat(Float.floatToRawIntBits(fast.dequantized()[i])).as("deq[%d]", i)
                    .isEqualTo(Float.floatToRawIntBits(ref.dequantized()[i]));
        }
        for (int b = 0; b < n / 32; b++) {
            assertThat(Float.floatToRawIntBits(fast.d[b])).as("d[%d]", b).isEqualTo(Float.floatToRawIntBits(ref.d[b]));
            assertThat(fast.sum[b]).as("sum[%d]", b).isEqualTo(ref.sum[b]);
            for (int l = 0; l < 16; l++) {
                assertThat(fast.offset8[b * 16 + l]).as("offset8[%d][%d]", b, l).isEqualTo(ref.offset8[b * 16 + l])
                        .isEqualTo((short) (8 * (ref.q[b * 32 + l] + ref.q[b * 32 + l + 16])));
            }
        }
    }
}
