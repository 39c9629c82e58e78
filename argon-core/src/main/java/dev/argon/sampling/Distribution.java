package dev.argon.sampling;

import dev.argon.ArgonException;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Final step drawing from {@code softmax(logits)} over the live candidates (llama.cpp
 * {@code llama_sampler_dist}). Uses a seeded {@code L64X128MixRandom}, so a seed always gives the
 * same sequence of draws for the same logits.
 */
final class Distribution implements SamplerStep {
    private final RandomGenerator random;
    private final float[] weights;

    Distribution(long seed, int vocabSize) {
        this.random = RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
        this.weights = new float[vocabSize];
    }

    @Override
    public void apply(Candidates c) {
        float max = c.maxLogit();
        double sum = Softmax.expShifted(c.logits, c.size, max, weights);
        if (!(sum > 0)) { // NaN somewhere
            throw new ArgonException("Cannot sample: the logits contain NaN values");
        }
        double u = random.nextDouble() * sum;
        double cum = 0;
        int last = -1;
        for (int i = 0; i < c.size; i++) {
            if (weights[i] > 0) {
                cum += weights[i];
                last = i;
                if (u < cum) {
                    c.selected = i;
                    return;
                }
            }
        }
        c.selected = last; // rounding left u at or past the total
    }
}
