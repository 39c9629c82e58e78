package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Qwen3 (Qwen team, 2025; GGUF {@code general.architecture = qwen3}): Llama's blocks with
 * RMSNorm of every query and key head before RoPE ({@code attn_q_norm}, {@code attn_k_norm} of
 * the head width, "QK-norm"), no projection biases, RoPE in the NEOX layout, and a head width
 * from {@code qwen3.attention.key_length} that need not be {@code dim / heads}.
 */
public final class Qwen3Model {
    private Qwen3Model() {
    }

    static LanguageModel load(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        Blocks k = new Blocks(file, c);
        Tensor embd = k.tokenEmbedding();
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            layers.add(new DecoderLayer(
                    k.rms(Blocks.blk(l, "attn_norm")), k.qkv(l),
                    k.rms(Blocks.blk(l, "attn_q_norm"), c.headDim()), k.rms(Blocks.blk(l, "attn_k_norm"), c.headDim()),
                    k.attnOutput(l), null,
                    k.rms(Blocks.blk(l, "ffn_norm")), k.gated(l, Activation.SILU), null,
                    Attention.Options.standard(c.headDim()), 0));
        }
        return k.model(tokenizer, pool, options, new DecoderModel.Blueprint(embd, 1f, null, layers,
                k.rms("output_norm"), k.output(embd), 0f, List.of(k.rope(RopeConfig.Style.NEOX))));
    }
}
