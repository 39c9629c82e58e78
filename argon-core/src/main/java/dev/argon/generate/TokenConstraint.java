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

    /**
     * Checks speculative decoding's draft tokens before the model verifies them: how many of
     * {@code tokens[0, count)}, taken in order from the current state, this constraint would allow
     * (each allowed by the mask after the ones before it). The state is unchanged. A draft token
     * the constraint rejects could never be accepted, so the draft is cut before it and the
     * rows after it are not computed.
     *
     * @return the allowed prefix length, {@code 0..count}; this default allows all (a constraint
     *     that cannot look ahead; verification still samples each row under {@link #mask})
     */
    default int allowedPrefix(int[] tokens, int count) {
        return count;
    }

    /** Builds a fresh constraint for each sequence; implementations are immutable and thread-safe. */
    @FunctionalInterface
    interface Factory {
        /** @return a constraint in its start state for a model with this tokenizer */
        TokenConstraint create(Tokenizer tokenizer);
    }
}
