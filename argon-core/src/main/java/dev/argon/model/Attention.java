package dev.argon.model;

import dev.argon.kv.KvCache;
import dev.argon.tensor.Ops;
import dev.argon.tensor.ThreadPool;

/**
 * Causal scaled dot-product attention (Vaswani et al., 2017) with grouped-query attention
 * (Ainslie et al., 2023): query head {@code h} reads key/value head {@code h / (nHeads / nKvHeads)}.
 * Heads are computed in parallel. {@link Options} adds the variants of newer models: a custom
 * score scale, tanh soft-capping of the scores (Gemma 2) and a sliding window (Mistral, Gemma).
 */
public final class Attention {
    private Attention() {
    }

    /**
     * Per-layer attention settings.
     *
     * @param scale multiplier of the dot products (usually {@code 1/sqrt(headDim)})
     * @param softCap if positive, scores become {@code softCap * tanh(score / softCap)} before the
     *     softmax (Gemma 2's {@code attn_logit_softcapping})
     * @param window if positive, a query at position {@code p} sees only keys at positions
     *     {@code > p - window} (llama.cpp's {@code LLAMA_SWA_TYPE_STANDARD}); 0 for all earlier keys
     */
    public record Options(float scale, float softCap, int window) {
        /** @return plain causal attention scaled by {@code 1/sqrt(headDim)} */
        public static Options standard(int headDim) {
            return new Options((float) (1.0 / Math.sqrt(headDim)), 0f, 0);
        }

        /** @return these options with a sliding window of {@code w} positions (0: none) */
        public Options withWindow(int w) {
            return new Options(scale, softCap, w);
        }
    }

    /** Plain causal attention scaled by {@code 1/sqrt(headDim)}; see {@link #attend(float[], float[], float[], KvCache, int, int, int, int, int, int, Options, ThreadPool)}. */
    public static void attend(float[] q, float[] out, float[] scores, KvCache cache, int layer, int pos0, int n,
                              int nHeads, int nKvHeads, int headDim, ThreadPool pool) {
        attend(q, out, scores, cache, layer, pos0, n, nHeads, nKvHeads, headDim, Options.standard(headDim), pool);
    }

    /**
     * Attends the queries of {@code n} consecutive tokens at positions {@code pos0 .. pos0+n-1}
     * (their keys and values already cached), each over cached positions up to its own (causal),
     * within the window if any. With an F16 cache the queries and the attention weights are
     * rounded to F16 before they meet the cached keys and values, as F16 dot products (and
     * llama.cpp) do.
     *
     * @param q queries {@code [n, nHeads * headDim]}
     * @param out output {@code [n, nHeads * headDim]}
     * @param scores scratch {@code [nHeads, capacity]}
     */
    public static void attend(float[] q, float[] out, float[] scores, KvCache cache, int layer, int pos0, int n,
                              int nHeads, int nKvHeads, int headDim, Options options, ThreadPool pool) {
        float[] keys = cache.keys(layer);
        float[] values = cache.values(layer);
        int kvDim = cache.kvDim();
        int capacity = cache.capacity();
        int group = nHeads / nKvHeads;
        int qDim = nHeads * headDim;
        float scale = options.scale();
        float cap = options.softCap();
        int window = options.window();
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
                    int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
                    int qo = t * qDim + h * headDim;
                    for (int p = first; p <= pos; p++) {
                        float s = Ops.dot(q, qo, keys, p * kvDim + kvo, headDim) * scale;
                        scores[so + p] = cap > 0 ? cap * (float) Math.tanh(s / cap) : s;
                    }
                    Ops.softmax(scores, so + first, pos + 1 - first);
                    if (f16) {
                        roundToF16(scores, so + first, pos + 1 - first);
                    }
                    java.util.Arrays.fill(out, qo, qo + headDim, 0f);
                    for (int p = first; p <= pos; p++) {
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
