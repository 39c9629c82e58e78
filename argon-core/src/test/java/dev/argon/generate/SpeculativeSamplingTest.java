package dev.argon.generate;

import org.junit.jupiter.api.Test;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

import static org.assertj.core.api.Assertions.assertThat;

/** The p/q acceptance rule gives tokens distributed as p whatever q is (χ² goodness of fit). */
class SpeculativeSamplingTest {
    /** χ² critical values at significance 0.001 for 7 degrees of freedom. */
    static final double CHI2_7_0001 = 24.322;

    private static int draw(float[] q, RandomGenerator r) {
        double u = r.nextDouble();
        double cum = 0;
        for (int i = 0; i < q.length; i++) {
            cum += q[i];
            if (u < cum) {
                return i;
            }
        }
        return q.length - 1;
    }

    static double chiSquare(long[] counts, double[] expectedProbabilities, long n) {
        double chi = 0;
        for (int i = 0; i < counts.length; i++) {
            double e = expectedProbabilities[i] * n;
            chi += (counts[i] - e) * (counts[i] - e) / e;
        }
        return chi;
    }

    private static double[] histogram(float[] p, float[] q, int n, long seed, long[] accepted) {
        RandomGenerator r = RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
        long[] counts = new long[p.length];
        for (int i = 0; i < n; i++) {
            int x = draw(q, r);
            int t = SpeculativeSampling.verify(p, q, x, r);
            counts[t]++;
            if (t == x) {
                accepted[0]++;
            }
        }
        double[] expected = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            expected[i] = p[i];
        }
        return new double[] {chiSquare(counts, expected, n)};
    }

    @Test
    void outputFollowsTheTargetDistribution() {
        float[] p = {0.30f, 0.25f, 0.15f, 0.10f, 0.08f, 0.06f, 0.04f, 0.02f};
        float[] q = {0.05f, 0.10f, 0.40f, 0.05f, 0.20f, 0.05f, 0.10f, 0.05f}; // far from p
        int n = 200_000;
        long[] accepted = new long[1];
        double chi = histogram(p, q, n, 42, accepted)[0];
        assertThat(chi).as("chi-square of 8 bins against p").isLessThan(CHI2_7_0001);
        // the acceptance rate is sum_x min(p(x), q(x)) (Leviathan et al., Theorem 3.5)
        double alpha = 0;
        for (int i = 0; i < p.length; i++) {
            alpha += Math.min(p[i], q[i]);
        }
        assertThat(accepted[0] / (double) n).isCloseTo(alpha, org.assertj.core.data.Offset.offset(0.005));
    }

    @Test
    void acceptingEveryDraftWouldFailTheTest() {
        // the same χ² statistic rejects q itself as a sample of p: the test can fail
        float[] p = {0.30f, 0.25f, 0.15f, 0.10f, 0.08f, 0.06f, 0.04f, 0.02f};
        float[] q = {0.05f, 0.10f, 0.40f, 0.05f, 0.20f, 0.05f, 0.10f, 0.05f};
        RandomGenerator r = RandomGeneratorFactory.of("L64X128MixRandom").create(7);
        long[] counts = new long[8];
        for (int i = 0; i < 20_000; i++) {
            counts[draw(q, r)]++;
        }
        double[] e = new double[8];
        for (int i = 0; i < 8; i++) {
            e[i] = p[i];
        }
        assertThat(chiSquare(counts, e, 20_000)).isGreaterThan(CHI2_7_0001);
    }

    @Test
    void aPointMassDraftIsAcceptedWithItsTargetProbability() {
        float[] p = {0.5f, 0.3f, 0.2f};
        float[] q = {0f, 1f, 0f};
        RandomGenerator r = RandomGeneratorFactory.of("L64X128MixRandom").create(3);
        long[] counts = new long[3];
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            counts[SpeculativeSampling.verify(p, q, 1, r)]++;
        }
        assertThat(chiSquare(counts, new double[] {0.5, 0.3, 0.2}, n)).isLessThan(13.816); // df 2, 0.001
    }
}
