package dev.argon.model;

import dev.argon.kv.Hadamard;
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

    /**
     * Attends the queries of {@code n} token rows, each over its own sequence's cached keys and
     * values in cache rows up to its own (causal), within the window if any. Row {@code t} belongs
     * to the sequence whose cache is {@code caches[t]} and sits in cache row {@code positions[t]}
     * (its position minus the tokens its cache evicted); its key and value are already stored there. Rows of different sequences can share one call
     * (continuous batching). With F16 keys the queries, with F16 values the attention weights are
     * rounded to F16 before they meet the cached keys and values, as F16 dot products (and
     * llama.cpp) do; with Hadamard-rotated keys the queries are rotated the same way (in place),
     * with rotated values each head's output is rotated back.
     * Heads are split across the pool's threads; when the query heads per key/value head are a
     * multiple of four, four of them go together, so that each cached key and value is read once for four.
     *
     * @param q queries {@code [n, nHeads * headDim]}
     * @param out output {@code [n, nHeads * headDim]}
     * @param scores scratch {@code [nHeads, scoreStride]}, {@code scoreStride} at least the
     *     largest position + 1
     */
    public static void attend(float[] q, float[] out, float[] scores, int scoreStride, KvCache[] caches, int[] positions,
                              int n, int layer, int nHeads, int nKvHeads, int headDim, Options options, ThreadPool pool) {
        attend(q, out, scores, scoreStride, caches, positions, n, layer, nHeads, nKvHeads, headDim, options, pool, null);
    }

    /**
     * {@link #attend(float[], float[], float[], int, KvCache[], int[], int, int, int, int, int, Options, ThreadPool)}
     * that also shows each row's attention weights to {@code observers[t]} when that is not null
     * ({@code observers} itself may be null).
     */
    public static void attend(float[] q, float[] out, float[] scores, int scoreStride, KvCache[] caches, int[] positions,
                              int n, int layer, int nHeads, int nKvHeads, int headDim, Options options, ThreadPool pool,
                              ForwardObserver[] observers) {
        int group = nHeads / nKvHeads;
        int qDim = nHeads * headDim;
        float scale = options.scale();
        float cap = options.softCap();
        int window = options.window();
        for (int t = 0; t < n; t++) {
            KvCache.Precision kp = caches[t].keyPrecision();
            if (kp == KvCache.Precision.F16) {
                roundToF16(q, t * qDim, qDim);
            } else if (kp.rotated()) {
                Hadamard.rotate(q, t * qDim, qDim, Hadamard.blockFor(headDim));
            }
        }
        int[][] runs = selectSentences(q, caches, positions, n, layer, nHeads, nKvHeads, headDim);
        long work = 0; // score and weighted-sum multiply-adds of all rows
        for (int t = 0; t < n; t++) {
            work += 2L * nHeads * headDim * (positions[t] + 1);
        }
        // query heads of one GQA group, four at a time, read each cached key and value once (KvCache.dotKeys/sumValues with nq)
        int together = group % 4 == 0 ? 4 : 1;
        pool.parallelFor(nHeads / together, work, (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                int hq = u * together; // first query head of this unit
                int kvh = (hq / group) * headDim;
                for (int t = 0; t < n; t++) {
                    KvCache cache = caches[t];
                    int kvDim = cache.kvDim();
                    int base = cache.compressedRows(layer); // rows merged by MiniCache/KVMerger come first (0 otherwise)
                    int pos = positions[t] + base;
                    int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
                    int count = pos + 1 - first;
                    int q0 = t * qDim + hq * headDim;
                    if (runs != null && runs[t * nKvHeads + hq / group] != null) { // SentenceKV: only the selected rows
                        attendRuns(q, q0, out, scores, scoreStride, cache, runs[t * nKvHeads + hq / group], pos, layer, hq, together,
                                kvh, headDim, scale, cap, observers == null ? null : observers[t]);
                        continue;
                    }
                    if (cache.keysAreFloats()) {
                        for (int i = 0; i < together; i++) {
                            Ops.dots(q, q0 + i * headDim, cache.keys(layer), first * kvDim + kvh, kvDim, count, headDim, scores,
                                    (hq + i) * scoreStride + first);
                        }
                    } else {
                        cache.dotKeys(layer, first, count, kvh, headDim, q, q0, headDim, together, scores, hq * scoreStride + first, scoreStride);
                    }
                    for (int h = hq; h < hq + together; h++) {
                        int so = h * scoreStride;
                        int qo = t * qDim + h * headDim;
                        for (int p = first; p <= pos; p++) {
                            float s = scores[so + p] * scale;
                            scores[so + p] = cap > 0 ? cap * (float) Math.tanh(s / cap) : s;
                        }
                        Ops.softmax(scores, so + first, count);
                        float[] mass = cache.attentionMass(h);
                        if (mass != null) { // eviction by attention received (H2O): this head's thread owns mass
                            for (int p = Math.max(first, base); p <= pos; p++) {
                                mass[p - base] += scores[so + p];
                            }
                        }
                        if (observers != null && observers[t] != null) {
                            observers[t].attention(layer, h, pos, scores, so + first, first, count);
                        }
                        if (cache.valuePrecision() == KvCache.Precision.F16) {
                            roundToF16(scores, so + first, count);
                        }
                        if (cache.valuesAreFloats()) {
                            Ops.weightedSum(out, qo, scores, so + first, cache.values(layer), first * kvDim + kvh, kvDim, count, headDim);
                        }
                    }
                    if (!cache.valuesAreFloats()) {
                        cache.sumValues(layer, first, count, kvh, headDim, scores, hq * scoreStride + first, scoreStride, together, out, q0, headDim);
                        if (cache.valuePrecision().rotated()) {
                            for (int i = 0; i < together; i++) {
                                Hadamard.rotate(out, q0 + i * headDim, headDim, Hadamard.blockFor(headDim)); // its own inverse
                            }
                        }
                    }
                }
            }
        });
    }

    /**
     * SentenceKV's selections of this pass, in row order (a row's selection sees the keys of rows up to its own):
     * {@code [t * nKvHeads + kvHead]} the runs of rows to read ({@link dev.argon.kv.SentenceIndex#select}), null
     * for all rows; null when no row's cache selects sentences. The query of a KV head is the sum of its group's.
     */
    private static int[][] selectSentences(float[] q, KvCache[] caches, int[] positions, int n, int layer, int nHeads, int nKvHeads,
                                           int headDim) {
        int[][] runs = null;
        int group = nHeads / nKvHeads;
        float[] sum = null;
        for (int t = 0; t < n; t++) {
            dev.argon.kv.SentenceIndex index = caches[t].sentences();
            if (index == null) {
                continue;
            }
            if (runs == null) {
                runs = new int[n * nKvHeads][];
                sum = new float[headDim];
            }
            index.advance(caches[t], layer, positions[t] + 1);
            for (int kv = 0; kv < nKvHeads; kv++) {
                java.util.Arrays.fill(sum, 0f);
                for (int h = kv * group; h < (kv + 1) * group; h++) {
                    int qo = t * nHeads * headDim + h * headDim;
                    for (int j = 0; j < headDim; j++) {
                        sum[j] += q[qo + j];
                    }
                }
                runs[t * nKvHeads + kv] = index.select(layer, positions[t], kv, sum, 0);
            }
        }
        return runs;
    }

    /**
     * Attention of query heads {@code [hq, hq + together)} of one row over the runs of rows SentenceKV selected
     * ({@code {first, count, ...}}, ascending): scores only for those rows, the others get weight 0 (score
     * -inf before the softmax); values summed run by run. With one run covering every row this is the
     * unselected path's arithmetic.
     */
    private static void attendRuns(float[] q, int q0, float[] out, float[] scores, int scoreStride, KvCache cache, int[] runs, int pos,
                                   int layer, int hq, int together, int kvh, int headDim, float scale, float cap, ForwardObserver observer) {
        int kvDim = cache.kvDim();
        for (int r = 0; r < runs.length; r += 2) {
            int first = runs[r];
            int count = runs[r + 1];
            if (cache.keysAreFloats()) {
                for (int i = 0; i < together; i++) {
                    Ops.dots(q, q0 + i * headDim, cache.keys(layer), first * kvDim + kvh, kvDim, count, headDim, scores,
                            (hq + i) * scoreStride + first);
                }
            } else {
                cache.dotKeys(layer, first, count, kvh, headDim, q, q0, headDim, together, scores, hq * scoreStride + first, scoreStride);
            }
        }
        float[] part = runs.length > 2 ? new float[together * headDim] : null;
        for (int h = hq; h < hq + together; h++) {
            int so = h * scoreStride;
            int prev = 0;
            for (int r = 0; r < runs.length; r += 2) {
                java.util.Arrays.fill(scores, so + prev, so + runs[r], Float.NEGATIVE_INFINITY);
                for (int p = runs[r]; p < runs[r] + runs[r + 1]; p++) {
                    float s = scores[so + p] * scale;
                    scores[so + p] = cap > 0 ? cap * (float) Math.tanh(s / cap) : s;
                }
                prev = runs[r] + runs[r + 1];
            }
            java.util.Arrays.fill(scores, so + prev, so + pos + 1, Float.NEGATIVE_INFINITY);
            Ops.softmax(scores, so, pos + 1);
            if (observer != null) {
                observer.attention(layer, h, pos, scores, so, 0, pos + 1);
            }
            if (cache.valuePrecision() == KvCache.Precision.F16) {
                roundToF16(scores, so, pos + 1);
            }
        }
        int hs = together * headDim;
        for (int r = 0; r < runs.length; r += 2) {
            int first = runs[r];
            int count = runs[r + 1];
            float[] dst = r == 0 ? out : part;
            int d0 = r == 0 ? q0 : 0;
            if (cache.valuesAreFloats()) {
                for (int i = 0; i < together; i++) {
                    Ops.weightedSum(dst, d0 + i * headDim, scores, (hq + i) * scoreStride + first, cache.values(layer), first * kvDim + kvh,
                            kvDim, count, headDim);
                }
            } else {
                cache.sumValues(layer, first, count, kvh, headDim, scores, hq * scoreStride + first, scoreStride, together, dst, d0, headDim);
            }
            if (r > 0) {
                for (int j = 0; j < hs; j++) {
                    out[q0 + j] += part[j];
                }
            }
        }
        if (cache.valuePrecision().rotated()) {
            for (int i = 0; i < together; i++) {
                Hadamard.rotate(out, q0 + i * headDim, headDim, Hadamard.blockFor(headDim)); // its own inverse
            }
        }
    }

    private static void roundToF16(float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            x[i] = Float.float16ToFloat(Float.floatToFloat16(x[i]));
        }
    }
}
