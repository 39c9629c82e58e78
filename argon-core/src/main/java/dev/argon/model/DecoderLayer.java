package dev.argon.model;

import dev.argon.tensor.Q8Activations;
import dev.argon.tensor.ThreadPool;

/**
 * The weights and choices of one pre-norm transformer block, as {@link DecoderModel} runs it:
 * <pre>
 *   h = attnNorm(x);  q, k, v = qkv(h);  q = qNorm(q), k = kNorm(k) per head;  RoPE(q, k)
 *   a = output(attention(q, K, V));  x += postAttnNorm(a)
 *   f = ffn(ffnNorm(x));  x += postFfnNorm(f)
 * </pre>
 * Optional parts are null: {@code qNorm}/{@code kNorm} (Qwen 3, Gemma 3 "QK-norm"),
 * {@code postAttnNorm}/{@code postFfnNorm} (Gemma 2/3 "sandwich" norms).
 *
 * @param attnNorm norm before attention ({@code attn_norm})
 * @param qkv the query, key and value projections
 * @param qNorm RMSNorm of each query head ({@code attn_q_norm}), or null
 * @param kNorm RMSNorm of each key head ({@code attn_k_norm}), or null
 * @param output attention output projection ({@code attn_output})
 * @param postAttnNorm norm of the attention output before the residual add ({@code post_attention_norm}), or null
 * @param ffnNorm norm before the feed-forward block ({@code ffn_norm})
 * @param ffn the feed-forward block
 * @param postFfnNorm norm of the feed-forward output before the residual add ({@code post_ffw_norm}), or null
 * @param attention scale, soft-cap and sliding window of this layer
 * @param rope index of this layer's RoPE in {@link DecoderModel.Blueprint#ropes()}, or -1 for none (GPT-2)
 */
public record DecoderLayer(Norm attnNorm, Qkv qkv, Norm qNorm, Norm kNorm, Linear output, Norm postAttnNorm,
                           Norm ffnNorm, FeedForward ffn, Norm postFfnNorm, Attention.Options attention, int rope) {

    /** Query, key and value projections: three matrices, or one fused matrix (rows q, then k, then v). */
    public sealed interface Qkv permits Separate, Fused {
        /** @return floats of fused output per row (0 when separate) */
        int fusedWidth();

        /**
         * Projects {@code n} rows {@code x [n, dim]} into {@code q [n, qDim]}, {@code k} and
         * {@code v [n, kvDim]}; {@code scratch} holds the fused output; rows {@code [0, gemmRows)}
         * use the batched prompt arithmetic ({@link dev.argon.tensor.Ops#matmul}).
         */
        void apply(float[] x, Q8Activations xq, float[] q, float[] k, float[] v, float[] scratch, int n, int gemmRows, ThreadPool pool);
    }

    /** {@code attn_q}, {@code attn_k}, {@code attn_v} (each with an optional bias, as Qwen 2). */
    public record Separate(Linear q, Linear k, Linear v) implements Qkv {
        @Override
        public int fusedWidth() {
            return 0;
        }

        @Override
        public void apply(float[] x, Q8Activations xq, float[] qo, float[] ko, float[] vo, float[] scratch, int n, int gemmRows, ThreadPool pool) {
            q.apply(x, xq, qo, n, gemmRows, pool);
            k.apply(x, xq, ko, n, gemmRows, pool);
            v.apply(x, xq, vo, n, gemmRows, pool);
        }
    }

    /** {@code attn_qkv} (Phi-3, GPT-2): one matrix of {@code qDim + 2 kvDim} rows (llama.cpp's {@code build_qkv} views). */
    public record Fused(Linear qkv, int qDim, int kvDim) implements Qkv {
        @Override
        public int fusedWidth() {
            return qkv.rows();
        }

        @Override
        public void apply(float[] x, Q8Activations xq, float[] qo, float[] ko, float[] vo, float[] scratch, int n, int gemmRows, ThreadPool pool) {
            int w = qkv.rows();
            qkv.apply(x, xq, scratch, n, gemmRows, pool);
            for (int t = 0; t < n; t++) {
                System.arraycopy(scratch, t * w, qo, t * qDim, qDim);
                System.arraycopy(scratch, t * w + qDim, ko, t * kvDim, kvDim);
                System.arraycopy(scratch, t * w + qDim + kvDim, vo, t * kvDim, kvDim);
            }
        }
    }
}
