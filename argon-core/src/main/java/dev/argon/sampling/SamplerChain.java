package dev.argon.sampling;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the next token from a logits vector by running a chain of steps, in the order of
 * llama.cpp's default sampler chain: logit bias, penalties (repetition, then OpenAI frequency and
 * presence, over one shared look-back window), top-k, top-p, min-p, temperature, then a seeded
 * random draw. With temperature 0 the chain is logit bias, penalties, then argmax.
 *
 * <p>Steps that would not change anything (no logit bias, top-k 0, top-p 1, min-p 0, temperature
 * 1, repetition penalty 1 with presence and frequency penalties 0, or look-back 0) are left out.
 * All vocabulary-sized buffers are allocated once, here; no step sorts the whole vocabulary. Not
 * thread-safe: one chain per generation.
 */
public final class SamplerChain {
    private final int vocabSize;
    private final long seed;
    private final Candidates candidates;
    private final Penalties penalties; // null when off
    private final SamplerStep[] filters;
    private final SamplerStep selector;

    private SamplerChain(int vocabSize, long seed, Penalties penalties, List<SamplerStep> filters,
            SamplerStep selector) {
        this.vocabSize = vocabSize;
        this.seed = seed;
        this.candidates = new Candidates(vocabSize);
        this.penalties = penalties;
        this.filters = filters.toArray(SamplerStep[]::new);
        this.selector = selector;
    }

    /**
     * Builds the chain for {@code p} (validated first) and a vocabulary of {@code vocabSize}
     * tokens. A seed of {@link SamplingParams#RANDOM_SEED} is replaced by a random one.
     *
     * @throws dev.argon.ArgonException if a parameter is out of range, or a logit-bias token id
     *     lies outside {@code [0, vocabSize)} (the message names the id and the vocabulary size)
     * @throws IllegalArgumentException if {@code vocabSize <= 0}
     */
    public static SamplerChain create(SamplingParams p, int vocabSize) {
        p.validate();
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize " + vocabSize);
        }
        p.validateVocabulary(vocabSize);
        long seed = p.seed();
        while (seed == SamplingParams.RANDOM_SEED) {
            seed = ThreadLocalRandom.current().nextLong();
        }
        List<SamplerStep> steps = new ArrayList<>();
        if (!p.logitBias().isEmpty()) {
            steps.add(new LogitBias(p.logitBias()));
        }
        Penalties penalties = null;
        if (Penalties.active(p.repeatPenalty(), p.frequencyPenalty(), p.presencePenalty(), p.repeatLastN())) {
            penalties = new Penalties(
                    p.repeatPenalty(), p.frequencyPenalty(), p.presencePenalty(), p.repeatLastN(), vocabSize);
            steps.add(penalties);
        }
        if (p.temperature() <= 0f) {
            return new SamplerChain(vocabSize, seed, penalties, steps, new Greedy());
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
        return new SamplerChain(vocabSize, seed, penalties, steps, new Distribution(seed, vocabSize));
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
     * Records a token for the penalties' look-back window (llama.cpp
     * {@code llama_sampler_accept}): pass the prompt tokens and then every generated token.
     *
     * @throws IllegalArgumentException if {@code token} lies outside the vocabulary
     */
    public void accept(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token " + token + " outside vocabulary of " + vocabSize);
        }
        if (penalties != null) {
            penalties.accept(token);
        }
    }

    /** The seed in use: the one given, or the random one picked for {@link SamplingParams#RANDOM_SEED}. */
    public long seed() {
        return seed;
    }
}
