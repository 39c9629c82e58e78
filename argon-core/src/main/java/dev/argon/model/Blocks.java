package dev.argon.model;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

/**
 * Loads the building blocks of a {@link DecoderModel} by their GGUF tensor names, as llama.cpp
 * names them ({@code src/llama-arch.cpp}: {@code token_embd}, {@code blk.N.attn_q},
 * {@code blk.N.post_attention_norm}, ...), with the shapes each one must have. Architecture files
 * use it to declare their layers.
 */
final class Blocks {
    final GgufFile file;
    final ModelConfig c;
    final WeightLoader w;

    Blocks(GgufFile file, ModelConfig c) {
        this.file = file;
        this.c = c;
        this.w = new WeightLoader(file);
    }

    /** @return the name of tensor {@code name} of block {@code layer}: {@code blk.<layer>.<name>} */
    static String blk(int layer, String name) {
        return "blk." + layer + "." + name;
    }

    /** @return width of all query heads */
    int qDim() {
        return c.nHeads() * c.headDim();
    }

    /** @return {@code token_embd.weight} {@code [vocab, dim]} */
    Tensor tokenEmbedding() {
        return w.matrix("token_embd.weight", c.vocabSize(), c.dim());
    }

    /** @return RMSNorm with weight {@code <name>.weight} of {@code width} and the config's epsilon */
    Norm rms(String name, int width) {
        return new Norm.Rms(w.vector(name + ".weight", width), c.rmsEps());
    }

    /** @return RMSNorm of the embedding width */
    Norm rms(String name) {
        return rms(name, c.dim());
    }

    /** @return LayerNorm with {@code <name>.weight} and {@code <name>.bias} of the embedding width */
    Norm layerNorm(String name, float eps) {
        return new Norm.Layer(w.vector(name + ".weight", c.dim()), w.vector(name + ".bias", c.dim()), eps);
    }

    /** @return {@code <name>.weight [rows, cols]} with {@code <name>.bias [rows]} when the file has it */
    Linear linear(String name, int rows, int cols) {
        Tensor m = w.matrix(name + ".weight", rows, cols);
        float[] bias = w.has(name + ".bias") ? w.vector(name + ".bias", rows) : null;
        return new Linear(m, bias, rows, cols);
    }

    /**
     * The query/key/value projections of block {@code layer}, as llama.cpp's
     * {@code create_tensor_qkv}: the fused {@code attn_qkv} when present, else {@code attn_q},
     * {@code attn_k}, {@code attn_v}; biases where the file has them.
     */
    DecoderLayer.Qkv qkv(int layer) {
        int qDim = qDim();
        if (w.has(blk(layer, "attn_qkv.weight"))) {
            return new DecoderLayer.Fused(linear(blk(layer, "attn_qkv"), qDim + 2 * c.kvDim(), c.dim()), qDim, c.kvDim());
        }
        return new DecoderLayer.Separate(linear(blk(layer, "attn_q"), qDim, c.dim()),
                linear(blk(layer, "attn_k"), c.kvDim(), c.dim()),
                linear(blk(layer, "attn_v"), c.kvDim(), c.dim()));
    }

    /** @return {@code attn_output} of block {@code layer} {@code [dim, qDim]} */
    Linear attnOutput(int layer) {
        return linear(blk(layer, "attn_output"), c.dim(), qDim());
    }

    /** @return the gated feed-forward block {@code ffn_gate}, {@code ffn_up}, {@code ffn_down} of block {@code layer} */
    FeedForward gated(int layer, Activation act) {
        int ff = c.ffDim();
        return new FeedForward.Gated(linear(blk(layer, "ffn_gate"), ff, c.dim()), linear(blk(layer, "ffn_up"), ff, c.dim()),
                linear(blk(layer, "ffn_down"), c.dim(), ff), act);
    }

    /** @return {@code output.weight} (and {@code output.bias}), or the token embedding when the file has no output matrix (tied) */
    Linear output(Tensor tokenEmbedding) {
        if (w.has("output.weight")) {
            return linear("output", c.vocabSize(), c.dim());
        }
        return new Linear(tokenEmbedding, null, c.vocabSize(), c.dim());
    }

    /** @return the RoPE settings from metadata in the given layout */
    RopeConfig rope(RopeConfig.Style style) {
        return RopeConfig.fromGguf(file, w, c, style);
    }

    /** @return metadata {@code <arch>.<key>} as an int, or {@code def} */
    int getInt(String key, int def) {
        return file.getInt(c.architecture() + "." + key, def);
    }

    /** @return metadata {@code <arch>.<key>} as a float, or {@code def} */
    float getFloat(String key, float def) {
        return file.getFloat(c.architecture() + "." + key, def);
    }

    /**
     * Which blocks use sliding-window attention, from {@code <arch>.attention.sliding_window_pattern}
     * as llama.cpp reads it: an array of booleans, one per block, or a period {@code p} (default
     * {@code defaultPeriod}) under {@code set_swa_pattern(p)}: every block when {@code p} is 0, else
     * all but the last of each {@code p} blocks.
     */
    boolean[] slidingLayers(int defaultPeriod) {
        String key = c.architecture() + ".attention.sliding_window_pattern";
        boolean[] out = new boolean[c.nLayers()];
        if (file.has(key) && file.metadata().get(key) instanceof dev.argon.gguf.GgufArray a) {
            for (int l = 0; l < out.length && l < a.size(); l++) {
                out[l] = a.getLong(l) != 0;
            }
            return out;
        }
        int period = file.getInt(key, defaultPeriod);
        for (int l = 0; l < out.length; l++) {
            out[l] = period == 0 || l % period < period - 1;
        }
        return out;
    }

    /** @return the model running {@code blueprint}, with the parameters loaded through this object */
    LanguageModel model(Tokenizer tokenizer, ThreadPool pool, ModelOptions options, DecoderModel.Blueprint blueprint) {
        return new DecoderModel(file, c, tokenizer, pool, options, blueprint, w);
    }
}
