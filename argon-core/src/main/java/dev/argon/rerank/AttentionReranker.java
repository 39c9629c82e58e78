package dev.argon.rerank;

import dev.argon.ArgonException;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.ForwardObserver;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * In-context re-ranking (ICR; Chen et al., "Attention in Large Language Models Yields Efficient
 * Zero-Shot Re-Rankers", ICLR 2025) with any decoder model: one prompt holds all documents, then
 * the query; a document's relevance is the attention the query pays to its tokens.
 *
 * <p>The prompt is {@code [BOS] "Here are some paragraphs:" ("\n\n[i]" document_i)...
 * "\n\nPlease find information that is relevant to the following query in the paragraphs above.\n\nQuery:"}
 * followed by the query. For every document token {@code k} the score is
 * {@code s(k) = mean over query tokens j of (sum over layers and heads of attention(j -> k))}.
 * The same is computed with the content-free query {@code "N/A"} (reusing the KV cache of the
 * shared prefix: two forward passes in all, whatever the number of documents), and the
 * calibrated token score is {@code c(k) = s_query(k) - s_NA(k)}. Per document, tokens with
 * {@code c(k) <= mean(c) - 2 * sd(c)} (sample standard deviation over the document's tokens) are
 * dropped as outliers, and the document's score is the sum of the remaining {@code c(k)}.
 */
public final class AttentionReranker {
    /** The content-free calibration query of the paper. */
    public static final String CALIBRATION_QUERY = "N/A";
    static final String HEAD = "Here are some paragraphs:";
    static final String TAIL = "\n\nPlease find information that is relevant to the following query in the paragraphs above.\n\nQuery:";

    /**
     * One document's result.
     *
     * @param index its index in the request
     * @param score the calibrated ICR score (higher is more relevant)
     */
    public record Scored(int index, double score) {
    }

    /**
     * The token layout of a prompt.
     *
     * @param prefix the shared prompt ids up to and including {@code "Query:"}
     * @param docStart first prefix position of each document's tokens
     * @param docEnd one past the last
     * @param query the query's ids
     * @param calibration the calibration query's ids
     */
    public record Layout(int[] prefix, int[] docStart, int[] docEnd, int[] query, int[] calibration) {
        /** @return the tokens of both passes' longest prompt */
        public int length() {
            return prefix.length + Math.max(query.length, calibration.length);
        }
    }

    private final LanguageModel model;
    private final KvCache.Precision cache;
    private final int batchSize;

    /**
     * @param cache KV cache type of the passes
     * @param batchSize positions per forward pass (does not change the scores)
     * @throws ArgonException if the batch size is below 1 or the model is a text encoder (BERT)
     */
    public AttentionReranker(LanguageModel model, KvCache.Precision cache, int batchSize) {
        if (batchSize < 1) {
            throw new ArgonException("batch size is " + batchSize + "; expected at least 1");
        }
        if (model instanceof dev.argon.model.TextEncoder) {
            throw new ArgonException("re-ranking reads a decoder's causal attention; this model (" + model.config().architecture()
                    + ") is a text encoder for embeddings");
        }
        this.model = model;
        this.cache = cache;
        this.batchSize = batchSize;
    }

    /**
     * Tokenizes the prompt. Every piece is tokenized on its own (plain text, control-token text
     * not recognised), so document boundaries are exact token positions.
     *
     * @throws ArgonException if there are no documents, the query or a document is empty, or the prompt does not
     *     fit the model's context
     */
    public Layout layout(String query, List<String> documents) {
        if (documents.isEmpty()) {
            throw new ArgonException("documents is empty; expected at least one document");
        }
        if (query.isBlank()) {
            throw new ArgonException("query is empty");
        }
        for (int i = 0; i < documents.size(); i++) {
            if (documents.get(i).isBlank()) {
                throw new ArgonException("document " + i + " is empty; an empty document has no tokens to score");
            }
        }
        Tokenizer tok = model.tokenizer();
        List<Integer> ids = new ArrayList<>();
        if (tok.bos() >= 0) {
            ids.add(tok.bos());
        }
        add(ids, tok.encode(HEAD, false, false));
        int[] start = new int[documents.size()];
        int[] end = new int[documents.size()];
        for (int i = 0; i < documents.size(); i++) {
            add(ids, tok.encode("\n\n[" + (i + 1) + "]", false, false));
            start[i] = ids.size();
            add(ids, tok.encode(" " + documents.get(i).strip(), false, false));
            end[i] = ids.size();
        }
        add(ids, tok.encode(TAIL, false, false));
        int[] prefix = ids.stream().mapToInt(Integer::intValue).toArray();
        int[] q = tok.encode(" " + query.strip(), false, false);
        int[] cal = tok.encode(" " + CALIBRATION_QUERY, false, false);
        Layout layout = new Layout(prefix, start, end, q, cal);
        int ctx = model.config().contextLength();
        if (layout.length() > ctx) {
            throw new ArgonException("the documents and the query take " + layout.length() + " tokens; the model's context is "
                    + ctx + " (re-rank fewer or shorter documents)");
        }
        return layout;
    }

    private static void add(List<Integer> ids, int[] more) {
        for (int id : more) {
            ids.add(id);
        }
    }

    /**
     * Scores every document.
     *
     * @return the documents' scores in request order
     * @throws ArgonException as {@link #layout}
     */
    public double[] score(String query, List<String> documents) {
        Layout l = layout(query, documents);
        InferenceState state = model.newState(l.length(), cache, cache);
        run(state, l.prefix(), 0);
        double[] withQuery = tokenScores(state, l.prefix().length, l.query());
        double[] withNa = tokenScores(state, l.prefix().length, l.calibration());
        return documentScores(l, withQuery, withNa);
    }

    /**
     * Ranks the documents, most relevant first (ties: request order).
     *
     * @param topN keep the best {@code topN} (≤ 0: all)
     */
    public List<Scored> rank(String query, List<String> documents, int topN) {
        double[] s = score(query, documents);
        List<Scored> out = new ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            out.add(new Scored(i, s[i]));
        }
        out.sort((a, b) -> Double.compare(b.score(), a.score()));
        return topN > 0 && topN < out.size() ? List.copyOf(out.subList(0, topN)) : out;
    }

    /**
     * The ICR document scores from per-position token scores of the query and calibration passes
     * (both indexed by prefix position): calibrate, drop low outliers, sum.
     */
    static double[] documentScores(Layout l, double[] withQuery, double[] withNa) {
        double[] out = new double[l.docStart().length];
        for (int d = 0; d < out.length; d++) {
            int a = l.docStart()[d];
            int n = l.docEnd()[d] - a;
            if (n == 0) {
                continue;
            }
            double[] c = new double[n];
            double mean = 0;
            for (int k = 0; k < n; k++) {
                c[k] = withQuery[a + k] - withNa[a + k];
                mean += c[k];
            }
            mean /= n;
            double var = 0;
            for (double v : c) {
                var += (v - mean) * (v - mean);
            }
            double sd = n > 1 ? Math.sqrt(var / (n - 1)) : Double.NaN;
            double threshold = mean - 2 * sd;
            double sum = 0;
            for (double v : c) {
                if (Double.isNaN(threshold) || v > threshold) {
                    sum += v;
                }
            }
            out[d] = sum;
        }
        return out;
    }

    /**
     * Runs {@code query} after the prefix (its keys and values overwrite those of an earlier
     * query) and returns, for every prefix position, the attention the query's tokens pay to it:
     * summed over layers and heads, averaged over the query's tokens.
     */
    private double[] tokenScores(InferenceState state, int prefixLength, int[] query) {
        int heads = model.config().nHeads();
        double[][] perHead = new double[heads][prefixLength];
        state.observe(new ForwardObserver() {
            @Override
            public void attention(int layer, int head, int position, float[] weights, int offset, int first, int count) {
                double[] acc = perHead[head];
                int end = Math.min(first + count, prefixLength);
                for (int p = first; p < end; p++) {
                    acc[p] += weights[offset + p - first];
                }
            }
        });
        try {
            run(state, query, prefixLength);
        } finally {
            state.observe(null);
        }
        double[] s = new double[prefixLength];
        for (double[] h : perHead) {
            for (int p = 0; p < prefixLength; p++) {
                s[p] += h[p];
            }
        }
        for (int p = 0; p < prefixLength; p++) {
            s[p] /= query.length;
        }
        return s;
    }

    private void run(InferenceState state, int[] ids, int startPos) {
        Batch batch = new Batch(Math.min(batchSize, ids.length));
        for (int i = 0; i < ids.length; i += batch.capacity()) {
            batch.clear();
            int n = Math.min(batch.capacity(), ids.length - i);
            for (int r = 0; r < n; r++) {
                batch.add(state, ids[i + r], startPos + i + r, true, false);
            }
            model.forward(batch);
        }
    }
}
