package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The Llama architecture (Touvron et al., 2023; GGUF {@code general.architecture = llama}, which
 * Mistral 7B (Jiang et al., 2023) files use too): token embedding, then per layer
 * {@code x += Wo·attn(RoPE(Wq·n), RoPE(Wk·n), Wv·n)} with {@code n = RMSNorm(x)}, and
 * {@code x += W2·(silu(W1·m) ⊙ W3·m)} with {@code m = RMSNorm(x)}; finally RMSNorm and the output
 * projection (tied to the embedding when {@code output.weight} is absent). RoPE in the NORMAL
 * layout, scaled from metadata (linear, YaRN, {@code rope_freqs.weight} of Llama 3.1); optional
 * biases and a fused {@code attn_qkv} are accepted as llama.cpp accepts them.
 *
 * <p>Sliding-window attention (Mistral 7B v0.1's 4096) applies when the metadata has
 * {@code llama.attention.sliding_window > 0}. llama.cpp ignores that key for {@code llama}, so
 * results differ from llama.cpp's once a sequence is longer than the window.
 */
public final class LlamaModel {
    private LlamaModel() {
    }

    static LanguageModel load(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        Blocks k = new Blocks(file, c);
        Tensor embd = k.tokenEmbedding();
        Attention.Options attention = Attention.Options.standard(c.headDim()).withWindow(k.getInt("attention.sliding_window", 0));
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            layers.add(new DecoderLayer(
                    k.rms(Blocks.blk(l, "attn_norm")), k.qkv(l), null, null, k.attnOutput(l), null,
                    k.rms(Blocks.blk(l, "ffn_norm")), k.gated(l, Activation.SILU), null,
                    attention, 0));
        }
        return k.model(tokenizer, pool, options, new DecoderModel.Blueprint(embd, 1f, null, layers,
                k.rms("output_norm"), k.output(embd), 0f, List.of(k.rope(RopeConfig.Style.NORMAL))));
    }
}
