package dev.argon.rerank;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.ForwardObserver;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link AttentionReranker} (ICR) against a slow reference that materializes every attention row
 * of two full passes (no shared KV cache, one row per pass) and applies the paper's formula
 * directly; and a small needle set on TinyLLama-v0 next to a BM25 baseline.
 */
class AttentionRerankerTest {
    private static final List<String> DOCS = List.of(
            "Tom has a big red ball. He plays with it in the park every day.",
            "Lily likes to eat sweet apples. Her mom buys apples at the shop.",
            "The old cat sleeps on the soft mat near the warm fire.");

    /** Every attention row of a pass: key (layer, head, position) → weights of positions 0..position. */
    private static Map<List<Integer>, float[]> allRows(LanguageModel m, int[] ids, KvCache.Precision cache) {
        Map<List<Integer>, float[]> rows = new HashMap<>();
        InferenceState st = m.newState(ids.length, cache, cache);
        st.observe(new ForwardObserver() {
            @Override
            public void attention(int layer, int head, int position, float[] w, int offset, int first, int count) {
                float[] row = new float[position + 1];
                System.arraycopy(w, offset, row, first, count);
                synchronized (rows) {
                    rows.put(List.of(layer, head, position), row);
                }
            }
        });
        Batch b = new Batch(1);
        for (int p = 0; p < ids.length; p++) {
            b.clear();
            b.add(st, ids[p], p, true, false);
            m.forward(b);
        }
        return rows;
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    /** The ICR score of each document, straight from the formula. */
    private static double[] reference(LanguageModel m, AttentionReranker.Layout l, KvCache.Precision cache) {
        int layers = m.config().nLayers();
        int heads = m.config().nHeads();
        int pre = l.prefix().length;
        double[][] s = new double[2][pre];
        int[][] queries = {l.query(), l.calibration()};
        for (int pass = 0; pass < 2; pass++) {
            Map<List<Integer>, float[]> rows = allRows(m, concat(l.prefix(), queries[pass]), cache);
            assertThat(rows).hasSize(layers * heads * (pre + queries[pass].length));
            for (int k = 0; k < pre; k++) {
                double sum = 0;
                for (int j = pre; j < pre + queries[pass].length; j++) {
                    for (int la = 0; la < layers; la++) {
                        for (int h = 0; h < heads; h++) {
                            sum += rows.get(List.of(la, h, j))[k];
                        }
                    }
                }
                s[pass][k] = sum / queries[pass].length;
            }
        }
        double[] out = new double[l.docStart().length];
        for (int d = 0; d < out.length; d++) {
            List<Double> c = new ArrayList<>();
            for (int k = l.docStart()[d]; k < l.docEnd()[d]; k++) {
                c.add(s[0][k] - s[1][k]);
            }
            double mean = c.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double var = c.stream().mapToDouble(v -> (v - mean) * (v - mean)).sum() / (c.size() - 1);
            double threshold = mean - 2 * Math.sqrt(var);
            out[d] = c.stream().mapToDouble(Double::doubleValue).filter(v -> v > threshold).sum();
        }
        return out;
    }

    @Test
    void scoresEqualTheFormulaOverMaterializedAttentionRows() {
        try (LanguageModel m = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2)) {
            AttentionReranker r = new AttentionReranker(m, KvCache.Precision.F32, 64);
            String query = "What does Lily like to eat?";
            AttentionReranker.Layout l = r.layout(query, DOCS);
            double[] ref = reference(m, l, KvCache.Precision.F32);
            double[] got = r.score(query, DOCS);
            assertThat(got).hasSize(3);
            for (int d = 0; d < 3; d++) {
                assertThat(got[d]).as("document %d", d).isCloseTo(ref[d], within(1e-5));
            }
            assertThat(got).isNotEqualTo(new double[3]);
            // batch size and thread count do not change the scores
            assertThat(new AttentionReranker(m, KvCache.Precision.F32, 5).score(query, DOCS)).containsExactly(got);
            try (LanguageModel one = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 1)) {
                assertThat(new AttentionReranker(one, KvCache.Precision.F32, 64).score(query, DOCS)).containsExactly(got);
            }
        }
    }

    @Test
    void attentionRowsAreDistributions() {
        try (LanguageModel m = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2)) {
            int[] ids = m.tokenizer().encode("Once upon a time there was a cat.", true, false);
            Map<List<Integer>, float[]> rows = allRows(m, ids, KvCache.Precision.F16);
            for (float[] w : rows.values()) {
                double sum = 0;
                for (float x : w) {
                    assertThat(x).isBetween(0f, 1f);
                    sum += x;
                }
                assertThat(sum).isCloseTo(1.0, within(1e-5));
            }
        }
    }

    @Test
    void rejectsEmptyInputAndPromptsLongerThanTheContext() {
        try (LanguageModel m = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2)) {
            AttentionReranker r = new AttentionReranker(m, KvCache.Precision.F16, 64);
            assertThatThrownBy(() -> r.score("q", List.of())).isInstanceOf(ArgonException.class).hasMessageContaining("documents is empty");
            assertThatThrownBy(() -> r.score(" ", DOCS)).isInstanceOf(ArgonException.class).hasMessageContaining("query is empty");
            int ctx = m.config().contextLength();
            String longDoc = "word ".repeat(ctx);
            assertThatThrownBy(() -> r.score("q", List.of(longDoc))).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("the model's context is " + ctx);
        }
    }

    /** A needle set: each query is answered by one of the documents (the others share its words). */
    private static final String[] NEEDLE_DOCS = {
            "Tom had a red ball. He liked to kick the ball in the park with his dog.",
            "Lily found a small bird in the garden. The bird had a hurt wing, so Lily gave it water.",
            "Ben and Sue baked a big cake for mom. The cake was sweet and had pink icing.",
            "The little fish lived in a blue pond. Every day the fish swam around the green rocks.",
            "Max the cat climbed up a tall tree. He was scared to come down, so his friend helped him.",
    };
    private static final String[][] NEEDLE_QUERIES = {
            {"What did Tom kick in the park?", "0"},
            {"Who gave water to the bird?", "1"},
            {"What did Ben and Sue bake for mom?", "2"},
            {"Where did the little fish live?", "3"},
            {"Which cat climbed a tall tree?", "4"},
    };

    @Test
    void needleSetOnTinyLlamaNextToBm25() {
        try (LanguageModel m = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 2)) {
            AttentionReranker r = new AttentionReranker(m, KvCache.Precision.F16, 64);
            double[] icr = new double[2];
            double[] bm25 = new double[2];
            for (String[] q : NEEDLE_QUERIES) {
                int relevant = Integer.parseInt(q[1]);
                List<AttentionReranker.Scored> ranked = r.rank(q[0], List.of(NEEDLE_DOCS), 0);
                assertThat(ranked).extracting(AttentionReranker.Scored::index).containsExactlyInAnyOrder(0, 1, 2, 3, 4);
                assertThat(ranked).isSortedAccordingTo(Comparator.comparingDouble(AttentionReranker.Scored::score).reversed());
                int[] icrOrder = ranked.stream().mapToInt(AttentionReranker.Scored::index).toArray();
                int[] bmOrder = Bm25.rank(q[0], NEEDLE_DOCS);
                icr[0] += ndcg(icrOrder, relevant, 1);
                icr[1] += ndcg(icrOrder, relevant, 3);
                bm25[0] += ndcg(bmOrder, relevant, 1);
                bm25[1] += ndcg(bmOrder, relevant, 3);
            }
            int n = NEEDLE_QUERIES.length;
            System.out.printf(Locale.ROOT, "needle set (%d queries, %d documents): ICR TinyLLama-v0 NDCG@1 %.3f NDCG@3 %.3f; BM25 NDCG@1 %.3f NDCG@3 %.3f%n",
                    n, NEEDLE_DOCS.length, icr[0] / n, icr[1] / n, bm25[0] / n, bm25[1] / n);
            // BM25 finds every needle here (the queries share rare words with their document)
            assertThat(bm25[0] / n).isEqualTo(1.0);
        }
    }

    /** NDCG@k with one relevant document: 1 / log2(rank + 1) if it is in the top k. */
    static double ndcg(int[] order, int relevant, int k) {
        for (int i = 0; i < Math.min(k, order.length); i++) {
            if (order[i] == relevant) {
                return 1 / (Math.log(i + 2) / Math.log(2));
            }
        }
        return 0;
    }

    /** Okapi BM25 (k1 = 1.2, b = 0.75) over lower-cased word tokens, the baseline. */
    static final class Bm25 {
        static int[] rank(String query, String[] docs) {
            List<List<String>> d = new ArrayList<>();
            double avg = 0;
            for (String s : docs) {
                d.add(words(s));
                avg += d.getLast().size();
            }
            avg /= docs.length;
            double[] score = new double[docs.length];
            for (String w : new java.util.HashSet<>(words(query))) {
                long df = d.stream().filter(x -> x.contains(w)).count();
                double idf = Math.log(1 + (docs.length - df + 0.5) / (df + 0.5));
                for (int i = 0; i < docs.length; i++) {
                    long tf = d.get(i).stream().filter(w::equals).count();
                    score[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * d.get(i).size() / avg));
                }
            }
            return IntStream.range(0, docs.length).boxed().sorted((a, b) -> Double.compare(score[b], score[a])).mapToInt(Integer::intValue).toArray();
        }

        static List<String> words(String s) {
            return List.of(s.toLowerCase(Locale.ROOT).split("[^a-z]+")).stream().filter(w -> !w.isEmpty()).toList();
        }
    }
}
