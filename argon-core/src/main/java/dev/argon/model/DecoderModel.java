package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.tensor.Ops;
import dev.argon.tensor.Q8Activations;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.List;

/**
 * A decoder-only transformer (Radford et al., 2018; Vaswani et al., 2017) run from a
 * {@link Blueprint}: the forward pass shared by every architecture, which differ only in the
 * blocks their file declares ({@link LlamaModel}, {@link Qwen2Model}, {@link Gemma2Model}, ...).
 *
 * <p>A {@link Batch} of token rows goes through the network at once: the prompt chunks
 * ({@link #PREFILL_CHUNK} tokens at a time for a single sequence) and decode tokens of one or
 * several sequences. Every weight matrix is applied to all rows together, keys and values of all
 * tokens are cached in their own sequence's cache, and each token attends causally to positions
 * up to its own in its own sequence.
 */
public final class DecoderModel implements LanguageModel {
    /**
     * Everything an architecture chooses.
     *
     * @param tokenEmbedding {@code token_embd} {@code [vocab, dim]}
     * @param embeddingScale multiplier of the embedded tokens (Gemma: {@code sqrt(dim)}), 1 for none
     * @param positionEmbedding learned absolute positions {@code position_embd [positions, dim]} (GPT-2), or null
     * @param layers the transformer blocks
     * @param outputNorm final norm ({@code output_norm})
     * @param output output projection ({@code output}, or the token embedding when tied)
     * @param logitSoftCap if positive, logits become {@code cap * tanh(logit / cap)} (Gemma 2's {@code final_logit_softcapping})
     * @param ropes the distinct RoPE settings the layers refer to
     */
    public record Blueprint(Tensor tokenEmbedding, float embeddingScale, Tensor positionEmbedding,
                            List<DecoderLayer> layers, Norm outputNorm, Linear output, float logitSoftCap,
                            List<RopeConfig> ropes) {
    }

    /** Prompt tokens processed per batched forward pass during prefill. */
    static final int PREFILL_CHUNK = 64;

    private final GgufFile file;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final ThreadPool pool;
    private final Blueprint b;
    private final DecoderLayer[] layers;
    private final int positions;
    private final long parameterCount;
    private final long weightBytes;
    private final boolean llamaCppArithmetic;

    DecoderModel(GgufFile file, ModelConfig config, Tokenizer tokenizer, ThreadPool pool, ModelOptions options,
                 Blueprint blueprint, WeightLoader loaded) {
        this.file = file;
        this.config = config;
        this.tokenizer = tokenizer;
        this.pool = pool;
        this.b = blueprint;
        this.layers = blueprint.layers().toArray(DecoderLayer[]::new);
        this.positions = blueprint.positionEmbedding() == null ? Integer.MAX_VALUE
                : (int) (blueprint.positionEmbedding().size() / config.dim());
        this.llamaCppArithmetic = options.quantizedActivations();
        this.parameterCount = loaded.parameterCount();
        this.weightBytes = loaded.weightBytes();
    }

    /**
     * The state of one sequence: its KV cache and RoPE tables, plus a private {@link Batch} for
     * single-sequence calls ({@link #forward(InferenceState, int, int, boolean)}, {@link #prefill}).
     */
    final class State extends InferenceState {
        final Rope[] ropes;
        private Batch own;

        State(int ctx, KvCache.Precision keys, KvCache.Precision values) {
            this(ctx, new KvCache(config.nLayers(), ctx, config.kvDim(), config.headDim(), keys, values));
        }

        State(int ctx, KvCache cache) {
            super(cache);
            ropes = b.ropes().stream().map(r -> new Rope(r, ctx)).toArray(Rope[]::new);
        }

        Batch ownBatch() {
            if (own == null) {
                own = new Batch(PREFILL_CHUNK);
            }
            own.clear();
            return own;
        }
    }

    /**
     * Activation buffers of one batch, row-major {@code [rows, width]} for up to
     * {@link Batch#capacity()} rows, and the 8-bit activation buffer.
     */
    final class Scratch implements FeedForward.Scratch {
        /** Score rows per head the score buffer grows by. */
        private static final int SCORE_GROWTH = 256;
        final int rows;

        DecoderModel owner() {
            return DecoderModel.this;
        }

        final float[] x;
        final float[] xb;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] qkv;
        final float[] attnOut;
        final float[] proj;
        final float[] hb;
        final float[] hb2;
        private float[] logits = new float[0];
        final KvCache[] caches;
        /** Cache row of each batch row. */
        final int[] cacheRows;
        /** Row → its sequence's {@link ForwardObserver}; null when no row has one. */
        ForwardObserver[] observers;
        float[] scores = new float[0];
        final Q8Activations xq;

        Scratch(int n) {
            ModelConfig c = config;
            int qDim = c.nHeads() * c.headDim();
            int ff = 0;
            int fused = 0;
            for (DecoderLayer l : layers) {
                ff = Math.max(ff, l.ffn().scratchWidth());
                fused = Math.max(fused, l.qkv().fusedWidth());
            }
            rows = n;
            x = new float[n * c.dim()];
            xb = new float[n * c.dim()];
            q = new float[n * qDim];
            k = new float[n * c.kvDim()];
            v = new float[n * c.kvDim()];
            qkv = new float[n * fused];
            attnOut = new float[n * qDim];
            proj = new float[n * c.dim()];
            hb = new float[n * ff];
            hb2 = new float[n * ff];
            caches = new KvCache[n];
            cacheRows = new int[n];
            xq = llamaCppArithmetic ? new Q8Activations(n * Math.max(Math.max(c.dim(), qDim), ff)) : null;
        }

        /** @return the logits buffer {@code [m, vocab]} */
        float[] logits(int m) {
            int need = m * config.vocabSize();
            if (logits.length < need) {
                logits = new float[need];
            }
            return logits;
        }

        /**
         * @return the attention score buffer {@code [nHeads, stride]}; it grows {@value #SCORE_GROWTH} rows
         *     per head at a time, not one new buffer per decode step (the stride grows by one each step)
         */
        float[] scores(int stride) {
            int need = config.nHeads() * stride;
            if (scores.length < need) {
                long rounded = (long) config.nHeads() * ((stride + SCORE_GROWTH - 1L) / SCORE_GROWTH * SCORE_GROWTH);
                scores = new float[(int) Math.min(rounded, Integer.MAX_VALUE - 16)];
            }
            return scores;
        }

        @Override
        public Q8Activations quantized(float[] x, int tokens, int width, int gemmRows) {
            if (xq == null || width % Q8Activations.BLOCK != 0) {
                return null;
            }
            xq.quantize(x, tokens * width, gemmRows * width);
            return xq;
        }

        @Override
        public float[] hidden() {
            return hb;
        }

        @Override
        public float[] hidden2() {
            return hb2;
        }

        @Override
        public boolean llamaCppArithmetic() {
            return llamaCppArithmetic;
        }
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** @return the blocks this model runs */
    public Blueprint blueprint() {
        return b;
    }

    @Override
    public InferenceState newState(int contextLength, KvCache.Precision precision) {
        return new State(contextLength, precision, precision);
    }

    @Override
    public InferenceState newState(int contextLength, KvCache.Precision keys, KvCache.Precision values) {
        return new State(contextLength, keys, values);
    }

    @Override
    public InferenceState newState(int contextLength, dev.argon.kv.BlockPool pool) {
        if (pool.kvDim() != config.kvDim() || pool.headDim() != config.headDim() || pool.layers() != config.nLayers()) {
            throw new IllegalArgumentException("a block pool of another model shape");
        }
        return new State(contextLength, new KvCache(pool, contextLength));
    }

    @Override
    public InferenceState newState(int contextLength, KvCache.Precision keys, KvCache.Precision values, ContextPolicy policy) {
        if (policy.unbounded() && b.positionEmbedding() != null) {
            throw new ArgonException("this model (" + config.architecture() + ") has learned absolute positions, so its context"
                    + " cannot shift or slide (" + policy + ")");
        }
        State st = new State(contextLength, keys, values);
        st.setContextPolicy(policy);
        if (policy.needsAttentionMass()) {
            st.kvCache().trackAttention(config.nHeads());
        }
        if (policy.compresses()) {
            for (DecoderLayer l : layers) {
                if (l.attention().window() > 0) {
                    throw new ArgonException("this model (" + config.architecture() + ") has sliding-window attention layers;"
                            + " " + policy + " cannot merge their rows");
                }
            }
            st.kvCache().compressWith(policy);
        }
        if (policy.selectsSentences()) {
            for (DecoderLayer l : layers) {
                if (l.attention().window() > 0) {
                    throw new ArgonException("this model (" + config.architecture() + ") has sliding-window attention layers;"
                            + " " + policy + " cannot select their rows");
                }
            }
            st.kvCache().selectSentences(policy, sentenceEnds());
        }
        return st;
    }

    private boolean[] sentenceEnds;

    /** @return per token id, whether its text ends a sentence (SentenceKV; computed once) */
    private synchronized boolean[] sentenceEnds() {
        if (sentenceEnds == null) {
            boolean[] ends = new boolean[tokenizer.vocabSize()];
            for (int id = 0; id < ends.length; id++) {
                ends[id] = !tokenizer.isControl(id) && dev.argon.kv.SentenceIndex.endsSentence(tokenizer.tokenBytes(id));
            }
            sentenceEnds = ends;
        }
        return sentenceEnds;
    }

    @Override
    public float[] forward(InferenceState state, int token, int pos, boolean wantLogits) {
        Batch batch = ((State) state).ownBatch();
        batch.add(state, token, pos, false, wantLogits);
        forward(batch);
        return wantLogits ? batch.logits(0) : null;
    }

    @Override
    public float[] prefill(InferenceState state, int[] tokens, int startPos) {
        State s = (State) state;
        float[] logits = null;
        for (int from = 0; from < tokens.length; from += PREFILL_CHUNK) {
            int n = Math.min(PREFILL_CHUNK, tokens.length - from);
            Batch batch = s.ownBatch();
            for (int t = 0; t < n; t++) {
                batch.add(s, tokens[from + t], startPos + from + t, true, from + t == tokens.length - 1);
            }
            forward(batch);
            logits = from + n == tokens.length ? batch.logits(n - 1) : null;
        }
        return logits;
    }

    /**
     * Runs every row of the batch through the network in one pass: each weight matrix is applied
     * to all rows together, each row's key and value go into its own sequence's KV cache, and each
     * row attends over its own sequence. Logits are computed for the rows that asked for them.
     *
     * @throws IllegalArgumentException if a row's position lies outside its context, or a token id
     *     outside the vocabulary
     */
    @Override
    public void forward(Batch batch) {
        int n = batch.size();
        if (n == 0) {
            return;
        }
        if (!(batch.scratch instanceof DecoderModel.Scratch sc && sc.owner() == this && sc.rows >= batch.capacity())) {
            batch.scratch = new Scratch(batch.capacity());
        }
        Scratch s = (Scratch) batch.scratch;
        ModelConfig c = config;
        evictWhereFull(batch);
        int stride = 0;
        int[] rows = s.cacheRows;
        for (int t = 0; t < n; t++) {
            State st = (State) batch.states[t];
            int pos = batch.positions[t];
            int row = pos - st.evicted();
            if (pos < 0 || row < 0 || row >= st.contextLength() || pos >= positions) {
                throw new IllegalArgumentException("position " + pos + " outside context [0, "
                        + Math.min(st.contextLength() + st.evicted(), positions) + ")");
            }
            s.caches[t] = st.kvCache();
            rows[t] = row;
            if (st.kvCache().sentences() != null) { // SentenceKV: sentence boundaries by token, before the rows are stored
                st.kvCache().sentences().mark(row, batch.tokens[t]);
            }
            stride = Math.max(stride, row + 1 + st.kvCache().compressedRowsMax());
        }
        ForwardObserver[] observers = observers(s, batch, n);
        int dim = c.dim();
        int qDim = c.nHeads() * c.headDim();
        int kvDim = c.kvDim();
        int gemm = batch.promptRows;
        float[] scores = s.scores(stride);
        embed(s, batch);
        for (int l = 0; l < layers.length; l++) {
            DecoderLayer L = layers[l];
            // attention block
            L.attnNorm().rows(s.xb, s.x, n);
            L.qkv().apply(s.xb, s.quantized(s.xb, n, dim, gemm), s.q, s.k, s.v, s.qkv, n, gemm, pool);
            if (L.qNorm() != null) {
                L.qNorm().rows(s.q, s.q, n * c.nHeads());
                L.kNorm().rows(s.k, s.k, n * c.nKvHeads());
            }
            int ri = L.rope();
            for (int t = 0; t < n; t++) {
                int pos = batch.positions[t];
                if (ri >= 0) {
                    Rope rope = ((State) batch.states[t]).ropes[ri];
                    rope.apply(s.q, t * qDim, c.nHeads(), c.headDim(), pos);
                    rope.apply(s.k, t * kvDim, c.nKvHeads(), c.headDim(), pos);
                }
                s.caches[t].store(l, rows[t], s.k, t * kvDim, s.v, t * kvDim);
            }
            Attention.attend(s.q, s.attnOut, scores, stride, s.caches, rows, n, l, c.nHeads(), c.nKvHeads(),
                    c.headDim(), L.attention(), pool, observers);
            L.output().apply(s.attnOut, s.quantized(s.attnOut, n, qDim, gemm), s.proj, n, gemm, pool);
            if (L.postAttnNorm() != null) {
                L.postAttnNorm().rows(s.proj, s.proj, n);
            }
            Ops.add(s.x, s.proj, n * dim);

            // feed-forward block
            L.ffnNorm().rows(s.xb, s.x, n);
            L.ffn().apply(s.xb, s.quantized(s.xb, n, dim, gemm), s.proj, n, gemm, s, pool);
            if (L.postFfnNorm() != null) {
                L.postFfnNorm().rows(s.proj, s.proj, n);
            }
            Ops.add(s.x, s.proj, n * dim);
        }
        java.util.Arrays.fill(s.caches, 0, n, null);
        if (observers != null) {
            showHidden(s, batch, n, observers);
        }
        int m = batch.logitRows;
        if (m == 0) {
            return;
        }
        // Rows that want logits, normalised into xb in row order. The output projection uses the
        // decode arithmetic for every one of them (few rows per pass), so a sequence's logits do
        // not depend on whether its last token was a prompt or a generated one in a batch.
        for (int t = 0; t < n; t++) {
            int j = batch.logitIndex[t];
            if (j >= 0) {
                b.outputNorm().apply(s.xb, j * dim, s.x, t * dim);
            }
        }
        int vocab = c.vocabSize();
        float[] all = s.logits(m);
        b.output().apply(s.xb, s.quantized(s.xb, m, dim, 0), all, m, 0, pool);
        float cap = b.logitSoftCap();
        for (int j = 0; j < m; j++) {
            float[] out = batch.logitBuffer(j, vocab);
            System.arraycopy(all, j * vocab, out, 0, vocab);
            if (cap > 0) {
                for (int i = 0; i < vocab; i++) {
                    out[i] = cap * (float) Math.tanh(out[i] * (1f / cap));
                }
            }
        }
    }

    /**
     * Makes room in the caches of the sequences whose new rows would not fit: their
     * {@link ContextPolicy} evicts tokens after the kept prefix (rows after the evicted ones move
     * down, keeping their keys' rotations), then the kept prefix's keys are re-rotated to sit just
     * before the first remaining token. A sequence without a policy is left alone (its rows past
     * the context are an error in {@link #forward(Batch)}).
     */
    private void evictWhereFull(Batch batch) {
        int n = batch.size();
        for (int t = 0; t < n; t++) {
            State st = (State) batch.states[t];
            ContextPolicy p = st.contextPolicy();
            if (!p.unbounded()) {
                continue;
            }
            boolean first = true;
            int last = batch.positions[t];
            for (int u = 0; u < n; u++) {
                if (batch.states[u] == st) {
                    if (u < t) {
                        first = false; // handled at its first row
                        break;
                    }
                    last = Math.max(last, batch.positions[u]);
                }
            }
            if (!first) {
                continue;
            }
            int used = batch.positions[t] - st.evicted(); // rows holding tokens before this batch's rows
            int limit = p.limit(st.contextLength());
            int need = last - st.evicted() + 1 - limit;
            if (need <= 0) {
                continue;
            }
            int d = Math.max(need, p.discard(used));
            if (p.compresses()) { // MiniCache / KVMerger: merge the oldest rows (a prompt longer than the window stays until the next step)
                d = Math.min(d, used);
                if (d > 0) {
                    st.kvCache().compress(d, used);
                    st.addEvicted(d);
                }
                continue;
            }
            if (p.needsAttentionMass()) {
                if (d > used - p.window()) {
                    throw new ArgonException("the KV cache cannot make room for " + (last - batch.positions[t] + 1)
                            + " new tokens outside the recent window of " + p.window());
                }
                evictLeastAttended(st, d, used, p.window());
                continue;
            }
            if (d > used - p.keep()) {
                throw new ArgonException("the KV cache cannot make room for " + (last - batch.positions[t] + 1)
                        + " new tokens: " + used + " held, " + p.keep() + " kept, limit " + limit);
            }
            evict(st, p.keep(), d, used);
        }
    }

    /** H2O: evicts the least attended row outside the recent window, {@code d} times ({@link KvCache#evictLeastAttended}). */
    private static void evictLeastAttended(State st, int d, int used, int window) {
        for (int e = 0; e < d; e++) {
            st.kvCache().evictLeastAttended(used - e, window);
            st.addEvicted(1);
        }
    }

    /** Evicts rows {@code [keep, keep+d)} of a cache holding {@code used} rows. */
    private void evict(State st, int keep, int d, int used) {
        KvCache cache = st.kvCache();
        if (keep > 0 && st.keptKeys == null) {
            st.keptKeys = new float[layers.length][];
            for (int l = 0; l < layers.length; l++) {
                st.keptKeys[l] = cache.copyKeys(l, 0, keep);
            }
        }
        cache.moveRows(keep + d, keep, used - keep - d);
        st.addEvicted(d);
        if (keep == 0) {
            return;
        }
        int kvDim = config.kvDim();
        float[] k = new float[keep * kvDim];
        for (int l = 0; l < layers.length; l++) {
            int ri = layers[l].rope();
            if (ri < 0) {
                continue;
            }
            System.arraycopy(st.keptKeys[l], 0, k, 0, k.length);
            for (int i = 0; i < keep; i++) {
                st.ropes[ri].rotateBy(k, i * kvDim, config.nKvHeads(), config.headDim(), st.evicted());
                cache.storeKey(l, i, k, i * kvDim);
            }
        }
    }

    /** @return the rows' observers, or null when no row's sequence has one */
    private static ForwardObserver[] observers(Scratch s, Batch batch, int n) {
        ForwardObserver[] o = null;
        for (int t = 0; t < n; t++) {
            ForwardObserver f = batch.states[t].observer();
            if (f != null) {
                if (o == null) {
                    o = s.observers != null && s.observers.length >= n ? s.observers : new ForwardObserver[batch.capacity()];
                    s.observers = o;
                    java.util.Arrays.fill(o, null);
                }
                o[t] = f;
            }
        }
        return o;
    }

    /** Shows the observers that want them the final hidden states (the output norm of x). */
    private void showHidden(Scratch s, Batch batch, int n, ForwardObserver[] observers) {
        int dim = config.dim();
        float[] h = null;
        for (int t = 0; t < n; t++) {
            if (observers[t] != null && observers[t].wantsHidden()) {
                h = h != null ? h : new float[dim];
                b.outputNorm().apply(h, 0, s.x, t * dim);
                observers[t].hidden(batch.positions[t], h, 0, dim);
            }
        }
    }

    /** {@code x[t] = tokenEmbedding[token] * embeddingScale (+ positionEmbedding[pos])}. */
    private void embed(Scratch s, Batch batch) {
        int dim = config.dim();
        float scale = b.embeddingScale();
        for (int t = 0; t < batch.size(); t++) {
            int token = batch.tokens[t];
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " outside vocabulary [0, " + config.vocabSize() + ")");
            }
            b.tokenEmbedding().dequantize((long) token * dim, s.x, t * dim, dim);
            if (scale != 1f) {
                for (int i = t * dim; i < (t + 1) * dim; i++) {
                    s.x[i] *= scale;
                }
            }
            if (b.positionEmbedding() != null) {
                b.positionEmbedding().dequantize((long) batch.positions[t] * dim, s.xb, 0, dim);
                for (int i = 0; i < dim; i++) {
                    s.x[t * dim + i] += s.xb[i];
                }
            }
        }
    }

    @Override
    public ThreadPool pool() {
        return pool;
    }

    @Override
    public long parameterCount() {
        return parameterCount;
    }

    @Override
    public long weightBytes() {
        return weightBytes;
    }

    @Override
    public void close() {
        pool.close();
        file.close();
    }
}
