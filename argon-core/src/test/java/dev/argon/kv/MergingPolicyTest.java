package dev.argon.kv;

import dev.argon.TestFiles;
import dev.argon.generate.BatchScheduler;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The merging policies: MiniCache (SLERP of adjacent layers' directions, per-layer magnitudes, retention
 * of distant pairs) and KVMerger (Gaussian-kernel merge of similar consecutive keys around the most
 * attended pivot), read back through the attention path ({@link KvCache#dotKeys} with unit queries gives
 * a key's components, {@link KvCache#sumValues} with a one-hot weight a value row), against hand-computed
 * values and a double-precision reference; then TinyLLama-v0 generating with each.
 */
class MergingPolicyTest {
    private static final int D = 4; // one head of 4 values

    private static ContextPolicy miniCache(double gamma) {
        return ContextPolicy.miniCache(2, new ContextPolicy.Merge(0, 0.6, gamma, 0, 0));
    }

    private static ContextPolicy kvMerger(double epsilon, double sigma) {
        return ContextPolicy.kvMerger(2, new ContextPolicy.Merge(-1, 0, 0, epsilon, sigma));
    }

    /** @return row {@code r} (merged rows first) of layer {@code l}'s keys, as attention sees it */
    private static float[] key(KvCache c, int l, int r) {
        float[] k = new float[D];
        float[] out = new float[1];
        for (int j = 0; j < D; j++) {
            float[] q = new float[D];
            q[j] = 1;
            c.dotKeys(l, r, 1, 0, D, q, 0, out, 0);
            k[j] = out[0];
        }
        return k;
    }

    /** @return row {@code r} of layer {@code l}'s values, as attention's weighted sum sees it */
    private static float[] value(KvCache c, int l, int r) {
        float[] v = new float[D];
        c.sumValues(l, r, 1, 0, D, new float[]{1}, 0, v, 0);
        return v;
    }

    private static void assertClose(float[] actual, double[] expected, double tol) {
        for (int j = 0; j < expected.length; j++) {
            assertThat((double) actual[j]).as("component " + j).isCloseTo(expected[j], within(tol));
        }
    }

    /** SLERP reference in double, written from the formula: {@code sin((1-t)θ)/sinθ u_a + sin(tθ)/sinθ u_b}. */
    private static double[] slerp(float[] a, float[] b, double t) {
        double na = 0;
        double nb = 0;
        double dot = 0;
        for (int j = 0; j < a.length; j++) {
            na += a[j] * (double) a[j];
            nb += b[j] * (double) b[j];
            dot += a[j] * (double) b[j];
        }
        na = Math.sqrt(na);
        nb = Math.sqrt(nb);
        double theta = Math.acos(dot / (na * nb));
        double[] e = new double[a.length];
        for (int j = 0; j < a.length; j++) {
            e[j] = Math.sin((1 - t) * theta) / Math.sin(theta) * a[j] / na + Math.sin(t * theta) / Math.sin(theta) * b[j] / nb;
        }
        return e;
    }

    private static double[] scaled(double[] e, double s) {
        double[] o = new double[e.length];
        for (int j = 0; j < e.length; j++) {
            o[j] = s * e[j];
        }
        return o;
    }

    private static double norm(float[] x) {
        double s = 0;
        for (float f : x) {
            s += f * (double) f;
        }
        return Math.sqrt(s);
    }

    @Test
    void miniCacheSlerpsDirectionsAndKeepsEachLayersMagnitude() {
        // hand-computed: orthogonal keys of norms 3 and 2, t = 0.6: θ = π/2, e = (sin 0.2π, sin 0.3π, 0, 0)
        KvCache c = new KvCache(2, 8, D, D, KvCache.Precision.F32, KvCache.Precision.F32);
        c.compressWith(miniCache(1)); // γ = 1: no token is retained
        c.store(0, 0, new float[]{3, 0, 0, 0}, 0, new float[]{0, 0, 1, 0}, 0);
        c.store(1, 0, new float[]{0, 2, 0, 0}, 0, new float[]{0, 0, 2, 2}, 0);
        c.store(0, 1, new float[]{1, 1, 1, 1}, 0, new float[]{1, 1, 1, 1}, 0); // stays exact
        c.store(1, 1, new float[]{2, 2, 2, 2}, 0, new float[]{2, 2, 2, 2}, 0);
        c.compress(1, 2);
        assertThat(c.compressedRows(0)).isEqualTo(1);
        assertThat(c.compressedRows(1)).isEqualTo(1);
        double s = 0.5877852522924731; // sin(0.2π)
        double co = 0.8090169943749475; // sin(0.3π)
        assertClose(key(c, 0, 0), new double[]{3 * s, 3 * co, 0, 0}, 1e-6);
        assertClose(key(c, 1, 0), new double[]{2 * s, 2 * co, 0, 0}, 1e-6);
        // values: (0,0,1,0) and (0,0,2,2): θ = π/4; e = sin(0.4·π/4)/sin(π/4)·(0,0,1,0) + sin(0.6·π/4)/sin(π/4)·(0,0,1,1)/√2
        double wa = Math.sin(0.1 * Math.PI) / Math.sin(Math.PI / 4);
        double wb = Math.sin(0.15 * Math.PI) / Math.sin(Math.PI / 4) / Math.sqrt(2);
        assertClose(value(c, 0, 0), new double[]{0, 0, wa + wb, wb}, 1e-6);
        assertClose(value(c, 1, 0), new double[]{0, 0, Math.sqrt(8) * (wa + wb), Math.sqrt(8) * wb}, 1e-6);
        // the exact row moved to row 0 of the exact part, after the merged row
        assertClose(key(c, 1, 1), new double[]{2, 2, 2, 2}, 0);
        // one direction row per side plus four magnitudes instead of two rows per side: 32 + 16 bytes, not 64
        assertThat(c.storedBytes(1)).isEqualTo(2 * 32 + 32 + 16);

        // random vectors against the double-precision reference; magnitudes restored within 1e-5 relative
        Random r = new Random(5);
        KvCache big = new KvCache(2, 16, D, D, KvCache.Precision.F32, KvCache.Precision.F32);
        big.compressWith(miniCache(1));
        float[][][] k = new float[2][12][D];
        float[][][] v = new float[2][12][D];
        for (int t = 0; t < 12; t++) {
            for (int l = 0; l < 2; l++) {
                for (int j = 0; j < D; j++) {
                    k[l][t][j] = (float) r.nextGaussian();
                    v[l][t][j] = (float) r.nextGaussian();
                }
                big.store(l, t, k[l][t], 0, v[l][t], 0);
            }
        }
        big.compress(10, 12);
        for (int t = 0; t < 10; t++) {
            double[] ek = slerp(k[0][t], k[1][t], 0.6);
            double[] ev = slerp(v[0][t], v[1][t], 0.6);
            for (int l = 0; l < 2; l++) {
                float[] gotK = key(big, l, t);
                assertClose(gotK, scaled(ek, norm(k[l][t])), 1e-5);
                assertThat(norm(gotK)).isCloseTo(norm(k[l][t]), within(1e-5 * norm(k[l][t])));
                assertClose(value(big, l, t), scaled(ev, norm(v[l][t])), 1e-5);
            }
        }
    }

    @Test
    void miniCacheRetainsTokensWhoseLayersDisagree() {
        KvCache c = new KvCache(2, 8, D, D, KvCache.Precision.F32, KvCache.Precision.F32);
        c.compressWith(miniCache(0.5));
        float[][] a = {{1, 0.1f, 0, 0}, {0, 1, 0.1f, 0}, {1, 2, 3, 4}, {0, 0, 1, 0.1f}};
        float[][] b = {{1, 0.12f, 0, 0}, {0, 1, 0.11f, 0}, {-1, -2, -3, -4.5f}, {0, 0, 1, 0.12f}}; // token 2: opposite directions
        for (int t = 0; t < 4; t++) {
            c.store(0, t, a[t], 0, a[t], 0);
            c.store(1, t, b[t], 0, b[t], 0);
        }
        c.store(0, 4, a[0], 0, a[0], 0);
        c.store(1, 4, b[0], 0, b[0], 0);
        c.compress(4, 5);
        assertThat(c.compressedRows(0)).isEqualTo(4);
        // the retained token comes first (the layer's own rows), exact in both layers
        assertThat(key(c, 0, 0)).containsExactly(a[2]);
        assertThat(key(c, 1, 0)).containsExactly(b[2]);
        assertThat(value(c, 1, 0)).containsExactly(b[2]);
        assertThat(c.compressionStats()).contains("merged 3 of 4");
        // 1 exact row (2 layers x 32 bytes) + the retained token's 2 rows + 3 merged tokens x (32 + 16)
        assertThat(c.storedBytes(1)).isEqualTo(64 + 64 + 3 * 48);
    }

    @Test
    void kvMergerMergesSimilarConsecutiveKeysWithGaussianWeightsAroundThePivot() {
        KvCache c = new KvCache(1, 8, D, D, KvCache.Precision.F32, KvCache.Precision.F32);
        c.trackAttention(1);
        c.compressWith(kvMerger(0.5, 1));
        float[][] k = {{2, 0, 0, 0}, {2, 1, 0, 0}, {2, 2, 0, 0}, {0, 0, 0, 5}, {1, 1, 1, 1}};
        float[][] v = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {3, 3, 3, 3}, {4, 4, 4, 4}};
        for (int t = 0; t < 5; t++) {
            c.store(0, t, k[t], 0, v[t], 0);
        }
        float[] mass = c.attentionMass(0);
        mass[0] = 3; // the pivot: the most attended token of the set {0, 1, 2}
        mass[1] = 1;
        mass[2] = 2;
        c.compress(4, 5);
        // set {0,1,2} (cosines 0.894, 0.949 >= 0.5) → one row; token 3 (cosine 0 with token 2) stays alone
        assertThat(c.compressedRows(0)).isEqualTo(2);
        // hand-computed: squared distances to the pivot 0, 1, 4; σ = 1: g = 1, e^-0.5, e^-2
        double g1 = 0.6065306597126334;
        double g2 = 0.1353352832366127;
        double total = 1 + g1 + g2;
        double w0 = 1 / total;
        double w1 = g1 / total;
        double w2 = g2 / total;
        assertThat(w0).isCloseTo(0.574097, within(1e-6));
        assertClose(key(c, 0, 0), new double[]{2, w1 + 2 * w2, 0, 0}, 1e-6);
        assertClose(value(c, 0, 0), new double[]{w0, w1, w2, 0}, 1e-6);
        assertThat(key(c, 0, 1)).containsExactly(k[3]);
        assertThat(value(c, 0, 1)).containsExactly(v[3]);
        assertThat(key(c, 0, 2)).containsExactly(k[4]); // the exact row
        assertThat(c.attentionReceived(0)).as("attention sums moved with the exact rows").isZero();
        assertThat(c.storedBytes(1)).isEqualTo(3 * 32);

        // adaptive σ: σ² = mean squared distance of the other members = (1 + 4) / 2
        double[] w = new double[3];
        float[] flat = {2, 0, 0, 0, 2, 1, 0, 0, 2, 2, 0, 0};
        KvMergerRows.gaussianWeights(flat, D, 0, 3, 0, 0, w);
        double a1 = Math.exp(-1 / 5.0);
        double a2 = Math.exp(-4 / 5.0);
        assertThat(w[0]).isCloseTo(1 / (1 + a1 + a2), within(1e-12));
        assertThat(w[2]).isCloseTo(a2 / (1 + a1 + a2), within(1e-12));
    }

    @Test
    void kvMergerKeepsDissimilarKeysUnmerged() {
        KvCache c = new KvCache(1, 8, D, D, KvCache.Precision.Q8_0, KvCache.Precision.F16);
        c.trackAttention(1);
        c.compressWith(kvMerger(0.9, 0));
        float[][] k = {{1, 0, 0, 0}, {0, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
        float[][] before = new float[4][];
        for (int t = 0; t < 5; t++) {
            c.store(0, t, k[t], 0, k[t], 0);
        }
        for (int t = 0; t < 4; t++) {
            before[t] = key(c, 0, t);
        }
        c.compress(4, 5);
        assertThat(c.compressedRows(0)).isEqualTo(4); // cosines 0, 0.71, 0: below 0.9, no set forms
        for (int t = 0; t < 4; t++) {
            assertThat(key(c, 0, t)).as("token " + t + " as stored before").containsExactly(before[t]);
        }
        assertThat(c.compressionStats()).contains("stored 4 rows for 4 token-layers");
    }

    @Test
    void mergedRowsThatAreCopiesGiveTheFullCachesLogits() {
        // MiniCache starting at the last of stories260K's 5 layers has no pair: every merged row is an exact copy,
        // so attention over merged + exact rows must equal the full cache (up to the order of the value sums)
        LanguageModel model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
        try (model) {
            ContextPolicy p = ContextPolicy.miniCache(8, new ContextPolicy.Merge(4, 0.6, 0.05, 0, 0));
            var full = model.newState(64, KvCache.Precision.F32, KvCache.Precision.F32);
            var merged = model.newState(64, KvCache.Precision.F32, KvCache.Precision.F32, p);
            Random r = new Random(3);
            for (int pos = 0; pos < 40; pos++) {
                int token = pos == 0 ? model.tokenizer().bos() : 3 + r.nextInt(400);
                float[] a = model.forward(full, token, pos, true).clone();
                float[] b = model.forward(merged, token, pos, true);
                for (int i = 0; i < a.length; i++) {
                    assertThat(b[i]).as("logit " + i + " at " + pos).isCloseTo(a[i], within(1e-4f));
                }
            }
            assertThat(merged.evicted()).as("rows were merged out of the exact window").isGreaterThan(24);
            assertThat(merged.kvCache().compressedRows(0)).isEqualTo(merged.evicted());
        }
    }

    @Test
    void tinyLlamaGeneratesWithEachPolicyAndMatchesTheFullCacheUntilTheFirstMerge() throws Exception {
        LanguageModel model = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 2);
        try (model) {
            GenerationRequest req = GenerationRequest.of("Once upon a time, there was a little girl", 40, SamplingParams.greedy());
            GenerationResult full = new Generator(model, KvCache.Precision.F16).generate(req, 128, t -> { });
            int prompt = full.promptTokens().length;
            for (ContextPolicy p : new ContextPolicy[]{
                    ContextPolicy.miniCache(24, ContextPolicy.Merge.MINICACHE_DEFAULTS),
                    ContextPolicy.kvMerger(24, ContextPolicy.Merge.KVMERGER_DEFAULTS)}) {
                GenerationResult r = new Generator(model, KvCache.Precision.F16, p).generate(req, 128, t -> { });
                if (r.finishReason() == FinishReason.LENGTH) {
                    assertThat(r.generatedTokens()).hasSize(40);
                }
                assertThat(r.generatedTokens().length).as(p.toString()).isGreaterThan(24 - prompt);
                // the first merge happens when the exact rows pass 24: every token before it sees the same cache
                int same = Math.min(24 - prompt, full.generatedTokens().length);
                assertThat(Arrays.copyOf(r.generatedTokens(), same)).as(p.toString())
                        .containsExactly(Arrays.copyOf(full.generatedTokens(), same));
                // the batch scheduler (serve's) gives the same tokens, slots reused after a merge included
                try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(2, 128, KvCache.Precision.F16, 4, 16, true, p))) {
                    var handles = new java.util.ArrayList<BatchScheduler.Handle>();
                    for (int i = 0; i < 2; i++) {
                        handles.add(s.submit(req, r.promptTokens(), () -> false));
                    }
                    for (var h : handles) {
                        GenerationResult g = h.await(t -> { });
                        assertThat(g.generatedTokens()).as(p + " in the scheduler").containsExactly(r.generatedTokens());
                    }
                }
            }
        }
    }
}
