package dev.argon.sampling;

/**
 * Temperature scaling (llama.cpp {@code llama_sampler_temp}): divides the logits by {@code t > 0}
 * so that the softmax becomes {@code softmax(logits / t)}; {@code t < 1} sharpens, {@code t > 1}
 * flattens. Order preserving. The maximum is subtracted first (softmax is shift invariant), so a
 * tiny {@code t} gives very negative logits rather than overflowing to infinity. Temperature 0 is
 * handled by {@link Greedy} instead.
 */
final class Temperature implements SamplerStep {
    private final float t;

    Temperature(float t) {
        if (!(t > 0f)) {
            throw new IllegalArgumentException("temperature " + t);
        }
        this.t = t;
    }

    @Override
    public void apply(Candidates c) {
        float max = c.maxLogit();
        float[] logits = c.logits;
        for (int i = 0; i < c.size; i++) {
            logits[i] = (logits[i] - max) / t;
        }
    }

    @Override
    public String name() {
        return "temperature";
    }
}
