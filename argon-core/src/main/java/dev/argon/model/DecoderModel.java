package dev.argon.model;

import dev.argon.gguf.GgufFile;
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
 * <p>{@code n} tokens go through the network at once (prefill in chunks of {@link #PREFILL_CHUNK};
 * decode is the case {@code n = 1}): every weight matrix is applied to all {@code n} activation
 * rows together, keys and values of all tokens are cached, and each token attends causally to
 * positions up to its own.
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
     * Scratch buffers and KV cache of one sequence. Activation buffers hold up to
     * {@link #PREFILL_CHUNK} tokens, row-major {@code [tokens, width]}.
     */
    final class State extends InferenceState implements FeedForward.Scratch {
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
        final float[] scores;
        final float[] logits;
        final Rope[] ropes;
        final Q8Activations xq;

        State(int ctx, KvCache.Precision precision, boolean quantizedActivations) {
            super(new KvCache(config.nLayers(), ctx, config.kvDim(), precision));
            ModelConfig c = config;
            int qDim = c.nHeads() * c.headDim();
            int ff = 0;
            int fused = 0;
            for (DecoderLayer l : layers) {
                ff = Math.max(ff, l.ffn().scratchWidth());
                fused = Math.max(fused, l.qkv().fusedWidth());
            }
            int n = PREFILL_CHUNK;
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
            scores = new float[c.nHeads() * ctx];
            logits = new float[c.vocabSize()];
            ropes = b.ropes().stream().map(r -> new Rope(r, ctx)).toArray(Rope[]::new);
            xq = quantizedActivations ? new Q8Activations(n * Math.max(Math.max(c.dim(), qDim), ff)) : null;
        }

        @Override
        public Q8Activations quantized(float[] x, int tokens, int width) {
            if (xq == null || width % Q8Activations.BLOCK != 0) {
                return null;
            }
            xq.quantize(x, tokens * width);
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
        return new State(contextLength, precision, llamaCppArithmetic);
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
     * Runs {@code n} tokens ({@code tokens[from .. from+n)}) at positions {@code pos0 ..} through
     * the network in one pass and returns the logits of the last one when asked.
     */
    private float[] forwardBatch(State s, int[] tokens, int from, int n, int pos0, boolean wantLogits) {
        ModelConfig c = config;
        if (pos0 < 0 || pos0 + n > s.contextLength() || pos0 + n > positions) {
            throw new IllegalArgumentException("positions [" + pos0 + ", " + (pos0 + n) + ") outside context [0, "
                    + Math.min(s.contextLength(), positions) + ")");
        }
        int dim = c.dim();
        int qDim = c.nHeads() * c.headDim();
        int kvDim = c.kvDim();
        embed(s, tokens, from, n, pos0);
        KvCache cache = s.kvCache();
        for (int l = 0; l < layers.length; l++) {
            DecoderLayer L = layers[l];
            // attention block
            L.attnNorm().rows(s.xb, s.x, n);
            L.qkv().apply(s.xb, s.quantized(s.xb, n, dim), s.q, s.k, s.v, s.qkv, n, pool);
            if (L.qNorm() != null) {
                L.qNorm().rows(s.q, s.q, n * c.nHeads());
                L.kNorm().rows(s.k, s.k, n * c.nKvHeads());
            }
            Rope rope = L.rope() < 0 ? null : s.ropes[L.rope()];
            for (int t = 0; t < n; t++) {
                if (rope != null) {
                    rope.apply(s.q, t * qDim, c.nHeads(), c.headDim(), pos0 + t);
                    rope.apply(s.k, t * kvDim, c.nKvHeads(), c.headDim(), pos0 + t);
                }
                cache.store(l, pos0 + t, s.k, t * kvDim, s.v, t * kvDim);
            }
            Attention.attend(s.q, s.attnOut, s.scores, cache, l, pos0, n, c.nHeads(), c.nKvHeads(), c.headDim(),
                    L.attention(), pool);
            L.output().apply(s.attnOut, s.quantized(s.attnOut, n, qDim), s.proj, n, pool);
            if (L.postAttnNorm() != null) {
                L.postAttnNorm().rows(s.proj, s.proj, n);
            }
            Ops.add(s.x, s.proj, n * dim);

            // feed-forward block
            L.ffnNorm().rows(s.xb, s.x, n);
            L.ffn().apply(s.xb, s.quantized(s.xb, n, dim), s.proj, n, s, pool);
            if (L.postFfnNorm() != null) {
                L.postFfnNorm().rows(s.proj, s.proj, n);
            }
            Ops.add(s.x, s.proj, n * dim);
        }
        if (!wantLogits) {
            return null;
        }
        b.outputNorm().apply(s.xb, 0, s.x, (n - 1) * dim);
        b.output().apply(s.xb, s.quantized(s.xb, 1, dim), s.logits, 1, pool);
        float cap = b.logitSoftCap();
        if (cap > 0) {
            for (int i = 0; i < s.logits.length; i++) {
                s.logits[i] = cap * (float) Math.tanh(s.logits[i] * (1f / cap));
            }
        }
        return s.logits;
    }

    /** {@code x[t] = tokenEmbedding[token] * embeddingScale (+ positionEmbedding[pos])}. */
    private void embed(State s, int[] tokens, int from, int n, int pos0) {
        int dim = config.dim();
        float scale = b.embeddingScale();
        for (int t = 0; t < n; t++) {
            int token = tokens[from + t];
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
                b.positionEmbedding().dequantize((long) (pos0 + t) * dim, s.xb, 0, dim);
                for (int i = 0; i < dim; i++) {
                    s.x[t * dim + i] += s.xb[i];
                }
            }
        }
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
