package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2 (Radford et al., 2019; GGUF {@code general.architecture = gpt2}), as llama.cpp runs it
 * ({@code src/models/gpt2.cpp}): learned absolute position embeddings ({@code position_embd},
 * one row per position of {@code gpt2.context_length}) added to the token embeddings, no RoPE;
 * LayerNorm with weight and bias ({@code gpt2.attention.layer_norm_epsilon}); one fused
 * {@code attn_qkv} projection with bias; output projection, {@code ffn_up} and {@code ffn_down}
 * with biases; a two-layer MLP with the tanh GELU; the output tied to the token embedding unless
 * {@code output.weight} is present.
 */
public final class Gpt2Model {
    private Gpt2Model() {
    }

    static LanguageModel load(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        Blocks k = new Blocks(file, c);
        Tensor embd = k.tokenEmbedding();
        Tensor positions = k.w.matrix("position_embd.weight", c.contextLength(), c.dim());
        float eps = k.getFloat("attention.layer_norm_epsilon", 1e-5f);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            FeedForward mlp = new FeedForward.Mlp(k.linear(Blocks.blk(l, "ffn_up"), c.ffDim(), c.dim()),
                    k.linear(Blocks.blk(l, "ffn_down"), c.dim(), c.ffDim()), Activation.GELU_TANH);
            layers.add(new DecoderLayer(
                    k.layerNorm(Blocks.blk(l, "attn_norm"), eps), k.qkv(l), null, null, k.attnOutput(l), null,
                    k.layerNorm(Blocks.blk(l, "ffn_norm"), eps), mlp, null,
                    Attention.Options.standard(c.headDim()), -1));
        }
        return k.model(tokenizer, pool, options, new DecoderModel.Blueprint(embd, 1f, positions, layers,
                k.layerNorm("output_norm", eps), k.output(embd), 0f, List.of()));
    }
}
