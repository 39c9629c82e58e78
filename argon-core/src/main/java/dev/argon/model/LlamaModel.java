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

    /** Scratch buffers and KV cache of one sequence. */
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
            x = new float[c.dim()];
            xb = new float[c.dim()];
            q = new float[qDim];
            k = new float[c.kvDim()];
            v = new float[c.kvDim()];
            attnOut = new float[qDim];
            proj = new float[c.dim()];
            hb = new float[c.ffDim()];
            hb2 = new float[c.ffDim()];
            scores = new float[c.nHeads() * ctx];
            logits = new float[c.vocabSize()];
            rope = new Rope(c.ropeDim(), c.ropeTheta(), ctx);
            xq = quantizedActivations ? new Q8Activations(Math.max(Math.max(c.dim(), qDim), c.ffDim()) + Q8Activations.BLOCK) : null;
        }

        /** @return {@code x[0..n)} quantized to 8 bits, or null when activations stay F32 */
        Q8Activations quantized(float[] x, int n) {
            if (xq == null || n % Q8Activations.BLOCK != 0) {
                return null;
            }
            xq.quantize(x, n);
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
        State s = (State) state;
        ModelConfig c = config;
        if (token < 0 || token >= c.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " outside vocabulary [0, " + c.vocabSize() + ")");
        }
        if (pos < 0 || pos >= s.contextLength()) {
            throw new IllegalArgumentException("position " + pos + " outside context [0, " + s.contextLength() + ")");
        }
        int dim = c.dim();
        int qDim = c.nHeads() * c.headDim();
        int kvDim = c.kvDim();
        tokenEmbedding.dequantize((long) token * dim, s.x, 0, dim);
        KvCache cache = s.kvCache();
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Ops.rmsNorm(s.xb, s.x, L.attnNorm, dim, c.rmsEps());
            Q8Activations xq = s.quantized(s.xb, dim);
            Ops.matvec(L.wq, s.xb, xq, s.q, qDim, dim, pool);
            Ops.matvec(L.wk, s.xb, xq, s.k, kvDim, dim, pool);
            Ops.matvec(L.wv, s.xb, xq, s.v, kvDim, dim, pool);
            s.rope.apply(s.q, c.nHeads(), c.headDim(), pos);
            s.rope.apply(s.k, c.nKvHeads(), c.headDim(), pos);
            cache.store(l, pos, s.k, s.v);
            Attention.attend(s.q, s.attnOut, s.scores, cache, l, pos, c.nHeads(), c.nKvHeads(), c.headDim(), pool);
            Ops.matvec(L.wo, s.attnOut, s.quantized(s.attnOut, qDim), s.proj, dim, qDim, pool);
            Ops.add(s.x, s.proj, dim);

            Ops.rmsNorm(s.xb, s.x, L.ffnNorm, dim, c.rmsEps());
            xq = s.quantized(s.xb, dim);
            Ops.matvec(L.gate, s.xb, xq, s.hb, c.ffDim(), dim, pool);
            Ops.matvec(L.up, s.xb, xq, s.hb2, c.ffDim(), dim, pool);
            Ops.swiglu(s.hb, s.hb2, c.ffDim());
            Ops.matvec(L.down, s.hb, s.quantized(s.hb, c.ffDim()), s.proj, dim, c.ffDim(), pool);
            Ops.add(s.x, s.proj, dim);
        }
        if (!wantLogits) {
            return null;
        }
        Ops.rmsNorm(s.x, s.x, outputNorm, dim, c.rmsEps());
        Ops.matvec(output, s.x, s.quantized(s.x, dim), s.logits, c.vocabSize(), dim, pool);
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
