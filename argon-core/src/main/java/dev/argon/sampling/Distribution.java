package dev.argon.sampling;

import dev.argon.ArgonException;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Final step drawing from {@code softmax(logits)} over the live candidates (llama.cpp
 * {@code llama_sampler_dist}). Uses a seeded {@code L64X128MixRandom}, so a seed always gives the
 * same sequence of draws for the same logits. The generator's state is the seed and the number
 * of draws made, so {@link #copy} (replaying the draws) and {@link #reset} (back to the seed) are
 * exact.
 */
final class Distribution implements SamplerStep {
    private final long seed;
    private RandomGenerator random;
    private long draws;
    private final float[] weights;

    Distribution(long seed, int vocabSize) {
        this.seed = seed;
        this.random = generator(seed);
        this.weights = new float[vocabSize];
    }

    private static RandomGenerator generator(long seed) {
        return RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
    }

    @Override
    public void reset() {
        random = generator(seed);
        draws = 0;
    }

    /** The same seed with the same draws replayed (one {@code nextDouble} per sampled token). */
    @Override
    public SamplerStep copy() {
        Distribution d = new Distribution(seed, weights.length);
        for (long i = 0; i < draws; i++) {
            d.random.nextDouble();
        }
        d.draws = draws;
        return d;
    }

    @Override
    public String name() {
        return "dist";
    }

    @Override
    public void apply(Candidates c) {
        float max = c.maxLogit();
        double sum = Softmax.expShifted(c.logits, c.size, max, weights);
        if (!(sum > 0)) { // NaN somewhere
            throw new ArgonException("Cannot sample: the logits contain NaN values");
        }
        double u = random.nextDouble() * sum;
        draws++;
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
