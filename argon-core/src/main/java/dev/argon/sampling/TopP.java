package dev.argon.sampling;

/**
 * Nucleus (top-p) filtering (Holtzman et al. 2019, "The Curious Case of Neural Text
 * Degeneration"; llama.cpp {@code llama_sampler_top_p}): keeps the smallest prefix of the
 * candidates in descending order (ties to lower ids) whose softmax mass is {@code >= p}, at least
 * one token. {@code p = 0} keeps exactly the most likely token (as OpenAI's {@code top_p: 0} and
 * llama.cpp do).
 *
 * <p>Sorted input (after top-k) is walked directly. Unsorted input is never sorted:
 * {@link MassSelect} finds the prefix in expected O(n) and leaves it, unsorted, in front. When a
 * min-p step with ratio {@code minPHint} follows, candidates below its cut
 * ({@code logit < max + ln(minPHint)}) are dropped first. That is exact: the softmax still
 * normalises over all candidates, top-p always keeps the maximum so min-p's cut is the same before
 * and after it, and anything below the cut would be removed by min-p anyway.
 */
final class TopP implements SamplerStep {
    private final float p;
    private final float minPHint;
    private final MassSelect select;

    /** @param minPHint the min-p ratio of the step that follows, or 0 if there is none */
    TopP(float p, float minPHint, int vocabSize) {
        this.p = p;
        this.minPHint = minPHint;
        this.select = new MassSelect(vocabSize);
    }

    @Override
    public void apply(Candidates c) {
        if (p >= 1f || c.size <= 1) {
            return;
        }
        if (p <= 0f) {
            int best = c.argmax();
            if (best >= 0) { // all NaN: left for the final step to report
                c.move(best, 0);
                c.size = 1;
            }
            return;
        }
        float max = c.maxLogit();
        float[] w = select.w;
        double target = p * Softmax.expShifted(c.logits, c.size, max, w);
        if (!(target > 0)) {
            return; // NaN logits: left for the final step to report
        }
        if (c.sorted) {
            double cum = 0;
            for (int i = 0; i < c.size; i++) {
                cum += w[i];
                if (cum >= target) {
                    c.size = i + 1;
                    return;
                }
            }
            return;
        }
        int m = c.size;
        if (minPHint > 0f) {
            float cut = MinP.cut(max, minPHint);
            m = 0;
            for (int i = 0; i < c.size; i++) {
                if (c.logits[i] >= cut) {
                    c.move(i, m);
                    w[m++] = w[i];
                }
            }
        }
        c.size = select.best(c, m, max, target);
        c.sorted = false;
    }

    /** A new step with its own scratch buffer (no other state). */
    @Override
    public SamplerStep copy() {
        return new TopP(p, minPHint, select.w.length);
    }

    @Override
    public String name() {
        return "top-p";
    }
}
