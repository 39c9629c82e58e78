package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Qwen2 and Qwen2.5 (Qwen team, 2024; GGUF {@code general.architecture = qwen2}): Llama's blocks
 * with biases on the query, key and value projections ({@code attn_q.bias}, ...) and RoPE in the
 * NEOX layout (llama.cpp's {@code LLAMA_ROPE_TYPE_NEOX} for {@code qwen2}). llama.cpp ignores
 * {@code qwen2.attention.sliding_window}, and so does this.
 */
public final class Qwen2Model {
    private Qwen2Model() {
    }

    static LanguageModel load(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        Blocks k = new Blocks(file, c);
        Tensor embd = k.tokenEmbedding();
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            layers.add(new DecoderLayer(
                    k.rms(Blocks.blk(l, "attn_norm")), k.qkv(l), null, null, k.attnOutput(l), null,
                    k.rms(Blocks.blk(l, "ffn_norm")), k.gated(l, Activation.SILU), null,
                    Attention.Options.standard(c.headDim()), 0));
        }
        return k.model(tokenizer, pool, options, new DecoderModel.Blueprint(embd, 1f, null, layers,
                k.rms("output_norm"), k.output(embd), 0f, List.of(k.rope(RopeConfig.Style.NEOX))));
    }
}
