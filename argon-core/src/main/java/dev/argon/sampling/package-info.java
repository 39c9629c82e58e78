/**
 * Token sampling as a chain of small steps, after llama.cpp's sampler chain
 * ({@code llama_sampler_chain}): logit bias, penalties (repetition, frequency, presence), top-k,
 * top-p, min-p, temperature, then a random draw ({@code dist}) or argmax ({@code greedy}); and
 * the log-probabilities reported by the OpenAI API ({@code logprobs}, {@code top_logprobs}).
 *
 * <p>The public entry points are {@link dev.argon.sampling.SamplingParams},
 * {@link dev.argon.sampling.SamplerChain}, {@link dev.argon.sampling.SamplerStep} and
 * {@link dev.argon.sampling.Logprobs}; the
 * built-in steps are made by the factories on {@link dev.argon.sampling.SamplerStep}, which library
 * users implement to add their own.
 */
package dev.argon.sampling;
