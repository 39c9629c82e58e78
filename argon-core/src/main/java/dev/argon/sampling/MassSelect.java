package dev.argon.sampling;

import java.util.Arrays;

/**
 * Finds, without sorting, the smallest set of best candidates whose weight reaches a target mass
 * (the selection behind {@link TopP}). A histogram over the logit's distance below the maximum,
 * 1/32 nat per bucket, finds the bucket where the mass (from the top) crosses the target; a quickselect that tracks the
 * mass above each pivot resolves that bucket. Expected O(n). "Best" is {@link Candidates#better}:
 * higher logit, ties to the lower id, so the set is exactly a prefix of the sorted order.
 */
final class MassSelect {
    /** Buckets per nat below the maximum logit; the last bucket takes everything past 32 nats. */
    private static final float PER_NAT = 32f;
    private static final int BUCKETS = 1024;
    /** Below this many candidates the quickselect runs on all of them directly. */
    private static final int HISTOGRAM_MIN = 4096;

    /** Weight of each live candidate (exp(logit - max)), kept aligned with its position. */
    final float[] w;
    private final double[] bucketMass = new double[BUCKETS];

    MassSelect(int vocabSize) {
        w = new float[vocabSize];
    }

    /**
     * Moves the best r of positions {@code [0, m)} to the front and returns the smallest r whose
     * weight reaches {@code target} (at least 1; m if none does). Weights must be in {@link #w};
     * {@code max} is the highest logit and no logit may be NaN.
     */
    int best(Candidates c, int m, float max, double target) {
        return m < HISTOGRAM_MIN ? select(c, 0, m, 0, target) : selectWithHistogram(c, m, max, target);
    }

    /** Monotone in the logit (higher logit, lower or equal bucket), unlike a bucket of the weight. */
    private static int bucket(float max, float logit) {
        return (int) Math.min((max - logit) * PER_NAT, BUCKETS - 1);
    }

    /** Moves the buckets above the crossing one to the front, then that one, and resolves it. */
    private int selectWithHistogram(Candidates c, int m, float max, double target) {
        float[] logits = c.logits;
        Arrays.fill(bucketMass, 0);
        for (int i = 0; i < m; i++) {
            bucketMass[bucket(max, logits[i])] += w[i];
        }
        double above = 0;
        int crossing = 0;
        while (crossing < BUCKETS - 1 && above + bucketMass[crossing] < target) {
            above += bucketMass[crossing++];
        }
        int front = 0;
        for (int i = 0; i < m; i++) {
            if (bucket(max, logits[i]) < crossing) {
                swap(c, i, front++);
            }
        }
        int end = front;
        for (int i = front; i < m; i++) {
            if (bucket(max, logits[i]) == crossing) {
                swap(c, i, end++);
            }
        }
        return select(c, front, end, above, target);
    }

    /**
     * Rearranges positions {@code [lo, hi)} so that their best entries come first and returns the
     * smallest r whose mass (with {@code acc}, the mass of {@code [0, lo)}) reaches
     * {@code target}, or hi if none does. Invariant: {@code [0, lo)} holds the best lo candidates,
     * of mass {@code acc < target}, and the answer lies in {@code (lo, hi]}.
     */
    private int select(Candidates c, int lo, int hi, double acc, double target) {
        while (lo < hi) {
            int j = partition(c, lo, hi);
            double upper = 0;
            for (int i = lo; i < j; i++) {
                upper += w[i];
            }
            if (acc + upper >= target) {
                hi = j;
                continue;
            }
            acc += upper + w[j];
            if (acc >= target) {
                return j + 1;
            }
            lo = j + 1;
        }
        return Math.max(lo, 1); // mass never reached (rounding): keep everything up to here
    }

    /** Lomuto partition around a median-of-three pivot; better entries go left. */
    private int partition(Candidates c, int lo, int hi) {
        int last = hi - 1;
        int mid = (lo + last) >>> 1;
        int pivot = median(c, lo, mid, last);
        swap(c, pivot, last);
        int store = lo;
        for (int i = lo; i < last; i++) {
            if (c.better(i, last)) {
                swap(c, i, store++);
            }
        }
        swap(c, store, last);
        return store;
    }

    private static int median(Candidates c, int a, int b, int d) {
        if (c.better(a, b)) {
            return c.better(b, d) ? b : (c.better(a, d) ? d : a);
        }
        return c.better(a, d) ? a : (c.better(b, d) ? d : b);
    }

    private void swap(Candidates c, int a, int b) {
        c.swap(a, b);
        float t = w[a];
        w[a] = w[b];
        w[b] = t;
    }
}
