package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Gemma 2 (Gemma Team, 2024; GGUF {@code general.architecture = gemma2}), as llama.cpp runs it
 * ({@code src/models/gemma2.cpp}):
 * <ul>
 *   <li>token embeddings multiplied by {@code sqrt(dim)}; the output projection is always the
 *       token embedding;</li>
 *   <li>"sandwich" RMSNorms: {@code post_attention_norm} and {@code post_ffw_norm} normalise each
 *       block's output before the residual add (weights already include Gemma's {@code +1});</li>
 *   <li>GeGLU feed-forward with the tanh GELU;</li>
 *   <li>attention scores soft-capped by {@code gemma2.attn_logit_softcapping} (default 50) and
 *       logits by {@code gemma2.final_logit_softcapping} (default 30);</li>
 *   <li>local sliding-window layers ({@code gemma2.attention.sliding_window}, default 4096)
 *       alternating with global ones (pattern period 2: even blocks are local), local RoPE base
 *       {@code gemma2.rope.freq_base_swa} (default: the global one); RoPE in the NEOX layout;</li>
 *   <li>scores scaled by {@code 1/sqrt(head size)}, or {@code 1/sqrt(dim/heads)} for the 27B
 *       model (46 blocks; gemma_pytorch's {@code query_pre_attn_scalar}), as llama.cpp decides.</li>
 * </ul>
 */
public final class Gemma2Model {
    private Gemma2Model() {
    }

    static LanguageModel load(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        Blocks k = new Blocks(file, c);
        Tensor embd = k.tokenEmbedding();
        RopeConfig global = k.rope(RopeConfig.Style.NEOX);
        RopeConfig local = global.withBase(k.getFloat("rope.freq_base_swa", global.base()), global.freqScale());
        boolean[] sliding = k.slidingLayers(2);
        Attention.Options attention = new Attention.Options(attentionScale(c, 46), k.getFloat("attn_logit_softcapping", 50f), 0);
        int window = k.getInt("attention.sliding_window", 4096);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            layers.add(new DecoderLayer(
                    k.rms(Blocks.blk(l, "attn_norm")), k.qkv(l), null, null, k.attnOutput(l),
                    k.rms(Blocks.blk(l, "post_attention_norm")),
                    k.rms(Blocks.blk(l, "ffn_norm")), k.gated(l, Activation.GELU_TANH), k.rms(Blocks.blk(l, "post_ffw_norm")),
                    sliding[l] ? attention.withWindow(window) : attention, sliding[l] ? 1 : 0));
        }
        return k.model(tokenizer, pool, options, new DecoderModel.Blueprint(embd, (float) Math.sqrt(c.dim()), null, layers,
                k.rms("output_norm"), new Linear(embd, null, c.vocabSize(), c.dim()),
                k.getFloat("final_logit_softcapping", 30f), List.of(global, local)));
    }

    /**
     * Gemma's attention scale as llama.cpp sets it: {@code 1/sqrt(dim/heads)} for the 27B model
     * (recognised by its block count {@code bigModelLayers}), else {@code 1/sqrt(head size)}.
     */
    static float attentionScale(ModelConfig c, int bigModelLayers) {
        int width = c.nLayers() == bigModelLayers ? c.dim() / c.nHeads() : c.headDim();
        return (float) (1.0 / Math.sqrt(width));
    }
}
