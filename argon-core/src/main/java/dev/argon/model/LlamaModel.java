package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.tensor.Ops;
import dev.argon.tensor.Q8Activations;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

/**
 * The Llama architecture (Touvron et al., 2023; GGUF {@code general.architecture = llama}):
 * token embedding, then per layer {@code x += Wo·attn(RoPE(Wq·n), RoPE(Wk·n), Wv·n)} with
 * {@code n = RMSNorm(x)}, and {@code x += W2·(silu(W1·m) ⊙ W3·m)} with {@code m = RMSNorm(x)};
 * finally RMSNorm and the output projection (tied to the embedding when {@code output.weight} is
 * absent). Tensor names follow the GGUF conventions ({@code blk.N.attn_q.weight}, ...).
 */
public final class LlamaModel implements LanguageModel {
    private record Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                         float[] ffnNorm, Tensor gate, Tensor down, Tensor up) {
    }

    private final GgufFile file;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final ThreadPool pool;
    private final Tensor tokenEmbedding;
    private final Layer[] layers;
    private final float[] outputNorm;
    private final Tensor output;
    private final long parameterCount;
    private final long weightBytes;
    private final boolean quantizedActivations;

    LlamaModel(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        this.file = file;
        this.quantizedActivations = options.quantizedActivations();
        this.config = c;
        this.tokenizer = tokenizer;
        this.pool = pool;
        WeightLoader w = new WeightLoader(file);
        int qDim = c.nHeads() * c.headDim();
        tokenEmbedding = w.matrix("token_embd.weight", c.vocabSize(), c.dim());
        layers = new Layer[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(
                    w.vector(p + "attn_norm.weight", c.dim()),
                    w.matrix(p + "attn_q.weight", qDim, c.dim()),
                    w.matrix(p + "attn_k.weight", c.kvDim(), c.dim()),
                    w.matrix(p + "attn_v.weight", c.kvDim(), c.dim()),
                    w.matrix(p + "attn_output.weight", c.dim(), qDim),
                    w.vector(p + "ffn_norm.weight", c.dim()),
                    w.matrix(p + "ffn_gate.weight", c.ffDim(), c.dim()),
                    w.matrix(p + "ffn_down.weight", c.dim(), c.ffDim()),
                    w.matrix(p + "ffn_up.weight", c.ffDim(), c.dim()));
        }
        outputNorm = w.vector("output_norm.weight", c.dim());
        output = w.has("output.weight") ? w.matrix("output.weight", c.vocabSize(), c.dim()) : tokenEmbedding;
        parameterCount = w.parameterCount();
        weightBytes = w.weightBytes();
    }

    /** Prompt tokens processed per batched forward pass during prefill. */
    static final int PREFILL_CHUNK = 64;

    /**
     * Scratch buffers and KV cache of one sequence. Activation buffers hold up to
     * {@link #PREFILL_CHUNK} tokens, row-major {@code [tokens, width]}.
     */
    static final class State extends InferenceState {
        final float[] x;
        final float[] xb;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] attnOut;
        final float[] proj;
        final float[] hb;
        final float[] hb2;
        final float[] scores;
        final float[] logits;
        final Rope rope;
        final Q8Activations xq;

        State(ModelConfig c, int ctx, KvCache.Precision precision, boolean quantizedActivations) {
            super(new KvCache(c.nLayers(), ctx, c.kvDim(), precision));
            int qDim = c.nHeads() * c.headDim();
            int b = PREFILL_CHUNK;
            x = new float[b * c.dim()];
            xb = new float[b * c.dim()];
            q = new float[b * qDim];
            k = new float[b * c.kvDim()];
            v = new float[b * c.kvDim()];
            attnOut = new float[b * qDim];
            proj = new float[b * c.dim()];
            hb = new float[b * c.ffDim()];
            hb2 = new float[b * c.ffDim()];
            scores = new float[c.nHeads() * ctx];
            logits = new float[c.vocabSize()];
            rope = new Rope(c.ropeDim(), c.ropeTheta(), ctx);
            xq = quantizedActivations ? new Q8Activations(b * Math.max(Math.max(c.dim(), qDim), c.ffDim())) : null;
        }

        /** @return rows {@code x[0 .. tokens * width)} quantized to 8 bits, or null when activations stay F32 */
        Q8Activations quantized(float[] x, int tokens, int width) {
            if (xq == null || width % Q8Activations.BLOCK != 0) {
                return null;
            }
            xq.quantize(x, tokens * width);
            return xq;
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

    @Override
    public InferenceState newState(int contextLength, KvCache.Precision precision) {
        return new State(config, contextLength, precision, quantizedActivations);
    }

    @Override
    public float[] forward(InferenceState state, int token, int pos, boolean wantLogits) {
        return forwardBatch((State) state, new int[]{token}, 0, 1, pos, wantLogits);
    }

    @Override
    public float[] prefill(InferenceState state, int[] tokens, int startPos) {
        float[] logits = null;
        for (int from = 0; from < tokens.length; from += PREFILL_CHUNK) {
            int n = Math.min(PREFILL_CHUNK, tokens.length - from);
            logits = forwardBatch((State) state, tokens, from, n, startPos + from, from + n == tokens.length);
        }
        return logits;
    }

    /**
     * Runs {@code n} tokens ({@code tokens[from .. from+n)}) at positions {@code pos0 ..} through the
     * network in one pass: every weight matrix is applied to all {@code n} activation rows at once,
     * keys and values of all tokens are cached, and each token attends causally to positions up to
     * its own. Returns the logits of the last token when asked.
     */
    private float[] forwardBatch(State s, int[] tokens, int from, int n, int pos0, boolean wantLogits) {
        ModelConfig c = config;
        if (pos0 < 0 || pos0 + n > s.contextLength()) {
            throw new IllegalArgumentException("positions [" + pos0 + ", " + (pos0 + n) + ") outside context [0, " + s.contextLength() + ")");
        }
        int dim = c.dim();
        int qDim = c.nHeads() * c.headDim();
        int kvDim = c.kvDim();
        int ff = c.ffDim();
        for (int t = 0; t < n; t++) {
            int token = tokens[from + t];
            if (token < 0 || token >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " outside vocabulary [0, " + c.vocabSize() + ")");
            }
            tokenEmbedding.dequantize((long) token * dim, s.x, t * dim, dim);
        }
        KvCache cache = s.kvCache();
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Ops.rmsNorm(s.xb, s.x, L.attnNorm, n, dim, c.rmsEps());
            Q8Activations xq = s.quantized(s.xb, n, dim);
            Ops.matmul(L.wq, s.xb, xq, s.q, n, qDim, dim, pool);
            Ops.matmul(L.wk, s.xb, xq, s.k, n, kvDim, dim, pool);
            Ops.matmul(L.wv, s.xb, xq, s.v, n, kvDim, dim, pool);
            for (int t = 0; t < n; t++) {
                s.rope.apply(s.q, t * qDim, c.nHeads(), c.headDim(), pos0 + t);
                s.rope.apply(s.k, t * kvDim, c.nKvHeads(), c.headDim(), pos0 + t);
                cache.store(l, pos0 + t, s.k, t * kvDim, s.v, t * kvDim);
            }
            Attention.attend(s.q, s.attnOut, s.scores, cache, l, pos0, n, c.nHeads(), c.nKvHeads(), c.headDim(), pool);
            Ops.matmul(L.wo, s.attnOut, s.quantized(s.attnOut, n, qDim), s.proj, n, dim, qDim, pool);
            Ops.add(s.x, s.proj, n * dim);

            Ops.rmsNorm(s.xb, s.x, L.ffnNorm, n, dim, c.rmsEps());
            xq = s.quantized(s.xb, n, dim);
            Ops.matmul(L.gate, s.xb, xq, s.hb, n, ff, dim, pool);
            Ops.matmul(L.up, s.xb, xq, s.hb2, n, ff, dim, pool);
            Ops.swiglu(s.hb, s.hb2, n * ff);
            Ops.matmul(L.down, s.hb, s.quantized(s.hb, n, ff), s.proj, n, dim, ff, pool);
            Ops.add(s.x, s.proj, n * dim);
        }
        if (!wantLogits) {
            return null;
        }
        int last = (n - 1) * dim;
        Ops.rmsNorm(s.xb, 0, s.x, last, outputNorm, dim, c.rmsEps());
        Ops.matmul(output, s.xb, s.quantized(s.xb, 1, dim), s.logits, 1, c.vocabSize(), dim, pool);
        return s.logits;
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
