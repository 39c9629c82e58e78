package dev.argon.sampling;

import dev.argon.ArgonException;

/**
 * Sampling settings, with llama.cpp's meanings and defaults ({@code common_params_sampling}).
 *
 * @param temperature softmax temperature, {@code >= 0}; {@code 0} means greedy (argmax of the
 *     penalised logits, ties to the lowest id), and the top-k/top-p/min-p settings are then unused
 * @param topK keep the k most likely tokens, {@code >= 0}; {@code 0} disables
 * @param topP nucleus mass, {@code 0 < topP <= 1}; {@code 1} disables
 * @param minP keep tokens with probability {@code >= minP * p_max}, {@code 0 <= minP <= 1};
 *     {@code 0} disables
 * @param repeatPenalty CTRL repetition penalty, {@code > 0}; {@code 1} disables
 * @param repeatLastN how many of the most recently accepted tokens the penalty looks at,
 *     {@code >= -1}; {@code 0} disables, {@code -1} means every token accepted by the chain (the
 *     whole context when the caller accepts the prompt and every generated token)
 * @param seed random seed; {@link #RANDOM_SEED} ({@code -1}) asks the chain to pick one, which
 *     {@link SamplerChain#seed()} then reports so that the run can be repeated
 */
public record SamplingParams(
        float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN, long seed) {

    /** Seed value meaning "pick a random seed" (llama.cpp's {@code LLAMA_DEFAULT_SEED}). */
    public static final long RANDOM_SEED = -1;

    /** Argmax decoding: temperature 0, no filtering, no penalty. */
    public static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 0);
    }

    /**
     * llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, repeat penalty 1.0
     * (off), repeat-last-n 64, random seed.
     */
    public static SamplingParams defaults() {
        return new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, RANDOM_SEED);
    }

    /**
     * Checks every parameter.
     *
     * @throws ArgonException naming the first bad parameter, its value and the valid range
     */
    public void validate() {
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw bad("temperature", temperature, "a finite number >= 0 (0 = greedy)");
        }
        if (topK < 0) {
            throw bad("topK", topK, ">= 0 (0 = off)");
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw bad("topP", topP, "0 < topP <= 1 (1 = off)");
        }
        if (!(minP >= 0f && minP <= 1f)) {
            throw bad("minP", minP, "0 <= minP <= 1 (0 = off)");
        }
        if (!(repeatPenalty > 0f) || Float.isInfinite(repeatPenalty)) {
            throw bad("repeatPenalty", repeatPenalty, "a finite number > 0 (1 = off)");
        }
        if (repeatLastN < -1) {
            throw bad("repeatLastN", repeatLastN, ">= -1 (0 = off, -1 = all accepted tokens)");
        }
    }

    private static ArgonException bad(String name, Object value, String range) {
        return new ArgonException("Invalid sampling parameter " + name + " = " + value + ": must be " + range);
    }
}
