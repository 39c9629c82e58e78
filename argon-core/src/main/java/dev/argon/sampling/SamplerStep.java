package dev.argon.sampling;

import java.util.Map;

/**
 * One step of a {@link SamplerChain}, with the lifecycle of llama.cpp's {@code llama_sampler_i}
 * ({@code apply, accept, reset, clone}) and vLLM v1's logits processors: {@link #apply} rewrites
 * or filters the candidates in place (or, for the chain's last step, chooses one with
 * {@link Candidates#select}); {@link #accept} sees every token the sequence takes (the prompt's,
 * then each generated one); {@link #reset} forgets them; {@link #copy} gives an independent step
 * in the same state (for a fork of a sequence, or a checkpoint to roll back to).
 *
 * <p>Library users implement this interface to add their own logit processor or filter and pass
 * it to {@link SamplerChain#create(SamplingParams, int, java.util.List)} or
 * {@link SamplerChain#of}. A step is used by one sequence on one thread at a time.
 */
public interface SamplerStep {
    /**
     * Rewrites or filters the live candidates {@code [0, size)} in place; the last step of a chain
     * must {@link Candidates#select} one.
     */
    void apply(Candidates c);

    /** Records a token the sequence took (prompt tokens first, then each generated one). Default: nothing. */
    default void accept(int token) {
    }

    /** Forgets every accepted token and any other state, as if just created. Default: nothing. */
    default void reset() {
    }

    /**
     * An independent step in the same state. The default returns {@code this}, which is right
     * only for steps without state: a step whose {@link #accept} or {@link #apply} changes it must
     * override this.
     */
    default SamplerStep copy() {
        return this;
    }

    /** A short name for logs ({@code "top-k"}); default: the class's simple name. */
    default String name() {
        return getClass().getSimpleName();
    }

    /** OpenAI's logit bias (token id to a value in [-100, 100]); must be the first step. */
    static SamplerStep logitBias(Map<Integer, Float> bias) {
        return new LogitBias(bias);
    }

    /**
     * llama.cpp's penalties: CTRL repetition penalty, then OpenAI frequency and presence penalties,
     * over the last {@code lastN} accepted tokens ({@code -1}: all).
     */
    static SamplerStep penalties(float repeat, float frequency, float presence, int lastN, int vocabSize) {
        return new Penalties(repeat, frequency, presence, lastN, vocabSize);
    }

    /** Keeps the {@code k > 0} most likely candidates, sorted. */
    static SamplerStep topK(int k) {
        return new TopK(k);
    }

    /** Keeps the smallest most-likely set of softmax mass {@code >= p}. */
    static SamplerStep topP(float p, int vocabSize) {
        return new TopP(p, 0f, vocabSize);
    }

    /** Keeps candidates with probability {@code >= p * p_max}. */
    static SamplerStep minP(float p) {
        return new MinP(p);
    }

    /** Divides the logits by {@code t > 0}. */
    static SamplerStep temperature(float t) {
        return new Temperature(t);
    }

    /** Final step: the argmax (ties to the lowest id). */
    static SamplerStep greedy() {
        return new Greedy();
    }

    /** Final step: a seeded draw from the softmax of the live candidates. */
    static SamplerStep distribution(long seed, int vocabSize) {
        return new Distribution(seed, vocabSize);
    }
}
