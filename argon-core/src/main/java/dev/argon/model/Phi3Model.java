package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Phi-3 and Phi-4-mini (Microsoft, Abdin et al., 2024; GGUF {@code general.architecture = phi3}):
 * Llama's blocks with the query, key and value projections fused into one {@code attn_qkv}
 * (separate ones are accepted too), gate and up fused into one {@code ffn_up} of
 * {@code 2 * feed_forward_length} rows (gate first), RoPE in the NEOX layout, possibly over part
 * of the head ({@code rope.dimension_count}) and with LongRoPE factors ({@code rope_factors_long}
 * / {@code rope_factors_short}, chosen by the context length). As llama.cpp does, the
 * {@code phi3.attention.sliding_window} key is ignored.
 */
public final class Phi3Model {
    private Phi3Model() {
    }

    static LanguageModel load(GgufFile file, ModelConfig c, Tokenizer tokenizer, ThreadPool pool, ModelOptions options) {
        Blocks k = new Blocks(file, c);
        Tensor embd = k.tokenEmbedding();
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            FeedForward ffn = new FeedForward.FusedGated(k.linear(Blocks.blk(l, "ffn_up"), 2 * c.ffDim(), c.dim()),
                    k.linear(Blocks.blk(l, "ffn_down"), c.dim(), c.ffDim()), Activation.SILU);
            layers.add(new DecoderLayer(
                    k.rms(Blocks.blk(l, "attn_norm")), k.qkv(l), null, null, k.attnOutput(l), null,
                    k.rms(Blocks.blk(l, "ffn_norm")), ffn, null,
                    Attention.Options.standard(c.headDim()), 0));
        }
        return k.model(tokenizer, pool, options, new DecoderModel.Blueprint(embd, 1f, null, layers,
                k.rms("output_norm"), k.output(embd), 0f, List.of(k.rope(RopeConfig.Style.NEOX))));
    }
}
