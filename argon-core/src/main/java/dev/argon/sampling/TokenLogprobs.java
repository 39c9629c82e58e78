package dev.argon.sampling;

import java.util.List;

/**
 * The log-probabilities reported for one generated token (the OpenAI API's {@code logprobs}
 * content entry), as computed by {@link Logprobs#of}.
 *
 * @param token the chosen token id
 * @param logprob natural logarithm of the chosen token's probability, {@code <= 0}
 * @param top the most likely tokens with their log-probabilities, most likely first (ties: lower
 *     id first); immutable, empty when none were asked for
 */
public record TokenLogprobs(int token, double logprob, List<TopLogprob> top) {
    /** Copies {@code top} into an immutable list. */
    public TokenLogprobs {
        top = List.copyOf(top);
    }
}
