package dev.argon.sampling;

/**
 * Top-k filtering (Fan et al. 2018; llama.cpp {@code llama_sampler_top_k}): keeps exactly the
 * {@code k} highest logits (ties towards lower ids), leaving them sorted. Uses a bounded heap,
 * O(n log k), instead of sorting the vocabulary.
 */
final class TopK implements SamplerStep {
    private final int k;

    TopK(int k) {
        if (k <= 0) {
            throw new IllegalArgumentException("k " + k);
        }
        this.k = k;
    }

    @Override
    public void apply(Candidates c) {
        if (k >= c.size) {
            return; // keeps everything; llama.cpp would sort here, later steps do not need it
        }
        if (!c.sorted) {
            selectTop(c, k);
            c.sorted = true;
        }
        c.size = k;
    }

    /**
     * Moves the best {@code k} live candidates to positions {@code [0, k)} in descending order:
     * a heap of size k with the worst entry at the root is kept over one pass, then heap-sorted.
     */
    static void selectTop(Candidates c, int k) {
        for (int i = k / 2 - 1; i >= 0; i--) {
            siftDown(c, i, k);
        }
        for (int i = k; i < c.size; i++) {
            if (c.better(i, 0)) {
                c.swap(i, 0);
                siftDown(c, 0, k);
            }
        }
        // Repeatedly moving the worst to the end leaves the best at position 0.
        for (int end = k - 1; end > 0; end--) {
            c.swap(0, end);
            siftDown(c, 0, end);
        }
    }

    /** Restores the worst-at-root heap order below position i in {@code [0, n)}. */
    private static void siftDown(Candidates c, int i, int n) {
        while (true) {
            int worse = 2 * i + 1;
            if (worse >= n) {
                return;
            }
            if (worse + 1 < n && c.better(worse, worse + 1)) {
                worse++;
            }
            if (!c.better(i, worse)) {
                return;
            }
            c.swap(i, worse);
            i = worse;
        }
    }
}
