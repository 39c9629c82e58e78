package dev.argon.generate;

/**
 * Guesses the next tokens of one sequence for speculative decoding. The guesses cost nothing to
 * be wrong: {@link Speculator} verifies them against the target model and keeps only what exact
 * verification accepts. A proposer here is deterministic (its draft distribution q is a point
 * mass), as prompt lookup and a greedy draft model are. One instance per sequence; not thread-safe.
 */
public interface DraftProposer {
    /**
     * Proposes up to {@code max} tokens to follow {@code tokens[0, length)}.
     *
     * @param tokens the sequence so far: prompt then generated tokens, the last one sampled but not
     *     fed yet (the draft continues after it); only {@code [0, length)} is valid, and the prefix
     *     seen by earlier calls is unchanged except that it may have grown
     * @param length valid tokens, >= 1
     * @param max the most tokens to propose, >= 1
     * @param out receives the proposed tokens, capacity >= {@code max}
     * @return how many were written, 0..max (0: no guess)
     */
    int propose(int[] tokens, int length, int max, int[] out);

    /**
     * Shown the verification pass of the last {@link #propose} (nothing by default): lookahead
     * decoding learns from the model's guesses at the rows after the first rejection. Called only
     * while the sequence goes on; must not change the logits.
     *
     * @param draft the draft tokens verified, {@code draft[0, k)}
     * @param k how many
     * @param accepted how many of them verification accepted (0..k)
     * @param rowLogits logits of row {@code 0..k} (row 0 after the last sampled token, row i after
     *     draft token i − 1); rows {@code <= accepted} were handed to the sampler and may have been
     *     changed by it, the rows after are the model's own
     */
    default void verified(int[] draft, int k, int accepted, java.util.function.IntFunction<float[]> rowLogits) {
    }

    /** Makes a proposer for each new sequence. */
    @FunctionalInterface
    interface Factory {
        /** @return a proposer for one sequence */
        DraftProposer create();
    }
}
