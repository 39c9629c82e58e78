package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Softmax#expShifted}: the weights are exp to within an ulp, and their sum is taken in the
 * documented width-independent order, checked bit for bit against a scalar transcription.
 */
class SoftmaxTest {
    /** Blocks of 1024 from index 0, each summed with eight interleaved double accumulators. */
    private static double fixedOrderSum(float[] w, int n) {
        double total = 0;
        for (int from = 0; from < n; from += 1024) {
            int to = Math.min(n, from + 1024);
            double[] s = new double[8];
            for (int i = from; i < to; i++) {
                // the tail past the last full group of eight goes to accumulator 0
                int k = i < from + (to - from) / 8 * 8 ? (i - from) % 8 : 0;
                s[k] += w[i];
            }
            total += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        }
        return total;
    }

    @Test
    void weightsAreExpAndTheirSumHasAFixedOrder() {
        Random r = new Random(7);
        // lengths below, at and past a block, not multiples of any lane count, and a vocabulary
        for (int n : new int[] {1, 3, 17, 1024, 1030, 3001, 32_000}) {
            float[] logits = new float[n];
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                // spread of 40 nats, so that weights span many binades
                logits[i] = (float) (r.nextGaussian() * 8);
                max = Math.max(max, logits[i]);
            }
            float[] w = new float[n];
            double sum = Softmax.expShifted(logits, n, max, w);
            double exact = 0;
            for (int i = 0; i < n; i++) {
                float e = (float) Math.exp(logits[i] - max);
                assertThat(Math.abs(w[i] - e)).as("n %d weight %d", n, i).isLessThanOrEqualTo(Math.ulp(e));
                exact += Math.exp(logits[i] - max);
            }
            assertThat(Double.doubleToRawLongBits(sum)).as("n %d", n)
                    .isEqualTo(Double.doubleToRawLongBits(fixedOrderSum(w, n)));
            assertThat(Math.abs(sum - exact)).as("n %d", n).isLessThanOrEqualTo(exact * 0x1p-23);
            assertThat(sum).isGreaterThanOrEqualTo(1); // the maximum contributes exp(0) = 1
        }
    }

    @Test
    void nanLogitGivesANanSum() {
        float[] logits = new float[40];
        logits[33] = Float.NaN;
        assertThat(Softmax.expShifted(logits, 40, 0f, new float[40])).isNaN();
    }
}
