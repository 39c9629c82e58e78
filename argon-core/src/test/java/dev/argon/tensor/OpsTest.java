package dev.argon.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class OpsTest {
    /** Every short row length, and vector multiples and odd lengths past four vectors. */
    private static final int[] LENGTHS = java.util.stream.IntStream.concat(java.util.stream.IntStream.rangeClosed(1, 40),
            java.util.stream.IntStream.of(48, 63, 64, 65, 80, 128, 130, 256)).toArray();

    @Test
    void weightedSumHasTheBitsOfZeroingAndOneAxpyPerRow() {
        Random random = new Random(11);
        for (int n : LENGTHS) {
            for (int count = 0; count <= 19; count += 3) {
                int stride = n + random.nextInt(5);
                float[] x = new float[3 + count * stride + n];
                float[] w = new float[2 + count];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextGaussian();
                }
                for (int i = 0; i < w.length; i++) {
                    w[i] = random.nextFloat();
                }
                float[] expected = new float[n + 1];
                for (int p = 0; p < count; p++) {
                    Ops.axpy(expected, 1, w[2 + p], x, 3 + p * stride, n);
                }
                float[] actual = new float[n + 1];
                java.util.Arrays.fill(actual, Float.NaN);
                actual[0] = 0f;
                Ops.weightedSum(actual, 1, w, 2, x, 3, stride, count, n);
                for (int d = 0; d <= n; d++) {
                    assertThat(Float.floatToIntBits(actual[d])).as("n=%d count=%d d=%d", n, count, d)
                            .isEqualTo(Float.floatToIntBits(expected[d]));
                }
            }
        }
    }
    @Test
    void dotsHaveTheBitsOfOneDotPerRow() {
        Random random = new Random(12);
        for (int n : LENGTHS) {
            for (int count = 0; count <= 19; count += 3) {
                int stride = n + random.nextInt(5);
                float[] b = new float[3 + count * stride + n];
                float[] a = new float[1 + n];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) random.nextGaussian();
                }
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextGaussian();
                }
                float[] out = new float[2 + count];
                Ops.dots(a, 1, b, 3, stride, count, n, out, 2);
                for (int p = 0; p < count; p++) {
                    assertThat(Float.floatToIntBits(out[2 + p])).as("n=%d count=%d p=%d", n, count, p)
                            .isEqualTo(Float.floatToIntBits(Ops.dot(a, 1, b, 3 + p * stride, n)));
                }
            }
        }
    }
}
