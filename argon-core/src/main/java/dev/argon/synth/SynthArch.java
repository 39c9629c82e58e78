package dev.argon.synth;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufWriter;
import dev.argon.synth.SynthType.Role;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The architectures {@code argon synth} writes, with their tensors and metadata keys as llama.cpp
 * loads them ({@code src/llama-arch.cpp} names, {@code src/models/<arch>.cpp} shapes, the keys of
 * {@code convert_hf_to_gguf.py}). {@link #MISTRAL} is a {@code llama} file with Mistral 7B's
 * sliding window in the metadata (llama.cpp has no {@code mistral} architecture).
 */
public enum SynthArch {
    /** Llama: separate Q/K/V, SwiGLU, RMSNorm. */
    LLAMA("llama", "llama", 0),
    /** Mistral 7B v0.1: a llama file with {@code llama.attention.sliding_window}. */
    MISTRAL("mistral", "llama", 4096),
    /** Qwen2/2.5: llama plus Q/K/V biases. */
    QWEN2("qwen2", "qwen2", 0),
    /** Qwen3: llama plus per-head Q/K RMSNorm. */
    QWEN3("qwen3", "qwen3", 0),
    /** Phi-3: fused {@code attn_qkv}, fused {@code ffn_up} (gate and up). */
    PHI3("phi3", "phi3", 0),
    /** Gemma 2: sandwich norms, GeGLU, soft-capping, alternating sliding window; always tied output. */
    GEMMA2("gemma2", "gemma2", 4096),
    /** Gemma 3: Gemma 2 with Q/K norms instead of attention soft-capping, 5 local layers to 1 global. */
    GEMMA3("gemma3", "gemma3", 512),
    /** GPT-2: position embeddings, LayerNorm and biases everywhere, fused QKV, GELU MLP, byte-level BPE vocabulary. */
    GPT2("gpt2", "gpt2", 0),
    /**
     * BERT encoder (embedding models: all-MiniLM, bge, e5): learned positions, two token types,
     * post-LayerNorm blocks with biases everywhere, GELU MLP, WordPiece vocabulary, no output head.
     */
    BERT("bert", "bert", 0);

    /** Receives the planned tensors in file order. */
    interface Planner {
        /** A weight matrix of {@code rows} rows of {@code rowLength} values, normal with standard deviation {@code std}. */
        void matrix(String name, Role role, int layer, int rowLength, int rows, float std);

        /** An F32 vector of {@code n} values, normal around {@code mean} with standard deviation {@code std}. */
        void vector(String name, int n, float mean, float std);

        /** A matrix kept in F32 whatever the file type (llama.cpp never quantizes {@code position_embd}, {@code token_types}). */
        void f32Matrix(String name, int rowLength, int rows, float std);
    }

    private final String cliName;
    private final String ggufName;
    private final int defaultSlidingWindow;

    SynthArch(String cliName, String ggufName, int defaultSlidingWindow) {
        this.cliName = cliName;
        this.ggufName = ggufName;
        this.defaultSlidingWindow = defaultSlidingWindow;
    }

    /** @return the name used on the command line */
    public String cliName() {
        return cliName;
    }

    /** @return the {@code general.architecture} written */
    public String ggufName() {
        return ggufName;
    }

    /** @return the sliding window written by default, 0 for none */
    public int defaultSlidingWindow() {
        return defaultSlidingWindow;
    }

    /** @return whether the architecture has a sliding-window setting */
    public boolean hasSlidingWindow() {
        return this == LLAMA || defaultSlidingWindow > 0;
    }

    /** @return whether the architecture is a bidirectional encoder (embeddings, no next-token head) */
    public boolean encoder() {
        return this == BERT;
    }

    /** @return whether the output projection is always the token embedding (llama.cpp's gemma2 reads no output.weight) */
    public boolean alwaysTied() {
        return this == GEMMA2;
    }

    /** @return the command-line names, comma-separated, for messages */
    public static String names() {
        return Arrays.stream(values()).map(SynthArch::cliName).collect(Collectors.joining(", "));
    }

    static String slidingWindowNames() {
        return Arrays.stream(values()).filter(SynthArch::hasSlidingWindow).map(SynthArch::cliName).collect(Collectors.joining(", "));
    }

    /**
     * Looks an architecture up by its command-line name (case-insensitive).
     *
     * @throws ArgonException listing the valid names if there is none of that name
     */
    public static SynthArch parse(String name) {
        for (SynthArch a : values()) {
            if (a.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw new ArgonException("unknown architecture '" + name + "'; valid: " + names());
    }

    /** Plans the tensors of a model of shape {@code s}, in llama.cpp's order of loading. */
    void plan(ModelShape s, SynthOptions o, boolean tied, Planner p) {
        if (this == BERT) {
            planBert(s, o, p);
            return;
        }
        int d = s.dim();
        int q = s.qDim();
        int kv = s.kvDim();
        int ff = s.ffDim();
        float w = o.weightStd();
        float ns = o.normStd();
        boolean gpt2 = this == GPT2;
        boolean gemma = this == GEMMA2 || this == GEMMA3;
        p.matrix("token_embd.weight", Role.TOKEN_EMBD, 0, d, s.vocab(), tied ? o.outputStd() : w);
        if (gpt2) {
            p.matrix("position_embd.weight", Role.TOKEN_EMBD, 0, d, s.contextLength(), w);
        }
        if (o.ropeFreqs()) {
            p.vector("rope_freqs.weight", s.headDim() / 2, 2f, 0.5f);
        }
        if (o.ropeScaling().equals("longrope")) {
            p.vector("rope_factors_long.weight", s.headDim() / 2, 4f, 1f);
            p.vector("rope_factors_short.weight", s.headDim() / 2, 1.2f, 0.1f);
        }
        for (int l = 0; l < s.nLayers(); l++) {
            String b = "blk." + l + ".";
            norm(p, b + "attn_norm", d, ns, gpt2);
            if (this == PHI3 || gpt2) {
                p.matrix(b + "attn_qkv.weight", Role.ATTN_Q, l, d, q + 2 * kv, w);
                if (gpt2) {
                    p.vector(b + "attn_qkv.bias", q + 2 * kv, 0f, ns);
                }
            } else {
                p.matrix(b + "attn_q.weight", Role.ATTN_Q, l, d, q, w);
                p.matrix(b + "attn_k.weight", Role.ATTN_K, l, d, kv, w);
                p.matrix(b + "attn_v.weight", Role.ATTN_V, l, d, kv, w);
                if (this == QWEN2) {
                    p.vector(b + "attn_q.bias", q, 0f, ns);
                    p.vector(b + "attn_k.bias", kv, 0f, ns);
                    p.vector(b + "attn_v.bias", kv, 0f, ns);
                }
            }
            if (this == QWEN3 || this == GEMMA3) {
                p.vector(b + "attn_q_norm.weight", s.headDim(), 1f, ns);
                p.vector(b + "attn_k_norm.weight", s.headDim(), 1f, ns);
            }
            p.matrix(b + "attn_output.weight", Role.ATTN_OUTPUT, l, q, d, w);
            if (gpt2) {
                p.vector(b + "attn_output.bias", d, 0f, ns);
            }
            if (gemma) {
                norm(p, b + "post_attention_norm", d, ns, false);
            }
            norm(p, b + "ffn_norm", d, ns, gpt2);
            if (this == PHI3) {
                p.matrix(b + "ffn_up.weight", Role.FFN_UP, l, d, 2 * ff, w);
            } else if (gpt2) {
                p.matrix(b + "ffn_up.weight", Role.FFN_UP, l, d, ff, w);
                p.vector(b + "ffn_up.bias", ff, 0f, ns);
            } else {
                p.matrix(b + "ffn_gate.weight", Role.FFN_GATE, l, d, ff, w);
                p.matrix(b + "ffn_up.weight", Role.FFN_UP, l, d, ff, w);
            }
            p.matrix(b + "ffn_down.weight", Role.FFN_DOWN, l, ff, d, w);
            if (gpt2) {
                p.vector(b + "ffn_down.bias", d, 0f, ns);
            }
            if (gemma) {
                norm(p, b + "post_ffw_norm", d, ns, false);
            }
        }
        norm(p, "output_norm", d, ns, gpt2);
        if (!tied) {
            p.matrix("output.weight", Role.OUTPUT, 0, d, s.vocab(), o.outputStd());
        }
    }

    /** BERT's tensors in the order llama.cpp's converter writes a Hugging Face BertModel. */
    private static void planBert(ModelShape s, SynthOptions o, Planner p) {
        int d = s.dim();
        int ff = s.ffDim();
        float w = o.weightStd();
        float ns = o.normStd();
        p.matrix("token_embd.weight", Role.TOKEN_EMBD, 0, d, s.vocab(), w);
        p.f32Matrix("position_embd.weight", d, s.contextLength(), w);
        p.f32Matrix("token_types.weight", d, BERT_TOKEN_TYPES, w);
        norm(p, "token_embd_norm", d, ns, true);
        for (int l = 0; l < s.nLayers(); l++) {
            String b = "blk." + l + ".";
            p.matrix(b + "attn_q.weight", Role.ATTN_Q, l, d, s.qDim(), w);
            p.vector(b + "attn_q.bias", s.qDim(), 0f, ns);
            p.matrix(b + "attn_k.weight", Role.ATTN_K, l, d, s.kvDim(), w);
            p.vector(b + "attn_k.bias", s.kvDim(), 0f, ns);
            p.matrix(b + "attn_v.weight", Role.ATTN_V, l, d, s.kvDim(), w);
            p.vector(b + "attn_v.bias", s.kvDim(), 0f, ns);
            p.matrix(b + "attn_output.weight", Role.ATTN_OUTPUT, l, s.qDim(), d, w);
            p.vector(b + "attn_output.bias", d, 0f, ns);
            norm(p, b + "attn_output_norm", d, ns, true);
            p.matrix(b + "ffn_up.weight", Role.FFN_UP, l, d, ff, w);
            p.vector(b + "ffn_up.bias", ff, 0f, ns);
            p.matrix(b + "ffn_down.weight", Role.FFN_DOWN, l, ff, d, w);
            p.vector(b + "ffn_down.bias", d, 0f, ns);
            norm(p, b + "layer_output_norm", d, ns, true);
        }
    }

    /** Rows of BERT's {@code token_types.weight} (Hugging Face's {@code type_vocab_size}). */
    static final int BERT_TOKEN_TYPES = 2;

    private static void norm(Planner p, String name, int n, float std, boolean bias) {
        p.vector(name + ".weight", n, 1f, std);
        if (bias) {
            p.vector(name + ".bias", n, 0f, std);
        }
    }

    /** Writes the {@code <arch>.*} hyper-parameters of shape {@code s} (not the general or tokenizer keys). */
    void putHyperParameters(GgufWriter w, ModelShape s, SynthOptions o) {
        String a = ggufName + ".";
        w.putUInt32(a + "vocab_size", s.vocab());
        w.putUInt32(a + "context_length", s.contextLength());
        w.putUInt32(a + "embedding_length", s.dim());
        w.putUInt32(a + "block_count", s.nLayers());
        w.putUInt32(a + "feed_forward_length", s.ffDim());
        if (this != GPT2 && this != BERT) {
            w.putUInt32(a + "rope.dimension_count", s.headDim());
        }
        w.putUInt32(a + "attention.head_count", s.nHeads());
        if (this != BERT) { // llama.cpp's converter writes no head_count_kv for BERT (the loader defaults it to head_count)
            w.putUInt32(a + "attention.head_count_kv", s.nKvHeads());
        }
        if (s.headSize() > 0 || this == GEMMA2 || this == GEMMA3) {
            w.putUInt32(a + "attention.key_length", s.headDim());
            w.putUInt32(a + "attention.value_length", s.headDim());
        }
        if (this == GPT2) {
            w.putFloat32(a + "attention.layer_norm_epsilon", s.rmsEps());
            return;
        }
        if (this == BERT) {
            w.putFloat32(a + "attention.layer_norm_epsilon", s.rmsEps());
            w.putBool(a + "attention.causal", false);
            w.putUInt32(a + "pooling_type", o.pooling().equals("cls") ? 2 : 1);
            w.putUInt32("tokenizer.ggml.token_type_count", BERT_TOKEN_TYPES);
            return;
        }
        w.putFloat32(a + "rope.freq_base", s.ropeTheta());
        w.putFloat32(a + "attention.layer_norm_rms_epsilon", s.rmsEps());
        int window = o.effectiveSlidingWindow();
        if (window > 0) {
            w.putUInt32(a + "attention.sliding_window", window);
        }
        if (this == GEMMA2) {
            w.putFloat32(a + "attn_logit_softcapping", 50f);
            w.putFloat32(a + "final_logit_softcapping", 30f);
        }
        int original = Math.max(1, Math.round(s.contextLength() / o.ropeFactor()));
        switch (o.ropeScaling()) {
            case "linear", "yarn" -> {
                w.putString(a + "rope.scaling.type", o.ropeScaling());
                w.putFloat32(a + "rope.scaling.factor", o.ropeFactor());
                if (o.ropeScaling().equals("yarn")) {
                    w.putUInt32(a + "rope.scaling.original_context_length", original);
                }
            }
            case "longrope" -> { // as convert_hf_to_gguf.py writes Phi-3 128k: no type, the attention factor of LongRoPE
                w.putUInt32(a + "rope.scaling.original_context_length", original);
                double scale = (double) s.contextLength() / original;
                w.putFloat32(a + "rope.scaling.attn_factor", scale > 1 ? (float) Math.sqrt(1 + Math.log(scale) / Math.log(original)) : 1f);
            }
            default -> { }
        }
    }
}
