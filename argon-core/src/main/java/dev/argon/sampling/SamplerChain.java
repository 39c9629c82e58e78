package dev.argon.sampling;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the next token from a logits vector by running a chain of steps, in the order of
 * llama.cpp's default sampler chain: repetition penalty, top-k, top-p, min-p, temperature, then a
 * seeded random draw. With temperature 0 the chain is repetition penalty then argmax.
 *
 * <p>Steps that would not change anything (top-k 0, top-p 1, min-p 0, temperature 1, penalty 1
 * or look-back 0) are left out. All vocabulary-sized buffers are allocated once, here; no step
 * sorts the whole vocabulary. Not thread-safe: one chain per generation.
 */
public final class SamplerChain {
    private final int vocabSize;
    private final long seed;
    private final Candidates candidates;
    private final RepetitionPenalty penalty; // null when off
    private final SamplerStep[] filters;
    private final SamplerStep selector;

    private SamplerChain(int vocabSize, long seed, RepetitionPenalty penalty, List<SamplerStep> filters,
            SamplerStep selector) {
        this.vocabSize = vocabSize;
        this.seed = seed;
        this.candidates = new Candidates(vocabSize);
        this.penalty = penalty;
        this.filters = filters.toArray(SamplerStep[]::new);
        this.selector = selector;
    }

    /**
     * Builds the chain for {@code p} (validated first) and a vocabulary of {@code vocabSize}
     * tokens. A seed of {@link SamplingParams#RANDOM_SEED} is replaced by a random one.
     *
     * @throws dev.argon.ArgonException if a parameter is out of range
     */
    public static SamplerChain create(SamplingParams p, int vocabSize) {
        p.validate();
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize " + vocabSize);
        }
        long seed = p.seed();
        while (seed == SamplingParams.RANDOM_SEED) {
            seed = ThreadLocalRandom.current().nextLong();
        }
        List<SamplerStep> steps = new ArrayList<>();
        RepetitionPenalty penalty = null;
        if (p.repeatPenalty() != 1f && p.repeatLastN() != 0) {
            penalty = new RepetitionPenalty(p.repeatPenalty(), p.repeatLastN(), vocabSize);
            steps.add(penalty);
        }
        if (p.temperature() <= 0f) {
            return new SamplerChain(vocabSize, seed, penalty, steps, new Greedy());
        }
        if (p.topK() > 0) {
            steps.add(new TopK(p.topK()));
        }
        if (p.topP() < 1f) {
            steps.add(new TopP(p.topP(), p.minP(), vocabSize));
        }
        if (p.minP() > 0f) {
            steps.add(new MinP(p.minP()));
        }
        if (p.temperature() != 1f) {
            steps.add(new Temperature(p.temperature()));
        }
        return new SamplerChain(vocabSize, seed, penalty, steps, new Distribution(seed, vocabSize));
    }

    /**
     * Returns the next token id for {@code logits} (length = vocabulary size), which is copied
     * and never modified. Does not record the token; call {@link #accept} for that.
     *
     * @throws dev.argon.ArgonException if the logits have no finite maximum (NaN or infinite)
     */
    public int sample(float[] logits) {
        Candidates c = filter(logits);
        selector.apply(c);
        return c.ids[c.selected];
    }

    /** Copies {@code logits} in and runs every step but the final draw (visible for tests). */
    Candidates filter(float[] logits) {
        Candidates c = candidates;
        c.reset(logits);
        for (SamplerStep step : filters) {
            step.apply(c);
        }
        return c;
    }

    /**
     * Records a token for the repetition penalty's look-back window (llama.cpp
     * {@code llama_sampler_accept}): pass the prompt tokens and then every generated token.
     */
    public void accept(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token " + token + " outside vocabulary of " + vocabSize);
        }
        if (penalty != null) {
            penalty.accept(token);
        }
    }

    /** The seed in use: the one given, or the random one picked for {@link SamplingParams#RANDOM_SEED}. */
    public long seed() {
        return seed;
    }
}
