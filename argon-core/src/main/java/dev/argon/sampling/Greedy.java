package dev.argon.sampling;

/**
 * Final step taking the argmax (llama.cpp {@code llama_sampler_greedy}); ties go to the lowest
 * token id.
 */
final class Greedy implements SamplerStep {
    @Override
    public void apply(Candidates c) {
        c.selected = c.argmaxFinite();
    }

    @Override
    public String name() {
        return "greedy";
    }
}
