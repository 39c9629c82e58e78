package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TemperatureTest {
    private static final float[] LOGITS = {1f, 2f, 0f, 3f};
    private static final int DRAWS = 20_000;
    /**
     * Allowed gap between empirical and exact probabilities: the standard error of a frequency is
     * at most sqrt(0.25 / 20000) = 0.0035, so 0.015 is over 4 standard errors.
     */
    private static final double TOLERANCE = 0.015;

    private static double[] softmax(float[] logits, double t) {
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] / t);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static double[] frequencies(float t) {
        var params = new SamplingParams(t, 0, 1f, 0f, 1f, 64, 12345);
        SamplerChain chain = SamplerChain.create(params, LOGITS.length);
        double[] f = new double[LOGITS.length];
        for (int i = 0; i < DRAWS; i++) {
            f[chain.sample(LOGITS)] += 1.0 / DRAWS;
        }
        return f;
    }

    @Test
    void empiricalFrequenciesMatchSoftmaxOfLogitsOverT() {
        for (float t : new float[] {0.5f, 1f, 2f}) {
            double[] expected = softmax(LOGITS, t);
            double[] actual = frequencies(t);
            for (int i = 0; i < LOGITS.length; i++) {
                assertThat(actual[i]).as("T=%s token %d", t, i).isCloseTo(expected[i], within(TOLERANCE));
            }
        }
    }

    @Test
    void lowerTemperatureSharpensHigherFlattens() {
        double[] cold = frequencies(0.5f);
        double[] hot = frequencies(2f);
        assertThat(cold[3]).isGreaterThan(0.8); // exact 0.865
        assertThat(hot[3]).isLessThan(0.5); // exact 0.448
        assertThat(hot[2]).isGreaterThan(cold[2] + 0.05); // 0.100 vs 0.002
    }

    @Test
    void dividesLogitsAfterShiftingTheMaximumToZero() {
        Candidates c = Candidates.of(2f, 4f, -2f);
        new Temperature(0.5f).apply(c);
        assertThat(c.logits).containsExactly(-4f, 0f, -12f);
    }

    @Test
    void tinyTemperatureDoesNotOverflow() {
        var params = new SamplingParams(1e-30f, 0, 1f, 0f, 1f, 64, 1);
        SamplerChain chain = SamplerChain.create(params, 3);
        assertThat(chain.sample(new float[] {1e10f, 3e10f, 2e10f})).isEqualTo(1);
    }
}
