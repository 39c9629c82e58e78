package dev.argon.sampling;

import dev.argon.ArgonException;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Sampling settings, with llama.cpp's meanings and defaults ({@code common_params_sampling}), plus
 * the OpenAI API's {@code presence_penalty}, {@code frequency_penalty} and {@code logit_bias}
 * (OpenAI API reference, "Create chat completion").
 *
 * @param temperature softmax temperature, {@code >= 0}; {@code 0} means greedy (argmax of the
 *     biased and penalised logits, ties to the lowest id), and the top-k/top-p/min-p settings are
 *     then unused
 * @param topK keep the k most likely tokens, {@code >= 0}; {@code 0} disables
 * @param topP nucleus mass, {@code 0 <= topP <= 1}; {@code 1} disables, {@code 0} keeps only the most
 *     likely token
 * @param minP keep tokens with probability {@code >= minP * p_max}, {@code 0 <= minP <= 1};
 *     {@code 0} disables
 * @param repeatPenalty CTRL repetition penalty, {@code > 0}; {@code 1} disables
 * @param repeatLastN how many of the most recently accepted tokens the penalties (repetition,
 *     presence and frequency) look at, {@code >= -1}; {@code 0} disables all three, {@code -1}
 *     means every token accepted by the chain (the whole context when the caller accepts the
 *     prompt and every generated token)
 * @param seed random seed; {@link #RANDOM_SEED} ({@code -1}) asks the chain to pick a non-negative one, which
 *     {@link SamplerChain#seed()} then reports so that the run can be repeated
 * @param presencePenalty OpenAI presence penalty, in logits, {@code -2 <= x <= 2}; subtracted once
 *     from the logit of every token that occurs in the look-back window; {@code 0} disables
 * @param frequencyPenalty OpenAI frequency penalty, in logits per occurrence,
 *     {@code -2 <= x <= 2}; a token occurring {@code c} times in the look-back window has
 *     {@code c * frequencyPenalty} subtracted from its logit; {@code 0} disables
 * @param logitBias OpenAI logit bias: token id to a value in {@code [-100, 100]} added to that
 *     token's logit before any other step ({@code -100} effectively bans the token, {@code 100}
 *     effectively forces it); ids must lie in the vocabulary, which {@link SamplerChain#create}
 *     checks. Copied into an immutable map ordered by token id; {@code null} means none. Keys and
 *     values must not be null.
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repeatPenalty,
        int repeatLastN,
        long seed,
        float presencePenalty,
        float frequencyPenalty,
        Map<Integer, Float> logitBias) {

    /** Seed value meaning "pick a random seed" (llama.cpp's {@code LLAMA_DEFAULT_SEED}). */
    public static final long RANDOM_SEED = -1;

    /** Largest magnitude of a presence or frequency penalty (OpenAI API: -2.0 to 2.0). */
    private static final float MAX_OPENAI_PENALTY = 2f;

    /** Largest magnitude of a logit bias value (OpenAI API: -100 to 100). */
    private static final float MAX_LOGIT_BIAS = 100f;

    /**
     * Copies {@code logitBias} (null: empty).
     *
     * @throws NullPointerException if {@code logitBias} has a null key or value
     */
    public SamplingParams {
        if (logitBias == null || logitBias.isEmpty()) {
            logitBias = Map.of();
        } else {
            TreeMap<Integer, Float> copy = new TreeMap<>();
            for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new NullPointerException("logitBias entry " + e.getKey() + " = " + e.getValue());
                }
                copy.put(e.getKey(), e.getValue());
            }
            logitBias = Collections.unmodifiableMap(copy);
        }
    }

    /**
     * The llama.cpp-only settings of earlier versions: no presence or frequency penalty, no logit
     * bias.
     */
    public SamplingParams(
            float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN, long seed) {
        this(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, 0f, 0f, Map.of());
    }

    /** Argmax decoding: temperature 0, no filtering, no penalty. */
    public static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 0);
    }

    /**
     * llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, repeat penalty 1.0
     * (off), repeat-last-n 64, random seed; no presence/frequency penalty, no logit bias.
     */
    public static SamplingParams defaults() {
        return new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, RANDOM_SEED);
    }

    /** A copy with the given OpenAI presence and frequency penalties (not validated here). */
    public SamplingParams withPenalties(float presence, float frequency) {
        return new SamplingParams(
                temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, presence, frequency, logitBias);
    }

    /** A copy with the given OpenAI logit bias (token id to bias; null: none; not validated here). */
    public SamplingParams withLogitBias(Map<Integer, Float> bias) {
        return new SamplingParams(
                temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, presencePenalty, frequencyPenalty,
                bias);
    }

    /**
     * Checks every parameter. Logit-bias token ids are checked only for sign here; the upper bound
     * (the vocabulary size) is checked by {@link SamplerChain#create}.
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
        if (!(topP >= 0f && topP <= 1f)) {
            throw bad("topP", topP, "0 <= topP <= 1 (1 = off, 0 = most likely token only)");
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
        if (!(Math.abs(presencePenalty) <= MAX_OPENAI_PENALTY)) {
            throw bad("presencePenalty", presencePenalty, "a finite number in [-2, 2] (0 = off)");
        }
        if (!(Math.abs(frequencyPenalty) <= MAX_OPENAI_PENALTY)) {
            throw bad("frequencyPenalty", frequencyPenalty, "a finite number in [-2, 2] (0 = off)");
        }
        for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
            int token = e.getKey();
            if (token < 0) {
                throw bad("logitBias token id", token, "a token id >= 0");
            }
            if (!(Math.abs(e.getValue()) <= MAX_LOGIT_BIAS)) {
                throw bad("logitBias[" + token + "]", e.getValue(), "a finite number in [-100, 100]");
            }
        }
    }

    /** Checks that every logit-bias token id lies in {@code [0, vocabSize)}. */
    void validateVocabulary(int vocabSize) {
        for (int token : logitBias.keySet()) {
            if (token < 0 || token >= vocabSize) {
                throw bad("logitBias token id", token,
                        "a token id in [0, " + vocabSize + ") (vocabulary size " + vocabSize + ")");
            }
        }
    }

    private static ArgonException bad(String name, Object value, String range) {
        return new ArgonException("Invalid sampling parameter " + name + " = " + value + ": must be " + range);
    }
}
