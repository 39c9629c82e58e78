package dev.argon.generate;

import dev.argon.tokenizer.Tokenizer;

/**
 * Restricts which tokens a {@link Sequence} may generate next, such as a grammar
 * ({@code dev.argon.grammar.GrammarConstraint}). The sequence masks the logits before sampling, so
 * the token is drawn from the masked distribution (the sampler chain then renormalises); it is
 * never a sample-check-resample loop. One instance per sequence; not thread-safe.
 */
public interface TokenConstraint {

    /**
     * Sets the logit of every token that may not come next to negative infinity.
     *
     * @param logits next-token logits {@code [vocabSize]}, modified in place
     * @return whether at least one token is still allowed
     */
    boolean mask(float[] logits);

    /**
     * Records the token the sequence generated (one the last {@link #mask} allowed).
     *
     * @throws IllegalArgumentException if the token was not allowed
     */
    void accept(int token);

    /** Builds a fresh constraint for each sequence; implementations are immutable and thread-safe. */
    @FunctionalInterface
    interface Factory {
        /** @return a constraint in its start state for a model with this tokenizer */
        TokenConstraint create(Tokenizer tokenizer);
    }
}
