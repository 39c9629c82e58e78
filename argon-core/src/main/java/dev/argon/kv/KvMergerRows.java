package dev.argon.kv;

/**
 * KVMerger's merging of similar consecutive keys (Wang et al., 2024, "Model Tells You Where to
 * Merge: Adaptive KV Cache Merging for LLMs on Long-Context Tasks"). Of the tokens being merged
 * (those leaving the exact window, in order), each layer forms <em>merging sets</em> of consecutive
 * tokens: a token joins its predecessor's set when the cosine similarity of their keys is at least
 * {@code ε}. A set of one token is kept as it is; a larger set becomes one row: its <em>pivot</em> is
 * the token that received the most attention so far (summed over heads, layers and queries, as H2O
 * counts it), each member gets the Gaussian kernel weight {@code g_i = exp(-|k_i - k_p|² / (2σ²))},
 * normalized to sum 1, and the row holds {@code Σ w_i k_i} and {@code Σ w_i v_i}.
 *
 * <p>Where this differs from the paper, for the cache's layout: sets are chosen per layer over the
 * token's whole key vector (all KV heads together), not per head, because a cache row holds all heads
 * of a token; sets never span two merging steps (a step merges half the window at a time), and a merged
 * row is not merged again; a merged row enters attention once (no count bias), as in the paper.
 */
final class KvMergerRows extends CompressedRows {
    private final double epsilon;
    private final double sigma;
    private final Plain[] own;
    /** Tokens absorbed and rows written, over all layers, for statistics. */
    long tokens;
    long rows;

    KvMergerRows(int nLayers, int kvDim, int headDim, KvCache.Precision kp, KvCache.Precision vp, ContextPolicy.Merge m) {
        super(nLayers, kvDim, headDim, kp, vp);
        this.epsilon = m.epsilon();
        this.sigma = m.sigma();
        own = new Plain[nLayers];
        for (int l = 0; l < nLayers; l++) {
            own[l] = new Plain();
        }
    }

    @Override
    int rows(int layer) {
        return own[layer].count;
    }

    @Override
    void dots(int layer, int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os) {
        own[layer].dots(first, count, col, n, q, qo, qs, nq, out, oo, os);
    }

    @Override
    void addWeightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os) {
        own[layer].addWeightedSum(first, count, col, n, w, wo, ws, nq, out, oo, os);
    }

    @Override
    void absorb(KvCache cache, int count) {
        double[] mass = new double[count];
        for (int r = 0; r < count; r++) {
            mass[r] = cache.attentionReceived(r);
        }
        float[] k = new float[count * kvDim];
        float[] v = new float[count * kvDim];
        float[] mk = new float[kvDim];
        float[] mv = new float[kvDim];
        double[] w = new double[count];
        for (int l = 0; l < nLayers; l++) {
            cache.readKeys(l, 0, count, 0, kvDim, k, 0);
            cache.readValues(l, 0, count, 0, kvDim, v, 0);
            int from = 0;
            while (from < count) {
                int to = from + 1;
                while (to < count && cosine(k, (to - 1) * kvDim, k, to * kvDim, kvDim) >= epsilon) {
                    to++;
                }
                if (to - from == 1) {
                    own[l].append(k, from * kvDim, v, from * kvDim);
                } else {
                    int pivot = from;
                    for (int r = from + 1; r < to; r++) {
                        if (mass[r] > mass[pivot]) {
                            pivot = r;
                        }
                    }
                    gaussianWeights(k, kvDim, from, to, pivot, sigma, w);
                    merge(k, w, from, to, kvDim, mk);
                    merge(v, w, from, to, kvDim, mv);
                    own[l].append(mk, 0, mv, 0);
                }
                tokens += to - from;
                rows++;
                from = to;
            }
        }
    }

    /**
     * KVMerger's Gaussian kernel weights of the set {@code [from, to)} of rows of {@code keys}
     * ({@code [rows, kvDim]}) around {@code pivot}: {@code w[i] = g_i / Σ g}, {@code g_i = exp(-|k_i -
     * k_pivot|² / (2σ²))}; with {@code sigma == 0}, {@code σ²} is the mean squared distance of the other
     * members to the pivot (all weights equal when every member equals the pivot).
     *
     * @param w output, {@code w[from .. to)}
     */
    static void gaussianWeights(float[] keys, int kvDim, int from, int to, int pivot, double sigma, double[] w) {
        double sum2 = 0;
        for (int r = from; r < to; r++) {
            double d2 = 0;
            for (int j = 0; j < kvDim; j++) {
                double d = (double) keys[r * kvDim + j] - keys[pivot * kvDim + j];
                d2 += d * d;
            }
            w[r] = d2;
            sum2 += d2;
        }
        double s2 = sigma > 0 ? sigma * sigma : (to - from > 1 ? sum2 / (to - from - 1) : 0);
        double total = 0;
        for (int r = from; r < to; r++) {
            w[r] = s2 == 0 ? 1 : Math.exp(-w[r] / (2 * s2));
            total += w[r];
        }
        for (int r = from; r < to; r++) {
            w[r] /= total;
        }
    }

    /** {@code out = Σ_{r in [from,to)} w[r] x_r} over rows of {@code x} ({@code [rows, n]}), in double. */
    static void merge(float[] x, double[] w, int from, int to, int n, float[] out) {
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int r = from; r < to; r++) {
                s += w[r] * x[r * n + j];
            }
            out[j] = (float) s;
        }
    }

    @Override
    long bytes() {
        long b = 0;
        for (Plain o : own) {
            b += o.bytes();
        }
        return b;
    }

    @Override
    long storedBytes() {
        long b = 0;
        for (Plain o : own) {
            b += o.storedBytes();
        }
        return b;
    }

    @Override
    void clear() {
        for (Plain o : own) {
            o.clear();
        }
    }
}
