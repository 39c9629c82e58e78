package dev.argon.model;

import dev.argon.tensor.Ops;
import dev.argon.tensor.Q8Activations;
import dev.argon.tensor.ThreadPool;

/**
 * The feed-forward block of a transformer layer, in the three forms GGUF models use:
 * <ul>
 *   <li>{@link Gated}: {@code down(act(gate(x)) * up(x))}, the GLU variants of Shazeer (2020):
 *       SwiGLU with SiLU (Llama, Qwen) or GeGLU with GELU (Gemma); tensors {@code ffn_gate},
 *       {@code ffn_up}, {@code ffn_down};</li>
 *   <li>{@link FusedGated}: the same with gate and up stored as one {@code ffn_up} of
 *       {@code 2 * ff} rows, gate first (Phi-3; ggml's {@code ggml_swiglu} on the halves);</li>
 *   <li>{@link Mlp}: {@code down(act(up(x)))}, the original two-layer MLP (GPT-2, with biases).</li>
 * </ul>
 */
public sealed interface FeedForward permits FeedForward.Gated, FeedForward.FusedGated, FeedForward.Mlp {
    /** Scratch space of a batch and the 8-bit quantization of activations ({@link DecoderModel.State}). */
    interface Scratch {
        /** @return a buffer of at least {@code rows * scratchWidth()} floats */
        float[] hidden();

        /** @return a second buffer of at least {@code rows * scratchWidth()} floats */
        float[] hidden2();

        /**
         * @return {@code x[0 .. rows*width)} quantized to 8 bits, or null when activations stay F32;
         *     rows {@code [0, gemmRows)} go through {@code Gemm} (only their dequantized values are used)
         */
        Q8Activations quantized(float[] x, int rows, int width, int gemmRows);

        /** @return whether to compute like llama.cpp's CPU backend (GELU through its F16 table) */
        boolean llamaCppArithmetic();
    }

    /** @return the hidden width the scratch buffers need per row */
    int scratchWidth();

    /** {@code out[t] = ffn(x[t])} for {@code n} rows; {@code xq} is the 8-bit copy of {@code x} or null; rows
     * {@code [0, gemmRows)} use the batched prompt arithmetic. */
    void apply(float[] x, Q8Activations xq, float[] out, int n, int gemmRows, Scratch s, ThreadPool pool);

    /** Gated: {@code down(act(gate x) * up x)}. */
    record Gated(Linear gate, Linear up, Linear down, Activation act) implements FeedForward {
        @Override
        public int scratchWidth() {
            return gate.rows();
        }

        @Override
        public void apply(float[] x, Q8Activations xq, float[] out, int n, int gemmRows, Scratch s, ThreadPool pool) {
            int ff = gate.rows();
            float[] g = s.hidden();
            float[] u = s.hidden2();
            gate.apply(x, xq, g, n, gemmRows, pool);
            up.apply(x, xq, u, n, gemmRows, pool);
            if (act == Activation.SILU) {
                Ops.swiglu(g, u, n * ff, pool);
            } else {
                boolean llamaCpp = s.llamaCppArithmetic();
                for (int i = 0; i < n * ff; i++) {
                    g[i] = act.apply(g[i], llamaCpp) * u[i];
                }
            }
            down.apply(g, s.quantized(g, n, ff, gemmRows), out, n, gemmRows, pool);
        }
    }

    /** Gated with gate and up in one matrix {@code gateUp [2 ff, dim]}, gate rows first. */
    record FusedGated(Linear gateUp, Linear down, Activation act) implements FeedForward {
        @Override
        public int scratchWidth() {
            return gateUp.rows();
        }

        @Override
        public void apply(float[] x, Q8Activations xq, float[] out, int n, int gemmRows, Scratch s, ThreadPool pool) {
            int ff = gateUp.rows() / 2;
            float[] both = s.hidden2();
            float[] h = s.hidden();
            gateUp.apply(x, xq, both, n, gemmRows, pool);
            boolean llamaCpp = s.llamaCppArithmetic();
            for (int t = 0; t < n; t++) {
                int o = t * 2 * ff;
                for (int i = 0; i < ff; i++) {
                    h[t * ff + i] = act.apply(both[o + i], llamaCpp) * both[o + ff + i];
                }
            }
            down.apply(h, s.quantized(h, n, ff, gemmRows), out, n, gemmRows, pool);
        }
    }

    /** Two-layer MLP: {@code down(act(up x))}. */
    record Mlp(Linear up, Linear down, Activation act) implements FeedForward {
        @Override
        public int scratchWidth() {
            return up.rows();
        }

        @Override
        public void apply(float[] x, Q8Activations xq, float[] out, int n, int gemmRows, Scratch s, ThreadPool pool) {
            int ff = up.rows();
            float[] h = s.hidden();
            up.apply(x, xq, h, n, gemmRows, pool);
            boolean llamaCpp = s.llamaCppArithmetic();
            for (int i = 0; i < n * ff; i++) {
                h[i] = act.apply(h[i], llamaCpp);
            }
            down.apply(h, s.quantized(h, n, ff, gemmRows), out, n, gemmRows, pool);
        }
    }
}
