package dev.argon.sampling;

/**
 * One entry of the OpenAI API's {@code top_logprobs}: a token and its log-probability.
 *
 * @param token token id
 * @param logprob natural logarithm of the token's probability, {@code <= 0} ({@code -Infinity}
 *     for a token whose logit is {@code -Infinity})
 */
public record TopLogprob(int token, double logprob) {}
