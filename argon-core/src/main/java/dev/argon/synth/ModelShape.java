package dev.argon.synth;

import dev.argon.ArgonException;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The hyper-parameters of a decoder-only model, enough to write a random-weight GGUF file of
 * that shape ({@link ModelSynthesizer}) in any {@link SynthArch}. The named shapes copy real
 * models' dimensions, so that benchmarks run at real sizes without downloading weights.
 *
 * @param name a label (a {@link #named} name or {@code "custom"}), written as {@code general.name}
 * @param nLayers transformer blocks
 * @param dim embedding width
 * @param ffDim feed-forward hidden width
 * @param nHeads query heads
 * @param nKvHeads key/value heads (divides {@code nHeads})
 * @param vocab vocabulary size (at least {@link #MIN_VOCAB})
 * @param contextLength training context written to the metadata
 * @param ropeTheta RoPE frequency base
 * @param rmsEps RMSNorm epsilon
 * @param tiedEmbeddings whether the output projection reuses {@code token_embd.weight} (no {@code output.weight})
 * @param headSize width of one attention head, or 0 for {@code dim / nHeads} (Qwen 3 and Gemma
 *     set it independently; it is written as {@code <arch>.attention.key_length} when not 0)
 */
public record ModelShape(String name, int nLayers, int dim, int ffDim, int nHeads, int nKvHeads, int vocab,
                         int contextLength, float ropeTheta, float rmsEps, boolean tiedEmbeddings, int headSize) {

    /** A shape whose head size is {@code dim / nHeads}. */
    public ModelShape(String name, int nLayers, int dim, int ffDim, int nHeads, int nKvHeads, int vocab,
                      int contextLength, float ropeTheta, float rmsEps, boolean tiedEmbeddings) {
        this(name, nLayers, dim, ffDim, nHeads, nKvHeads, vocab, contextLength, ropeTheta, rmsEps, tiedEmbeddings, 0);
    }

    /** Smallest vocabulary: {@code <unk>, <s>, </s>} and the 256 byte tokens. */
    public static final int MIN_VOCAB = 3 + 256;

    /** 2 layers, 256 wide (so K-quants apply), vocabulary 512, separate output matrix: for tests. */
    public static final ModelShape TINY = new ModelShape("tiny", 2, 256, 512, 4, 2, 512, 512, 10000f, 1e-5f, false);

    /** SmolLM2-135M (HuggingFaceTB): 30 layers, 576 wide, GQA 9/3, vocabulary 49152, tied embeddings. */
    public static final ModelShape SMOLLM2_135M = new ModelShape("smollm2-135m", 30, 576, 1536, 9, 3, 49152, 8192,
            100000f, 1e-5f, true);

    /**
     * Llama 3.2 1B: 16 layers, 2048 wide, GQA 32/8, tied embeddings; vocabulary 32000 as in
     * llama.cpp's reference benchmark (the real model has 128256). RoPE scaling is not modelled.
     */
    public static final ModelShape LLAMA_3_2_1B = new ModelShape("llama-3.2-1b", 16, 2048, 8192, 32, 8, 32000, 131072,
            500000f, 1e-5f, true);

    /**
     * sentence-transformers/all-MiniLM-L6-v2, a BERT encoder (use with {@code --arch bert}): 6 layers,
     * 384 wide, 12 heads, FFN 1536, WordPiece vocabulary 30522, 512 positions, LayerNorm epsilon 1e-12.
     */
    public static final ModelShape ALL_MINILM_L6_V2 = new ModelShape("all-minilm-l6-v2", 6, 384, 1536, 12, 12, 30522, 512,
            10000f, 1e-12f, false);

    /** BAAI/bge-small-en-v1.5, a BERT encoder: all-MiniLM-L6-v2's widths with 12 layers (CLS pooling). */
    public static final ModelShape BGE_SMALL_EN_V1_5 = new ModelShape("bge-small-en-v1.5", 12, 384, 1536, 12, 12, 30522, 512,
            10000f, 1e-12f, false);

    private static final Map<String, ModelShape> NAMED = new LinkedHashMap<>();

    static {
        for (ModelShape s : new ModelShape[]{TINY, SMOLLM2_135M, LLAMA_3_2_1B, ALL_MINILM_L6_V2, BGE_SMALL_EN_V1_5}) {
            NAMED.put(s.name(), s);
        }
    }

    /** @return the named shapes, in a fixed order */
    public static Map<String, ModelShape> all() {
        return java.util.Collections.unmodifiableMap(NAMED);
    }

    /** @return the names of the named shapes, comma-separated, for messages */
    public static String names() {
        return String.join(", ", NAMED.keySet());
    }

    /**
     * Looks up a named shape (case-insensitive).
     *
     * @throws ArgonException listing the valid names if there is none of that name
     */
    public static ModelShape named(String name) {
        ModelShape s = NAMED.get(name.toLowerCase(Locale.ROOT));
        if (s == null) {
            throw new ArgonException("unknown shape '" + name + "'; valid shapes: " + names()
                    + " (or a custom shape from --layers, --dim, --ff, --heads, --kv-heads, --vocab)");
        }
        return s;
    }

    /** @return the width of one attention head: {@link #headSize()}, or {@code dim / nHeads} when that is 0 */
    public int headDim() {
        return headSize > 0 ? headSize : dim / nHeads;
    }

    /** @return the width of the query projection ({@code nHeads * headDim}) */
    public int qDim() {
        return nHeads * headDim();
    }

    /** @return the width of the key and value projections */
    public int kvDim() {
        return nKvHeads * headDim();
    }

    /** @return the number of weights of a {@code llama} model of this shape (all tensors, norms included) */
    public long parameterCount() {
        long perLayer = 2L * dim                      // attn_norm, ffn_norm
                + 2L * qDim() * dim                   // attn_q, attn_output
                + 2L * kvDim() * dim                  // attn_k, attn_v
                + 3L * dim * ffDim;                   // ffn_gate, ffn_up, ffn_down
        return (long) vocab * dim * (tiedEmbeddings ? 1 : 2) + dim + nLayers * perLayer;
    }

    /**
     * Checks that the shape describes a valid model.
     *
     * @return this shape
     * @throws ArgonException naming the first inconsistent value
     */
    public ModelShape validate() {
        positive("layers", nLayers);
        positive("dim", dim);
        positive("ff", ffDim);
        positive("heads", nHeads);
        positive("kv-heads", nKvHeads);
        positive("context", contextLength);
        atMost("layers", nLayers, MAX_LAYERS);
        atMost("dim", dim, MAX_WIDTH);
        atMost("ff", ffDim, MAX_WIDTH);
        atMost("heads", nHeads, MAX_WIDTH);
        atMost("head-dim", headSize, MAX_WIDTH);
        atMost("vocab", vocab, MAX_VOCAB);
        if (vocab < MIN_VOCAB) {
            throw new ArgonException("vocabulary size (--vocab) is " + vocab + "; at least " + MIN_VOCAB
                    + " are needed (<unk>, <s>, </s> and the 256 byte tokens)");
        }
        if (headSize < 0) {
            throw new ArgonException("--head-dim is " + headSize + "; expected a positive number");
        }
        if (headSize == 0 && dim % nHeads != 0) {
            throw new ArgonException("--dim " + dim + " is not divisible by --heads " + nHeads);
        }
        if (headDim() % 2 != 0) {
            throw new ArgonException("head size " + headDim() + (headSize > 0 ? " (--head-dim)" : " (--dim / --heads)")
                    + " must be even for RoPE");
        }
        if (nHeads % nKvHeads != 0) {
            throw new ArgonException("--heads " + nHeads + " is not a multiple of --kv-heads " + nKvHeads);
        }
        if (!(ropeTheta > 0) || !(rmsEps > 0)) {
            throw new ArgonException("rope theta and RMS epsilon must be positive, got " + ropeTheta + " and " + rmsEps);
        }
        return this;
    }

    /** Largest {@code --dim}, {@code --ff}, {@code --heads}, {@code --head-dim}: 2^20, about 20x the widest real models. */
    public static final int MAX_WIDTH = 1 << 20;
    /** Largest {@code --vocab}: 2^22 tokens (real vocabularies have up to ~262k). */
    public static final int MAX_VOCAB = 1 << 22;
    /** Largest {@code --layers}. */
    public static final int MAX_LAYERS = 4096;

    private static void atMost(String flag, int v, int max) {
        if (v > max) {
            throw new ArgonException("--" + flag + " is " + v + "; at most " + max + " (far beyond any real model)");
        }
    }

    private static void positive(String flag, int v) {
        if (v <= 0) {
            throw new ArgonException("--" + flag + " is " + v + "; expected a positive number");
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%d layers, dim %d, ff %d, heads %d/%d%s, vocab %d%s)", name, nLayers, dim,
                ffDim, nHeads, nKvHeads, headSize > 0 ? " of " + headSize : "", vocab, tiedEmbeddings ? ", tied embeddings" : "");
    }
}
