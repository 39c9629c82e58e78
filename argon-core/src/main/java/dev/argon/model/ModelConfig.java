package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;

/**
 * Hyper-parameters of a decoder-only transformer, read from GGUF metadata
 * ({@code <arch>.block_count}, {@code <arch>.embedding_length}, ... as named in the GGUF spec).
 *
 * @param architecture {@code general.architecture}
 * @param nLayers transformer blocks
 * @param dim embedding (residual stream) width
 * @param ffDim feed-forward hidden width
 * @param nHeads query heads
 * @param nKvHeads key/value heads (grouped-query attention when below nHeads)
 * @param headDim width of one head
 * @param ropeDim leading dimensions of each head rotated by RoPE
 * @param ropeTheta RoPE frequency base
 * @param rmsEps epsilon of RMSNorm
 * @param contextLength training context in tokens
 * @param vocabSize rows of the token embedding
 */
public record ModelConfig(String architecture, int nLayers, int dim, int ffDim, int nHeads, int nKvHeads, int headDim,
                          int ropeDim, float ropeTheta, float rmsEps, int contextLength, int vocabSize) {

    /** @return {@code nKvHeads * headDim}, floats per token per layer in the KV cache */
    public int kvDim() {
        return nKvHeads * headDim;
    }

    /**
     * Reads the config of architecture {@code arch}.
     *
     * @param vocabSize rows of the token embedding tensor
     * @throws ArgonException naming the key when a value is missing or inconsistent
     */
    public static ModelConfig fromGguf(GgufFile f, String arch, int vocabSize) {
        int nLayers = f.getInt(arch + ".block_count");
        int dim = f.getInt(arch + ".embedding_length");
        int ffDim = f.getInt(arch + ".feed_forward_length");
        int nHeads = f.getInt(arch + ".attention.head_count");
        int nKvHeads = f.getInt(arch + ".attention.head_count_kv", nHeads);
        int ctx = f.getInt(arch + ".context_length");
        String where = f.path() + ": metadata ";
        positive(where + "'" + arch + ".block_count'", nLayers);
        positive(where + "'" + arch + ".embedding_length'", dim);
        positive(where + "'" + arch + ".feed_forward_length'", ffDim);
        positive(where + "'" + arch + ".attention.head_count'", nHeads);
        positive(where + "'" + arch + ".attention.head_count_kv'", nKvHeads);
        positive(where + "'" + arch + ".context_length'", ctx);
        if (dim % nHeads != 0 && !f.has(arch + ".attention.key_length")) {
            throw new ArgonException(where + "'" + arch + ".embedding_length' = " + dim + " is not divisible by head_count " + nHeads);
        }
        if (nHeads % nKvHeads != 0) {
            throw new ArgonException(where + "'" + arch + ".attention.head_count' = " + nHeads
                    + " is not a multiple of head_count_kv = " + nKvHeads);
        }
        int headDim = f.getInt(arch + ".attention.key_length", dim / nHeads);
        int ropeDim = f.getInt(arch + ".rope.dimension_count", headDim);
        if (ropeDim <= 0 || ropeDim > headDim || ropeDim % 2 != 0) {
            throw new ArgonException(where + "'" + arch + ".rope.dimension_count' = " + ropeDim
                    + ", expected an even number in 2.." + headDim + " (the head size)");
        }
        float theta = f.getFloat(arch + ".rope.freq_base", 10000f);
        float eps = f.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
        if (!(theta > 0) || !(eps > 0)) {
            throw new ArgonException(where + "rope.freq_base and layer_norm_rms_epsilon must be positive, found "
                    + theta + " and " + eps);
        }
        return new ModelConfig(arch, nLayers, dim, ffDim, nHeads, nKvHeads, headDim, ropeDim, theta, eps, ctx, vocabSize);
    }

    private static void positive(String what, int v) {
        if (v <= 0) {
            throw new ArgonException(what + " = " + v + ", expected a positive number");
        }
    }
}
