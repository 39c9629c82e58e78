package dev.argon.sampling;

/**
 * One step of a {@link SamplerChain}, like llama.cpp's {@code llama_sampler_i::apply}: it
 * rewrites or filters the candidates in place, or (for the last step) sets
 * {@link Candidates#selected}.
 */
interface SamplerStep {
    void apply(Candidates c);
}
