package dev.argon.sampling;

/**
 * Min-p filtering (Nguyen et al. 2024, "Turning Up the Heat: Min-p Sampling"; llama.cpp
 * {@code llama_sampler_min_p}): keeps tokens whose probability is at least {@code p} times the
 * top probability, computed as llama.cpp does on logits: {@code logit >= max + ln(p)}. Order
 * independent, so it needs no sort; relative order of the survivors is kept.
 */
final class MinP implements SamplerStep {
    private final float p;

    MinP(float p) {
        this.p = p;
    }

    /** The lowest logit that survives min-p with ratio {@code p}, given the maximum logit. */
    static float cut(float max, float p) {
        return max + (float) Math.log(p);
    }

    @Override
    public void apply(Candidates c) {
        if (p <= 0f || c.size <= 1) {
            return;
        }
        float cut = cut(c.maxLogit(), p);
        if (c.sorted) {
            int n = 1; // the maximum always survives
            while (n < c.size && c.logits[n] >= cut) {
                n++;
            }
            c.size = n;
            return;
        }
        int n = 0;
        for (int i = 0; i < c.size; i++) {
            if (c.logits[i] >= cut) {
                c.move(i, n++);
            }
        }
        c.size = n;
    }

    @Override
    public String name() {
        return "min-p";
    }
}
