package dev.argon.model;

import dev.argon.tensor.Ops;

/**
 * A normalisation of activation rows with learned weights, as the GGUF tensors
 * {@code <name>.weight} (and {@code <name>.bias}) hold them. Output may alias input.
 */
public sealed interface Norm permits Norm.Rms, Norm.Layer {
    /** @return the row width (the weight's length) */
    int width();

    /** Normalises one row {@code x[xo .. xo+width)} into {@code out[oo ..]}. */
    void apply(float[] out, int oo, float[] x, int xo);

    /** Normalises {@code rows} consecutive rows of {@link #width()} values. */
    default void rows(float[] out, float[] x, int rows) {
        int w = width();
        for (int t = 0; t < rows; t++) {
            apply(out, t * w, x, t * w);
        }
    }

    /**
     * RMSNorm (Zhang and Sennrich, 2019): {@code x / sqrt(mean(x^2) + eps) * weight}. Gemma's
     * {@code (1 + weight)} convention needs nothing here: llama.cpp's converter already adds the 1
     * to Gemma's norm weights in the GGUF file ({@code convert_hf_to_gguf.py}, Gemma2Model/Gemma3Model).
     */
    record Rms(float[] weight, float eps) implements Norm {
        @Override
        public int width() {
            return weight.length;
        }

        @Override
        public void apply(float[] out, int oo, float[] x, int xo) {
            Ops.rmsNorm(out, oo, x, xo, weight, weight.length, eps);
        }
    }

    /**
     * LayerNorm (Ba et al., 2016): {@code (x - mean) / sqrt(var + eps) * weight + bias}, computed
     * as ggml's {@code ggml_norm} (variance summed in double) followed by the weight and bias.
     */
    record Layer(float[] weight, float[] bias, float eps) implements Norm {
        @Override
        public int width() {
            return weight.length;
        }

        @Override
        public void apply(float[] out, int oo, float[] x, int xo) {
            int n = weight.length;
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += x[xo + i];
            }
            float mean = (float) (sum / n);
            double var = 0;
            for (int i = 0; i < n; i++) {
                float d = x[xo + i] - mean;
                out[oo + i] = d;
                var += d * d;
            }
            float scale = (float) (1.0 / Math.sqrt((float) (var / n) + eps));
            for (int i = 0; i < n; i++) {
                out[oo + i] = out[oo + i] * scale * weight[i] + bias[i];
            }
        }
    }
}
