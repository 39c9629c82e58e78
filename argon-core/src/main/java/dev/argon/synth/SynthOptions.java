package dev.argon.synth;

import dev.argon.ArgonException;

import java.util.Locale;

/**
 * What {@code argon synth} writes besides the shape and weight type: the architecture, the spread
 * of the random values, and optional attention and RoPE settings in the metadata.
 *
 * <p>Random weights with the default spread give flat next-token distributions. For differential
 * tests a larger {@code weightStd} makes attention scores matter, a larger {@code outputStd} makes
 * the model confident (so greedy paths are meaningful), and {@code normStd} varies the norm weights
 * around 1 and the biases around 0, so that a norm or bias applied in the wrong place shows.
 *
 * @param arch the architecture
 * @param weightStd standard deviation of the weight matrices
 * @param outputStd standard deviation of the output projection (the token embedding when tied)
 * @param normStd standard deviation of norm weights around 1 and of biases around 0 (0: ones and zeros)
 * @param slidingWindow {@code <arch>.attention.sliding_window}: -1 for the architecture's default
 *     (mistral 4096, gemma2 4096, gemma3 512, none for the others), 0 for none
 * @param ropeScaling {@code rope.scaling.type}: {@code none} (nothing written), {@code linear}, {@code yarn}, or
 *     {@code longrope} (phi3 only: {@code rope_factors_long/short.weight} tensors and
 *     {@code rope.scaling.attn_factor}, as the converter writes Phi-3 128k)
 * @param ropeFactor {@code rope.scaling.factor}: context length over the original one
 * @param ropeFreqs whether to write a {@code rope_freqs.weight} tensor of frequency factors (Llama 3.1 style; llama/mistral only)
 * @param pooling {@code bert.pooling_type} of a bert file: {@code mean} (all-MiniLM, e5) or {@code cls} (bge)
 */
public record SynthOptions(SynthArch arch, float weightStd, float outputStd, float normStd, int slidingWindow,
                           String ropeScaling, float ropeFactor, boolean ropeFreqs, String pooling) {

    /** @return llama, {@link ModelSynthesizer#WEIGHT_STD} everywhere, norms 1, no extras (the original {@code argon synth}) */
    public static SynthOptions defaults() {
        return of(SynthArch.LLAMA);
    }

    /** @return the defaults for another architecture */
    public static SynthOptions of(SynthArch arch) {
        return new SynthOptions(arch, ModelSynthesizer.WEIGHT_STD, ModelSynthesizer.WEIGHT_STD, 0f, -1, "none", 1f, false, "mean");
    }

    /** @return these options with other standard deviations */
    public SynthOptions withStd(float weights, float output, float norms) {
        return new SynthOptions(arch, weights, output, norms, slidingWindow, ropeScaling, ropeFactor, ropeFreqs, pooling);
    }

    /** @return these options with a sliding window (-1: the architecture's default, 0: none) */
    public SynthOptions withSlidingWindow(int window) {
        return new SynthOptions(arch, weightStd, outputStd, normStd, window, ropeScaling, ropeFactor, ropeFreqs, pooling);
    }

    /** @return these options with RoPE scaling {@code type} ({@code none}, {@code linear}, {@code yarn}, {@code longrope}) by {@code factor} */
    public SynthOptions withRopeScaling(String type, float factor) {
        return new SynthOptions(arch, weightStd, outputStd, normStd, slidingWindow, type.toLowerCase(Locale.ROOT), factor, ropeFreqs, pooling);
    }

    /** @return these options with or without a {@code rope_freqs.weight} tensor */
    public SynthOptions withRopeFreqs(boolean on) {
        return new SynthOptions(arch, weightStd, outputStd, normStd, slidingWindow, ropeScaling, ropeFactor, on, pooling);
    }

    /** @return these options with another {@code bert.pooling_type}: {@code mean} or {@code cls} */
    public SynthOptions withPooling(String p) {
        return new SynthOptions(arch, weightStd, outputStd, normStd, slidingWindow, ropeScaling, ropeFactor, ropeFreqs,
                p.toLowerCase(Locale.ROOT));
    }

    /** @return the sliding window written to the metadata, or 0 for none */
    public int effectiveSlidingWindow() {
        return slidingWindow >= 0 ? slidingWindow : arch.defaultSlidingWindow();
    }

    /**
     * Checks the options.
     *
     * @return these options
     * @throws ArgonException naming the flag of the first invalid value
     */
    public SynthOptions validate() {
        if (!(weightStd > 0) || !(outputStd > 0) || !(normStd >= 0) || !Float.isFinite(weightStd + outputStd + normStd)) {
            throw new ArgonException("--weight-std and --output-std must be positive and --norm-std non-negative, got "
                    + weightStd + ", " + outputStd + ", " + normStd);
        }
        if (!java.util.List.of("none", "linear", "yarn", "longrope").contains(ropeScaling)) {
            throw new ArgonException("unknown --rope-scaling '" + ropeScaling + "'; valid: none, linear, yarn, longrope");
        }
        if (ropeScaling.equals("longrope") && arch != SynthArch.PHI3) {
            throw new ArgonException("--rope-scaling longrope (LongRoPE factor tensors) is written for phi3 only, not " + arch.cliName());
        }
        if (!ropeScaling.equals("none") && !(ropeFactor >= 1 && Float.isFinite(ropeFactor))) {
            throw new ArgonException("--rope-factor must be at least 1, got " + ropeFactor);
        }
        if (ropeFreqs && !arch.ggufName().equals("llama")) {
            throw new ArgonException("--rope-freqs (a rope_freqs.weight tensor) is read by llama.cpp for the llama architecture only, not "
                    + arch.cliName());
        }
        if (arch == SynthArch.GPT2 && !ropeScaling.equals("none")) {
            throw new ArgonException("gpt2 has no RoPE, so --rope-scaling does not apply");
        }
        if (!pooling.equals("mean") && !pooling.equals("cls")) {
            throw new ArgonException("unknown --pooling '" + pooling + "'; valid: mean, cls");
        }
        if (!pooling.equals("mean") && !arch.encoder()) {
            throw new ArgonException("--pooling applies to bert, not " + arch.cliName());
        }
        if (arch.encoder() && (!ropeScaling.equals("none") || ropeFreqs)) {
            throw new ArgonException("bert has learned positions, no RoPE, so --rope-scaling and --rope-freqs do not apply");
        }
        if (slidingWindow > 0 && !arch.hasSlidingWindow()) {
            throw new ArgonException("--sliding-window applies to " + SynthArch.slidingWindowNames() + ", not " + arch.cliName());
        }
        return this;
    }
}
