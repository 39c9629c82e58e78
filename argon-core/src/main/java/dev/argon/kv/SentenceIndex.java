package dev.argon.kv;

import java.util.Locale;

/**
 * SentenceKV's index of one sequence's cache (Zhu et al., 2025, "SentenceKV: Efficient LLM Inference via
 * Sentence-Level Semantic KV Caching"): the cached tokens grouped into sentences, and per sentence, layer and
 * KV head a semantic vector, the mean of the sentence's keys (as stored: after RoPE, rotated for the rotated
 * encodings). For a query at row {@code pos} it picks the rows attention reads ({@link #select}): the first
 * {@code sinks} rows, the last {@code window} rows, and the sentences between them with the highest
 * {@code q · mean key}, as many as fit in {@code budget} tokens.
 *
 * <p>A sentence ends at a token whose text, without trailing spaces, quotes and closing brackets, ends in
 * {@code . ! ?} or a newline ({@link #endsSentence}); the next sentence starts at the following row, and
 * generated tokens group the same way. Sentence boundaries come from the token ids ({@link #mark}, before a
 * pass stores its rows); the key sums follow the stored keys layer by layer ({@link #advance}), so a query sees
 * only rows up to its own (causal). Rewriting a row (a prompt reused up to there, a rejected draft) forgets
 * what was known from that row on.
 *
 * <p>Memory: {@code 4 · kvDim} bytes per sentence and layer for the sums, one byte per row for the marks.
 * Not thread-safe: {@link #mark}, {@link #advance} and {@link #select} run on the thread that drives the pass.
 */
public final class SentenceIndex {
    private final int nLayers;
    private final int kvDim;
    private final int headDim;
    private final int sinks;
    private final int window;
    private final int budget;
    private final boolean sentenceQuery;
    private final boolean[] ends;
    /** With {@link #sentenceQuery}: per layer, the sum of the queries of the current sentence's rows so far, per KV head. */
    private final float[][] querySums;
    /** Per layer: the row whose queries were added last (-1: none), and its sentence. */
    private final int[] queryRow;
    private final int[] querySentence;
    /** Per row whose token is known: whether it ends a sentence. */
    private boolean[] rowEnds = new boolean[64];
    private int marked;
    /** Sentence i spans rows [starts[i], starts[i+1]) (the last one up to {@link #marked}). */
    private int[] starts = new int[16];
    private int sentences;
    /** Per layer: rows whose keys are in the sums. */
    private final int[] done;
    /** Per layer: key sums, {@code [sentence * kvDim + j]}. */
    private final float[][] sums;
    private float[] keyBuf = new float[0];
    // statistics: rows attended and rows in context, over the (query, layer, KV head) selections made
    private long selections;
    private long sparseSelections;
    private long attendedRows;
    private long contextRows;
    private long sparseAttended;
    private long sparseContext;

    /**
     * @param nLayers layers of the cache
     * @param kvDim values per cached row of a layer ({@code nKvHeads * headDim})
     * @param headDim values per KV head
     * @param policy the SentenceKV policy (sinks {@code keep}, {@code window}, {@code budget})
     * @param ends per token id, whether the token ends a sentence ({@link #endsSentence})
     */
    public SentenceIndex(int nLayers, int kvDim, int headDim, ContextPolicy policy, boolean[] ends) {
        if (!policy.selectsSentences()) {
            throw new IllegalArgumentException("policy " + policy + " does not select sentences");
        }
        this.nLayers = nLayers;
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.sinks = policy.keep();
        this.window = policy.window();
        this.budget = policy.budget();
        this.sentenceQuery = policy.select().sentenceQuery();
        this.ends = ends;
        this.querySums = sentenceQuery ? new float[nLayers][kvDim] : null;
        this.queryRow = new int[nLayers];
        this.querySentence = new int[nLayers];
        java.util.Arrays.fill(queryRow, -1);
        this.done = new int[nLayers];
        this.sums = new float[nLayers][16 * kvDim];
    }

    /**
     * Whether a token's text ends a sentence: its bytes, without trailing spaces, tabs, carriage returns, quotes
     * ({@code " '}) and closing brackets ({@code ) ]}), end in {@code .}, {@code !}, {@code ?}, or the token holds
     * a newline at its end. A token with no text (a control token) does not.
     *
     * @param text the token's bytes ({@code Tokenizer.tokenBytes})
     */
    public static boolean endsSentence(byte[] text) {
        int i = text.length - 1;
        while (i >= 0 && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) {
            i--;
        }
        if (i >= 0 && text[i] == '\n') {
            return true;
        }
        while (i >= 0 && (text[i] == '"' || text[i] == '\'' || text[i] == ')' || text[i] == ']')) {
            i--;
        }
        return i >= 0 && (text[i] == '.' || text[i] == '!' || text[i] == '?');
    }

    /**
     * Records the token of cache row {@code row}, before the pass stores it. A row below the rows already known
     * forgets them from there on; rows skipped over (copied without a pass) count as not ending a sentence.
     *
     * @param token the token id (outside the table: not an end)
     */
    public void mark(int row, int token) {
        if (row < marked) {
            truncate(row);
        }
        while (marked < row) {
            append(false);
        }
        append(token >= 0 && token < ends.length && ends[token]);
    }

    private void append(boolean end) {
        int row = marked;
        if (row == rowEnds.length) {
            rowEnds = java.util.Arrays.copyOf(rowEnds, 2 * row);
        }
        if (row == 0 || rowEnds[row - 1]) {
            if (sentences == starts.length) {
                starts = java.util.Arrays.copyOf(starts, 2 * sentences);
            }
            starts[sentences++] = row;
            if (sums[0].length < sentences * kvDim) {
                for (int l = 0; l < nLayers; l++) {
                    sums[l] = java.util.Arrays.copyOf(sums[l], 2 * sentences * kvDim);
                }
            }
            for (int l = 0; l < nLayers; l++) {
                java.util.Arrays.fill(sums[l], (sentences - 1) * kvDim, sentences * kvDim, 0f);
            }
        }
        rowEnds[row] = end;
        marked = row + 1;
    }

    /** Forgets rows {@code [row, marked)}: their marks, the sentences starting there, their keys in the sums. */
    private void truncate(int row) {
        forgetQueries();
        marked = row;
        while (sentences > 0 && starts[sentences - 1] >= row) {
            sentences--;
        }
        int lastStart = sentences == 0 ? 0 : starts[sentences - 1];
        for (int l = 0; l < nLayers; l++) {
            if (done[l] > row) { // the last sentence's sum holds forgotten rows: recompute it from the cache
                done[l] = lastStart;
                if (sentences > 0) {
                    java.util.Arrays.fill(sums[l], (sentences - 1) * kvDim, sentences * kvDim, 0f);
                }
            }
        }
    }

    /**
     * Adds the stored keys of rows {@code [done, upTo)} of layer {@code layer} to their sentences' sums.
     *
     * @param upTo rows of this layer whose keys are stored and whose tokens are {@link #mark}ed
     */
    public void advance(KvCache cache, int layer, int upTo) {
        int from = done[layer];
        if (upTo <= from) {
            return;
        }
        if (upTo > marked) {
            throw new IllegalStateException("rows up to " + upTo + " are stored but only " + marked + " are marked");
        }
        int count = upTo - from;
        if (keyBuf.length < count * kvDim) {
            keyBuf = new float[Math.max(count, 16) * kvDim];
        }
        cache.readKeys(layer, from, count, 0, kvDim, keyBuf, 0);
        int s = sentenceOf(from);
        float[] sum = sums[layer];
        for (int p = 0; p < count; p++) {
            int row = from + p;
            while (s + 1 < sentences && starts[s + 1] <= row) {
                s++;
            }
            int o = s * kvDim;
            int k = p * kvDim;
            for (int j = 0; j < kvDim; j++) {
                sum[o + j] += keyBuf[k + j];
            }
        }
        done[layer] = upTo;
    }

    /** @return the sentence holding row {@code row} (binary search over the starts) */
    private int sentenceOf(int row) {
        int lo = 0;
        int hi = sentences - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= row) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /**
     * The rows a query at row {@code pos} of layer {@code layer} reads for KV head {@code kvHead}: rows
     * {@code [0, sinks)}, {@code [pos + 1 - window, pos]}, and the sentences (clipped to the rows between) in
     * order of {@code q · mean key} (highest first; ties: the earlier sentence), each taken if it still fits in
     * the budget. Call {@link #advance} up to {@code pos + 1} first.
     *
     * <p>With the sentence query ({@link ContextPolicy.Select#sentenceQuery}) the sentences are ranked by the sum
     * of the queries of the rows of {@code pos}'s sentence up to {@code pos} (the mean's ranking; the paper's
     * decoding query): call it for the rows of a pass in order and per row for KV heads 0, 1, ... in order. A row
     * at or before the last one seen (rewritten rows) starts the sum again from that row.
     *
     * @param q the query of this KV head (for grouped-query attention the sum of the group's queries), at
     *     {@code q[qo .. qo + headDim)}
     * @return {@code null} when the query reads every row ({@code pos + 1 <= sinks + budget + window}), else
     *     ascending disjoint runs {@code {first0, count0, first1, count1, ...}}, adjacent runs joined
     */
    public int[] select(int layer, int pos, int kvHead, float[] q, int qo) {
        if (sentenceQuery) {
            int sentence = sentenceOf(pos);
            if (kvHead == 0) { // a new row (KV heads come in order)
                if (pos <= queryRow[layer] || sentence != querySentence[layer]) {
                    java.util.Arrays.fill(querySums[layer], 0f);
                }
                queryRow[layer] = pos;
                querySentence[layer] = sentence;
            }
            float[] qs = querySums[layer];
            for (int j = 0; j < headDim; j++) {
                qs[kvHead * headDim + j] += q[qo + j];
            }
            q = qs;
            qo = kvHead * headDim;
        }
        int context = pos + 1;
        selections++;
        if (context <= sinks + budget + window) {
            attendedRows += context;
            contextRows += context;
            return null;
        }
        int lo = sinks;
        int hi = context - window; // sentences are clipped to rows [lo, hi)
        int first = sentenceOf(lo);
        int last = sentenceOf(hi - 1);
        int n = last - first + 1;
        double[] score = new double[n];
        Integer[] order = new Integer[n];
        float[] sum = sums[layer];
        int col = kvHead * headDim;
        for (int i = 0; i < n; i++) {
            int s = first + i;
            int end = s + 1 < sentences ? starts[s + 1] : marked;
            int summed = Math.min(end, done[layer]) - starts[s];
            double d = 0;
            for (int j = 0; j < headDim; j++) {
                d += (double) q[qo + j] * sum[s * kvDim + col + j];
            }
            score[i] = summed > 0 ? d / summed : Double.NEGATIVE_INFINITY;
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(a, b));
        boolean[] chosen = new boolean[n];
        int left = budget;
        for (int i : order) {
            int s = first + i;
            int len = clippedLength(s, lo, hi);
            if (len <= left) {
                chosen[i] = true;
                left -= len;
            }
        }
        int[] runs = new int[2 * (n + 2)];
        int r = 0;
        if (sinks > 0) {
            runs[r++] = 0;
            runs[r++] = sinks;
        }
        for (int i = 0; i < n; i++) {
            if (chosen[i]) {
                int s = first + i;
                int a = Math.max(starts[s], lo);
                int len = clippedLength(s, lo, hi);
                r = addRun(runs, r, a, len);
            }
        }
        r = addRun(runs, r, hi, window);
        int attended = budget - left + sinks + window;
        attendedRows += attended;
        contextRows += context;
        sparseAttended += attended;
        sparseContext += context;
        sparseSelections++;
        return java.util.Arrays.copyOf(runs, r);
    }

    private int clippedLength(int s, int lo, int hi) {
        int end = s + 1 < sentences ? starts[s + 1] : marked;
        return Math.max(0, Math.min(end, hi) - Math.max(starts[s], lo));
    }

    private static int addRun(int[] runs, int r, int first, int count) {
        if (count <= 0) {
            return r;
        }
        if (r >= 2 && runs[r - 2] + runs[r - 1] == first) {
            runs[r - 1] += count;
            return r;
        }
        runs[r] = first;
        runs[r + 1] = count;
        return r + 2;
    }

    /** Makes this index describe the first {@code rows} rows of {@code src} (their cache rows were copied alike). */
    public void copyPrefix(SentenceIndex src, int rows) {
        forgetQueries();
        marked = 0;
        sentences = 0;
        java.util.Arrays.fill(done, 0);
        for (int row = 0; row < Math.min(rows, src.marked); row++) {
            append(src.rowEnds[row]);
        }
    }

    /** Forgets the current sentence's query sums (its rows are rewritten: the sum starts again at the next row). */
    private void forgetQueries() {
        java.util.Arrays.fill(queryRow, -1);
        java.util.Arrays.fill(querySentence, -1);
        if (querySums != null) {
            for (float[] q : querySums) {
                java.util.Arrays.fill(q, 0f);
            }
        }
    }

    /** @return sentences known (the last one possibly still open) */
    public int sentences() {
        return sentences;
    }

    /** @return rows whose tokens are known */
    public int marked() {
        return marked;
    }

    /** @return the first row of each sentence, in order */
    public int[] sentenceStarts() {
        return java.util.Arrays.copyOf(starts, sentences);
    }

    /** @return bytes held for the sentences: {@code 4 · kvDim} per sentence and layer, one per marked row */
    public long storedBytes() {
        return bytesPerSentence(nLayers, kvDim) * sentences + (long) BYTES_PER_ROW * marked;
    }

    /** Bytes the index holds per row whose token is known (its sentence mark). */
    public static final int BYTES_PER_ROW = 1;

    /**
     * @param nLayers layers of the cache
     * @param kvDim values per cached row of a layer
     * @return bytes the index holds per sentence: its key sums, {@code 4 · kvDim} per layer
     */
    public static long bytesPerSentence(int nLayers, int kvDim) {
        return (long) Float.BYTES * kvDim * nLayers;
    }

    /**
     * @return "SentenceKV: a query read R of C cached rows on average (x %); where the context exceeded sinks + budget +
     *     window, R' of C' ..." over the (query, layer, KV head) selections made since this index was created or
     *     {@link #clearStatistics cleared}, and the sentences now indexed
     */
    public String statistics() {
        double a = selections == 0 ? 0 : attendedRows / (double) selections;
        double c = selections == 0 ? 0 : contextRows / (double) selections;
        double sa = sparseSelections == 0 ? 0 : sparseAttended / (double) sparseSelections;
        double sc = sparseSelections == 0 ? 0 : sparseContext / (double) sparseSelections;
        return String.format(Locale.ROOT, "SentenceKV: a query read %.1f of %.1f cached rows on average (%.1f %%); where the context"
                        + " exceeded sinks + budget + window (%.1f %% of the selections), %.1f of %.1f; %d sentences of %.1f tokens on average",
                a, c, c == 0 ? 0 : 100 * a / c, selections == 0 ? 0 : 100.0 * sparseSelections / selections, sa, sc, sentences,
                sentences == 0 ? 0 : marked / (double) sentences);
    }

    /** Forgets the statistics. */
    public void clearStatistics() {
        selections = 0;
        sparseSelections = 0;
        attendedRows = 0;
        contextRows = 0;
        sparseAttended = 0;
        sparseContext = 0;
    }
}
