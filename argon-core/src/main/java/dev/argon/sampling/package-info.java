/**
 * Token sampling as a chain of small steps, after llama.cpp's sampler chain
 * ({@code llama_sampler_chain}): repetition penalty, top-k, top-p, min-p, temperature, then a
 * random draw ({@code dist}) or argmax ({@code greedy}).
 *
 * <p>The public entry points are {@link dev.argon.sampling.SamplingParams} and
 * {@link dev.argon.sampling.SamplerChain}; the steps themselves are package-private.
 */
package dev.argon.sampling;
