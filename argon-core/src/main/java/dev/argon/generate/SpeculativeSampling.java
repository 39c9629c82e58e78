package dev.argon.generate;

import java.util.random.RandomGenerator;

/**
 * Speculative sampling's acceptance rule for a draft token drawn from a stochastic draft
 * distribution q (Leviathan et al., "Fast Inference from Transformers via Speculative Decoding",
 * ICML 2023, Algorithm 1; Chen et al., "Accelerating Large Language Model Decoding with
 * Speculative Sampling", 2023): accept x with probability min(1, p(x)/q(x)); otherwise draw from
 * norm(max(0, p − q)). The token returned is distributed exactly as p, whatever q is. With a
 * point-mass q this is what {@link Speculator} does by sampling p and comparing.
 */
public final class SpeculativeSampling {
    private SpeculativeSampling() {
    }

    /**
     * @param p target probabilities {@code [vocab]} (sum 1)
     * @param q draft probabilities {@code [vocab]} (sum 1) that {@code x} was drawn from
     * @param x the draft token, {@code q[x] > 0}
     * @param random two uniform draws at most
     * @return {@code x} if accepted, else the token drawn from the residual (never {@code x})
     * @throws IllegalArgumentException if the lengths differ or {@code q[x] <= 0}
     */
    public static int verify(float[] p, float[] q, int x, RandomGenerator random) {
        if (p.length != q.length || x < 0 || x >= p.length || !(q[x] > 0)) {
            throw new IllegalArgumentException("p[" + p.length + "], q[" + q.length + "], draft token " + x
                    + (x >= 0 && x < q.length ? " with q = " + q[x] : ""));
        }
        if (random.nextDouble() * q[x] < p[x]) {
            return x;
        }
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            sum += Math.max(0f, p[i] - q[i]);
        }
        if (!(sum > 0)) {
            return x; // p == q up to rounding: the rejection had probability ~0
        }
        double u = random.nextDouble() * sum;
        double cum = 0;
        int last = -1;
        for (int i = 0; i < p.length; i++) {
            double r = Math.max(0f, p[i] - q[i]);
            if (r > 0) {
                cum += r;
                last = i;
                if (u < cum) {
                    return i;
                }
            }
        }
        return last;
    }
}
