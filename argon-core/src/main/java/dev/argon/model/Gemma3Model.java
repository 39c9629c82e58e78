package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Gemma 3 (Gemma Team, 2025; GGUF {@code general.architecture = gemma3}), as llama.cpp runs it
 * ({@code src/models/gemma3.cpp}): Gemma 2's blocks ({@link Gemma2Model}: embedding scaled by
 * {@code sqrt(dim)}, sandwich norms, GeGLU, NEOX RoPE) with RMSNorm of each query and key head
 * ({@code attn_q_norm}, {@code attn_k_norm}) instead of attention soft-capping, logit soft-capping
 * only when {@code gemma3.final_logit_softcapping} is present, an optional {@code output.weight},
 * and, when {@code gemma3.attention.sliding_window > 0}, five local layers to one global (pattern
 * period 6). Local layers use RoPE base {@code gemma3.rope.freq_base_swa} (default 10000) without
 * scaling; global ones use {@code rope.freq_base} and the metadata's scaling (linear 8 in the
 * 4B-27B models).
 */
public final class Gemma3Model {
    private Gemma3Model() {
    }

    static LanguageModel load(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        Blocks k = new Blocks(file, c);
        Tensor embd = k.tokenEmbedding();
        RopeConfig global = k.rope(RopeConfig.Style.NEOX);
        RopeConfig local = global.withBase(k.getFloat("rope.freq_base_swa", 10000f), 1f);
        int window = k.getInt("attention.sliding_window", 0);
        boolean[] sliding = window > 0 ? k.slidingLayers(6) : new boolean[c.nLayers()];
        Attention.Options attention = new Attention.Options(Gemma2Model.attentionScale(c, 62), 0f, 0);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            layers.add(new DecoderLayer(
                    k.rms(Blocks.blk(l, "attn_norm")), k.qkv(l),
                    k.rms(Blocks.blk(l, "attn_q_norm"), c.headDim()), k.rms(Blocks.blk(l, "attn_k_norm"), c.headDim()),
                    k.attnOutput(l), k.rms(Blocks.blk(l, "post_attention_norm")),
                    k.rms(Blocks.blk(l, "ffn_norm")), k.gated(l, Activation.GELU_TANH), k.rms(Blocks.blk(l, "post_ffw_norm")),
                    sliding[l] ? attention.withWindow(window) : attention, sliding[l] ? 1 : 0));
        }
        return k.model(tokenizer, pool, options, new DecoderModel.Blueprint(embd, (float) Math.sqrt(c.dim()), null, layers,
                k.rms("output_norm"), k.output(embd), k.getFloat("final_logit_softcapping", 0f), List.of(global, local)));
    }
}
