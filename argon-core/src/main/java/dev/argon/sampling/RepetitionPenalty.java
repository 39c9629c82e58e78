package dev.argon.sampling;

/**
 * Repetition penalty of the CTRL paper (Keskar et al. 2019), with llama.cpp's sign rule
 * ({@code llama_sampler_penalties}): each distinct token among the last {@code lastN} accepted
 * tokens has its logit divided by the penalty when positive and multiplied by it otherwise.
 * {@code lastN == -1} looks back over every token accepted since the chain was created.
 */
final class RepetitionPenalty implements SamplerStep {
    private final float penalty;
    private final int lastN;
    /** Occurrences of each token id in the look-back window. */
    private final int[] counts;
    /** Ring buffer of the window (unused when lastN == -1: nothing is ever evicted). */
    private final int[] window;
    private int head;
    private int filled;

    RepetitionPenalty(float penalty, int lastN, int vocabSize) {
        if (lastN < -1 || lastN == 0) {
            throw new IllegalArgumentException("lastN " + lastN);
        }
        this.penalty = penalty;
        this.lastN = lastN;
        this.counts = new int[vocabSize];
        this.window = new int[Math.max(lastN, 0)];
    }

    void accept(int token) {
        if (lastN > 0) {
            if (filled == lastN) {
                counts[window[head]]--;
            } else {
                filled++;
            }
            window[head] = token;
            head = (head + 1) % lastN;
        }
        counts[token]++;
    }

    @Override
    public void apply(Candidates c) {
        float[] logits = c.logits;
        int[] ids = c.ids;
        for (int i = 0; i < c.size; i++) {
            if (counts[ids[i]] > 0) {
                float l = logits[i];
                logits[i] = l > 0 ? l / penalty : l * penalty;
            }
        }
        // Scaling can reorder entries; a sorted list would no longer be sorted.
        c.sorted = false;
    }
}
