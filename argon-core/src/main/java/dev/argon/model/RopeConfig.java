package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;

import java.util.Locale;

/**
 * How an architecture applies rotary position embedding (Su et al., 2021), as llama.cpp reads it
 * from GGUF metadata ({@code src/llama-model.cpp}, {@code ggml_rope_ext}):
 * <ul>
 *   <li>{@link Style}: which dimensions form a rotated pair, fixed per architecture in llama.cpp's
 *       {@code llama_model_rope_type} ({@code llama}: NORMAL; {@code qwen2}, {@code qwen3},
 *       {@code phi3}, {@code gemma2}, {@code gemma3}: NEOX);</li>
 *   <li>{@code <arch>.rope.freq_base}, {@code <arch>.rope.dimension_count};</li>
 *   <li>{@code <arch>.rope.scaling.type} ({@code none}, {@code linear} (the default), {@code yarn},
 *       {@code longrope}) with {@code rope.scaling.factor} (or the older {@code rope.scale_linear}):
 *       positions are multiplied by {@code 1/factor} (Chen et al., 2023, position interpolation);</li>
 *   <li>YaRN (Peng et al., 2023): per-dimension blend of interpolated and extrapolated angles
 *       between the correction dimensions of {@code beta_fast = 32} and {@code beta_slow = 1} over
 *       {@code rope.scaling.original_context_length}, cos/sin scaled by {@code 1 + 0.1 ln(factor)};</li>
 *   <li>frequency factors: the {@code rope_freqs.weight} tensor (Llama 3.1 style, written by the
 *       converter from {@code rope_scaling.rope_type = llama3}) or else LongRoPE's (Phi-3 128k)
 *       {@code rope_factors_long.weight} when the context is longer than
 *       {@code rope.scaling.original_context_length} and {@code rope_factors_short.weight}
 *       otherwise: the angle of pair {@code i} is divided by factor {@code i};</li>
 *   <li>{@code rope.scaling.attn_factor} multiplies cos and sin.</li>
 * </ul>
 *
 * @param style pairing of rotated dimensions
 * @param dims rotated dimensions per head (even)
 * @param base frequency base theta
 * @param freqScale position multiplier ({@code 1 / rope.scaling.factor}, 1 if none)
 * @param attnFactor multiplier of cos and sin
 * @param yarn YaRN parameters, or null when YaRN is off
 * @param freqFactors per-pair divisors of the frequency ({@code [dims/2]}), or null
 * @param longFactors LongRoPE factors used when the context exceeds {@code origContext}, or null
 * @param origContext the training context the scaling refers to
 */
public record RopeConfig(Style style, int dims, float base, float freqScale, float attnFactor, Yarn yarn,
                         float[] freqFactors, float[] longFactors, int origContext) {

    /** Which dimensions of a head are rotated together (ggml's rope modes). */
    public enum Style {
        /** GGML_ROPE_TYPE_NORMAL: adjacent pairs {@code (2i, 2i+1)} (Meta's Llama layout). */
        NORMAL,
        /** GGML_ROPE_TYPE_NEOX: halves {@code (i, i + dims/2)} (GPT-NeoX / Hugging Face layout). */
        NEOX
    }

    /**
     * YaRN's blend (ggml's {@code rope_yarn}).
     *
     * @param extFactor weight of the extrapolated angle in the ramp (1 for YaRN)
     * @param betaFast rotations at which the ramp starts
     * @param betaSlow rotations at which the ramp ends
     */
    public record Yarn(float extFactor, float betaFast, float betaSlow) {
    }

    /** Plain RoPE with base {@code theta} over {@code dims} dimensions, no scaling. */
    public static RopeConfig plain(Style style, int dims, float theta) {
        return new RopeConfig(style, dims, theta, 1f, 1f, null, null, null, 0);
    }

    /**
     * Reads the RoPE settings of architecture {@code arch} as llama.cpp does.
     *
     * @param weights for the optional {@code rope_freqs.weight} / {@code rope_factors_*.weight} tensors
     * @throws ArgonException naming the key if the scaling type is unknown or the factor invalid
     */
    public static RopeConfig fromGguf(GgufFile f, WeightLoader weights, ModelConfig c, Style style) {
        String a = c.architecture() + ".rope.";
        String type = f.has(a + "scaling.type") ? f.getString(a + "scaling.type").toLowerCase(Locale.ROOT) : "linear";
        float factor = f.has(a + "scaling.factor") ? f.getFloat(a + "scaling.factor") : f.getFloat(a + "scale_linear", 0f);
        if (factor < 0 || !Float.isFinite(factor)) {
            throw new ArgonException(f.path() + ": metadata '" + a + "scaling.factor' = " + factor + ", expected a positive number");
        }
        float freqScale = factor == 0f ? 1f : 1f / factor;
        float attnFactor = f.getFloat(a + "scaling.attn_factor", 1f);
        int origContext = f.getInt(a + "scaling.original_context_length", c.contextLength());
        Yarn yarn = null;
        switch (type) {
            case "none" -> freqScale = 1f;
            case "linear", "longrope" -> { }
            case "yarn" -> yarn = new Yarn(1f, 32f, 1f);
            default -> throw new ArgonException(f.path() + ": metadata '" + a + "scaling.type' = '" + type
                    + "' is not supported (supported: none, linear, yarn, longrope)");
        }
        // llama.cpp's get_rope_factors: rope_freqs if present, else LongRoPE's long or short factors
        int n = c.ropeDim() / 2;
        float[] factors = null;
        float[] longFactors = null;
        if (weights.has("rope_freqs.weight")) {
            factors = weights.vector("rope_freqs.weight", n);
        } else {
            factors = weights.has("rope_factors_short.weight") ? weights.vector("rope_factors_short.weight", n) : null;
            longFactors = weights.has("rope_factors_long.weight") ? weights.vector("rope_factors_long.weight", n) : null;
        }
        return new RopeConfig(style, c.ropeDim(), c.ropeTheta(), freqScale, attnFactor, yarn, factors, longFactors, origContext);
    }

    /** @return this configuration with another base and position scale (local layers of Gemma) */
    public RopeConfig withBase(float newBase, float newFreqScale) {
        return new RopeConfig(style, dims, newBase, newFreqScale, attnFactor, yarn, freqFactors, longFactors, origContext);
    }

    /**
     * The cos/sin multiplier and angles of pair {@code i} at position {@code pos} for a context of
     * {@code contextLength} tokens, as ggml's {@code ggml_rope_cache_init} computes them (in double).
     *
     * @param out receives {@code cos, sin}
     */
    void angle(int pos, int i, int contextLength, double[] out) {
        float[] ff = longFactors != null && contextLength > origContext ? longFactors : freqFactors;
        double thetaExtrap = pos * Math.pow(base, -2.0 * i / dims) / (ff != null ? ff[i] : 1.0);
        double thetaInterp = freqScale * thetaExtrap;
        double theta = thetaInterp;
        double mscale = attnFactor;
        if (yarn != null && yarn.extFactor() != 0f) {
            double low = Math.max(0, Math.floor(corrDim(yarn.betaFast())));
            double high = Math.min(dims - 1, Math.ceil(corrDim(yarn.betaSlow())));
            double y = (i - low) / Math.max(0.001, high - low);
            double rampMix = (1 - Math.min(1, Math.max(0, y))) * yarn.extFactor();
            theta = thetaInterp * (1 - rampMix) + thetaExtrap * rampMix;
            // llama.cpp sets its YaRN attention factor to mscale(factor) / (1 + 0.1 ln factor) = 1
            // (llama-context.cpp), so only ggml's own correction remains: 1 + 0.1 ln(1/freqScale)
            mscale *= 1.0 + 0.1 * Math.log(1.0 / freqScale);
        }
        out[0] = Math.cos(theta) * mscale;
        out[1] = Math.sin(theta) * mscale;
    }

    /** YaRN's correction dimension for {@code rotations} full turns over the original context (ggml). */
    private double corrDim(float rotations) {
        return dims * Math.log(origContext / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }
}
