package dev.argon.model;

import dev.argon.kv.KvCache;
import dev.argon.tensor.Ops;
import dev.argon.tensor.ThreadPool;

/**
 * Causal scaled dot-product attention (Vaswani et al., 2017) with grouped-query attention
 * (Ainslie et al., 2023): query head {@code h} reads key/value head {@code h / (nHeads / nKvHeads)}.
 * Heads are computed in parallel.
 */
public final class Attention {
    private Attention() {
    }

    /**
     * Attends the queries of {@code n} consecutive tokens at positions {@code pos0 .. pos0+n-1}
     * (their keys and values already cached), each over cached positions up to its own (causal).
     * With an F16 cache the queries and the attention weights are rounded to F16 before they meet
     * the cached keys and values, as F16 dot products (and llama.cpp) do.
     *
     * @param q queries {@code [n, nHeads * headDim]}
     * @param out output {@code [n, nHeads * headDim]}
     * @param scores scratch {@code [nHeads, capacity]}
     */
    public static void attend(float[] q, float[] out, float[] scores, KvCache cache, int layer, int pos0, int n,
                              int nHeads, int nKvHeads, int headDim, ThreadPool pool) {
        float[] keys = cache.keys(layer);
        float[] values = cache.values(layer);
        int kvDim = cache.kvDim();
        int capacity = cache.capacity();
        int group = nHeads / nKvHeads;
        int qDim = nHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        boolean f16 = cache.precision() == KvCache.Precision.F16;
        if (f16) {
            roundToF16(q, 0, n * qDim);
        }
        pool.parallelFor(nHeads, (h0, h1) -> {
            for (int h = h0; h < h1; h++) {
                int kvo = (h / group) * headDim;
                int so = h * capacity;
                for (int t = 0; t < n; t++) {
                    int pos = pos0 + t;
                    int qo = t * qDim + h * headDim;
                    for (int p = 0; p <= pos; p++) {
                        scores[so + p] = Ops.dot(q, qo, keys, p * kvDim + kvo, headDim) * scale;
                    }
                    Ops.softmax(scores, so, pos + 1);
                    if (f16) {
                        roundToF16(scores, so, pos + 1);
                    }
                    java.util.Arrays.fill(out, qo, qo + headDim, 0f);
                    for (int p = 0; p <= pos; p++) {
                        Ops.axpy(out, qo, scores[so + p], values, p * kvDim + kvo, headDim);
                    }
                }
            }
        });
    }

    private static void roundToF16(float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            x[i] = Float.float16ToFloat(Float.floatToFloat16(x[i]));
        }
    }
}
