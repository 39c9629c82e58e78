package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.tensor.Ops;
import dev.argon.tensor.Q8Activations;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The BERT encoder (Devlin et al., 2018) of {@code general.architecture = "bert"} files, as
 * llama.cpp's converter writes them (all-MiniLM, bge, e5, ...) and its {@code bert} graph runs them:
 * <pre>
 *   x = LayerNorm_embd(token_embd[id] + token_types[0] + position_embd[pos])
 *   per block:  a = attn_output(softmax(q k^T / sqrt(head)) v)     (every token sees every token)
 *               x = LayerNorm_attn(x + a)                            (attn_output_norm, post-norm)
 *               x = LayerNorm_out(x + ffn_down(GELU(ffn_up(x))))     (layer_output_norm)
 * </pre>
 * Biases on every projection, LayerNorm epsilon {@code bert.attention.layer_norm_epsilon}; the
 * token type is always 0 ("sentence A"), as in llama.cpp. GELU is the tanh form llama.cpp uses
 * (Hugging Face's BERT uses the erf form; the two differ by at most about 5e-4 per value), through
 * ggml's F16 table when {@link ModelOptions#quantizedActivations()} asks for llama.cpp's arithmetic.
 *
 * <p>As a {@link LanguageModel} it loads and states can be made (so a server can start with it), but
 * it predicts no next tokens: {@link #forward} throws an {@link ArgonException} saying so. Its use is
 * {@link #encode} ({@link TextEncoder}).
 */
public final class BertModel implements LanguageModel, TextEncoder {
    /** One encoder block. */
    record Layer(DecoderLayer.Qkv qkv, Linear output, Norm attnNorm, FeedForward ffn, Norm outNorm) {
    }

    private final GgufFile file;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final ThreadPool pool;
    private final Tensor tokenEmbedding;
    private final float[] tokenType0;
    private final Tensor positionEmbedding;
    private final int positions;
    private final Norm embeddingNorm;
    private final List<Layer> layers;
    private final int poolingType;
    private final boolean llamaCppArithmetic;
    private final long parameterCount;
    private final long weightBytes;

    private BertModel(GgufFile file, ModelConfig config, Tokenizer tokenizer, ThreadPool pool, ModelOptions options,
                      Blocks k, Tensor positionEmbedding, int positions, float[] tokenType0, Norm embeddingNorm,
                      List<Layer> layers, Tensor tokenEmbedding) {
        this.file = file;
        this.config = config;
        this.tokenizer = tokenizer;
        this.pool = pool;
        this.tokenEmbedding = tokenEmbedding;
        this.tokenType0 = tokenType0;
        this.positionEmbedding = positionEmbedding;
        this.positions = positions;
        this.embeddingNorm = embeddingNorm;
        this.layers = List.copyOf(layers);
        this.poolingType = file.has("bert.pooling_type") ? file.getInt("bert.pooling_type") : POOLING_UNSPECIFIED;
        this.llamaCppArithmetic = options.quantizedActivations();
        this.parameterCount = k.w.parameterCount();
        this.weightBytes = k.w.weightBytes();
    }

    /**
     * Loads the weights of a {@code bert} file.
     *
     * @throws ArgonException naming the tensor or key when one is missing or of the wrong shape
     */
    static LanguageModel load(GgufFile file, ModelConfig config, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        String eps = "bert.attention.layer_norm_epsilon";
        if (!file.has(eps)) {
            throw new ArgonException(file.path() + ": metadata '" + eps + "' is missing (the LayerNorm epsilon of a bert file)");
        }
        if (file.getBool("bert.attention.causal", false)) {
            throw new ArgonException(file.path() + ": 'bert.attention.causal' is true; a BERT encoder attends both ways");
        }
        ModelConfig c = new ModelConfig(config.architecture(), config.nLayers(), config.dim(), config.ffDim(), config.nHeads(),
                config.nKvHeads(), config.headDim(), config.ropeDim(), config.ropeTheta(), file.getFloat(eps), config.contextLength(),
                config.vocabSize());
        if (c.headDim() * c.nHeads() != c.dim()) {
            throw new ArgonException(file.path() + ": heads x head size = " + c.nHeads() + " x " + c.headDim()
                    + " is not the embedding width " + c.dim() + " (bert needs them equal)");
        }
        Blocks k = new Blocks(file, c);
        Tensor tokenEmbedding = k.tokenEmbedding();
        long[] pos = k.w.shape("position_embd.weight");
        if (pos.length != 2 || pos[0] != c.dim() || pos[1] < 1 || pos[1] > Integer.MAX_VALUE) {
            throw new ArgonException(file.path() + ": tensor 'position_embd.weight' has shape " + java.util.Arrays.toString(pos)
                    + ", expected [" + c.dim() + ", positions]");
        }
        int positions = (int) pos[1];
        Tensor positionEmbedding = k.w.matrix("position_embd.weight", positions, c.dim());
        float[] type0 = null;
        if (k.w.has("token_types.weight")) {
            long[] tt = k.w.shape("token_types.weight");
            if (tt.length != 2 || tt[0] != c.dim() || tt[1] < 1 || tt[1] > 1024) {
                throw new ArgonException(file.path() + ": tensor 'token_types.weight' has shape " + java.util.Arrays.toString(tt)
                        + ", expected [" + c.dim() + ", token types]");
            }
            Tensor types = k.w.matrix("token_types.weight", (int) tt[1], c.dim());
            type0 = new float[c.dim()];
            types.dequantize(0, type0, 0, c.dim());
        }
        Norm embdNorm = k.layerNorm("token_embd_norm", c.rmsEps());
        List<Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            FeedForward ffn = new FeedForward.Mlp(k.linear(Blocks.blk(l, "ffn_up"), c.ffDim(), c.dim()),
                    k.linear(Blocks.blk(l, "ffn_down"), c.dim(), c.ffDim()), Activation.GELU_TANH);
            layers.add(new Layer(k.qkv(l), k.attnOutput(l), k.layerNorm(Blocks.blk(l, "attn_output_norm"), c.rmsEps()), ffn,
                    k.layerNorm(Blocks.blk(l, "layer_output_norm"), c.rmsEps())));
        }
        return new BertModel(file, c, tokenizer, pool, options, k, positionEmbedding, positions, type0, embdNorm, layers,
                tokenEmbedding);
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
    public int maxTokens() {
        return positions;
    }

    @Override
    public int poolingType() {
        return poolingType;
    }

    /** Buffers of one {@link #encode} call, {@code n} rows. */
    private final class Buffers implements FeedForward.Scratch {
        final float[] x;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] fused;
        final float[] attn;
        final float[] proj;
        final float[] hidden;
        final float[] hidden2;
        final Q8Activations xq;

        Buffers(int n) {
            int dim = config.dim();
            int kv = config.kvDim();
            int ff = 0;
            int fusedWidth = 0;
            for (Layer l : layers) {
                ff = Math.max(ff, l.ffn().scratchWidth());
                fusedWidth = Math.max(fusedWidth, l.qkv().fusedWidth());
            }
            x = new float[n * dim];
            q = new float[n * dim];
            k = new float[n * kv];
            v = new float[n * kv];
            fused = new float[n * fusedWidth];
            attn = new float[n * dim];
            proj = new float[n * dim];
            hidden = new float[n * ff];
            hidden2 = new float[0];
            xq = llamaCppArithmetic ? new Q8Activations(n * Math.max(dim, ff)) : null;
        }

        @Override
        public float[] hidden() {
            return hidden;
        }

        @Override
        public float[] hidden2() {
            return hidden2;
        }

        @Override
        public Q8Activations quantized(float[] a, int rows, int width, int gemmRows) {
            if (xq == null || width % Q8Activations.BLOCK != 0) {
                return null;
            }
            xq.quantize(a, rows * width, gemmRows * width);
            return xq;
        }

        @Override
        public boolean llamaCppArithmetic() {
            return llamaCppArithmetic;
        }
    }

    @Override
    public float[] encode(int[] tokens) {
        int n = tokens.length;
        if (n == 0) {
            throw new ArgonException("no tokens to encode");
        }
        if (n > positions) {
            throw new ArgonException("the input has " + n + " tokens; this model takes at most " + positions
                    + " (its position embedding's rows)");
        }
        int dim = config.dim();
        Buffers s = new Buffers(n);
        float[] row = new float[dim];
        for (int t = 0; t < n; t++) {
            int id = tokens[t];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside vocabulary [0, " + config.vocabSize() + ")");
            }
            int o = t * dim;
            tokenEmbedding.dequantize((long) id * dim, s.x, o, dim);
            if (tokenType0 != null) {
                for (int i = 0; i < dim; i++) {
                    s.x[o + i] += tokenType0[i];
                }
            }
            positionEmbedding.dequantize((long) t * dim, row, 0, dim);
            for (int i = 0; i < dim; i++) {
                s.x[o + i] = row[i] + s.x[o + i];
            }
        }
        embeddingNorm.rows(s.x, s.x, n);
        for (Layer l : layers) {
            l.qkv().apply(s.x, s.quantized(s.x, n, dim, n), s.q, s.k, s.v, s.fused, n, n, pool);
            attend(s.q, s.k, s.v, s.attn, n);
            l.output().apply(s.attn, s.quantized(s.attn, n, dim, n), s.proj, n, n, pool);
            Ops.add(s.proj, s.x, n * dim);
            l.attnNorm().rows(s.x, s.proj, n);
            l.ffn().apply(s.x, s.quantized(s.x, n, dim, n), s.proj, n, n, s, pool);
            Ops.add(s.proj, s.x, n * dim);
            l.outNorm().rows(s.x, s.proj, n);
        }
        return s.x;
    }

    /**
     * Scaled dot-product attention without a mask: {@code out[i] = softmax(q_i K^T / sqrt(head)) V}
     * per head over all {@code n} rows, heads split across the pool.
     */
    private void attend(float[] q, float[] k, float[] v, float[] out, int n) {
        int nHeads = config.nHeads();
        int hd = config.headDim();
        int qDim = nHeads * hd;
        int kvDim = config.kvDim();
        int group = nHeads / config.nKvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        pool.parallelFor(nHeads, 2L * n * n * qDim, (from, to) -> {
            float[] w = new float[n];
            for (int h = from; h < to; h++) {
                int kvo = (h / group) * hd;
                for (int i = 0; i < n; i++) {
                    int qo = i * qDim + h * hd;
                    Ops.dots(q, qo, k, kvo, kvDim, n, hd, w, 0);
                    for (int j = 0; j < n; j++) {
                        w[j] *= scale;
                    }
                    Ops.softmax(w, 0, n);
                    Ops.weightedSum(out, qo, w, 0, v, kvo, kvDim, n, hd);
                }
            }
        });
    }

    private ArgonException notGenerative() {
        return new ArgonException(TextEncoder.cannotGenerate(config.architecture()));
    }

    /** A state with a one-layer cache that is never written: only so that callers which make states up front (a server's slots) can start. */
    @Override
    public InferenceState newState(int contextLength, KvCache.Precision precision) {
        return new InferenceState(new KvCache(1, Math.max(1, contextLength), config.headDim(), config.headDim(), precision, precision)) {
        };
    }

    /** @throws ArgonException always: an encoder predicts no next tokens */
    @Override
    public float[] forward(InferenceState state, int token, int pos, boolean wantLogits) {
        throw notGenerative();
    }

    /** @throws ArgonException always: an encoder predicts no next tokens */
    @Override
    public void forward(Batch batch) {
        throw notGenerative();
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
