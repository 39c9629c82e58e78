package dev.argon.sampling;

import dev.argon.tensor.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Top-k filtering (Fan et al. 2018; llama.cpp {@code llama_sampler_top_k}): keeps exactly the
 * {@code k} highest logits (ties towards lower ids), leaving them sorted. Uses a bounded heap,
 * O(n log k), instead of sorting the vocabulary.
 */
final class TopK implements SamplerStep {
    private static final VectorSpecies<Float> LOGITS = Simd.F;
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
        // Most candidates lose to the root: a vector compare rejects a whole vector of them, and
        // only a vector holding a possible winner (>= the root, a superset of better()) is checked
        // one by one with the exact rule (as is every candidate while a NaN is at the root).
        float[] logits = c.logits;
        int width = LOGITS.length();
        int i = k;
        while (i < c.size) {
            if (i + width <= c.size && !Float.isNaN(logits[0])
                    && !FloatVector.fromArray(LOGITS, logits, i).compare(VectorOperators.GE, logits[0]).anyTrue()) {
                i += width;
                continue;
            }
            for (int end = Math.min(i + width, c.size); i < end; i++) {
                if (c.better(i, 0)) {
                    c.swap(i, 0);
                    siftDown(c, 0, k);
                }
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

    @Override
    public String name() {
        return "top-k";
    }
}
