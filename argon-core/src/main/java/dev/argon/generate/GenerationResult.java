package dev.argon.generate;

/**
 * The outcome of one generation.
 *
 * @param text generated text (without the prompt and without any stop string)
 * @param promptTokens prompt token ids (including BOS when added)
 * @param generatedTokens generated token ids (including a final EOS if one was produced)
 * @param finishReason why it ended
 * @param prefillSeconds wall time of the prompt forward pass
 * @param decodeSeconds wall time of generating the tokens after the first
 * @param seed the sampler's seed (the one drawn when the request asked for a random seed)
 */
public record GenerationResult(String text, int[] promptTokens, int[] generatedTokens, FinishReason finishReason,
                               double prefillSeconds, double decodeSeconds, long seed) {

    /** @return prompt processing speed in tokens per second (prompt tokens / prefill time) */
    public double prefillTokensPerSecond() {
        return prefillSeconds > 0 ? promptTokens.length / prefillSeconds : 0;
    }

    /**
     * @return generation speed in tokens per second: tokens after the first (whose logits came
     *     from the prefill) divided by the decode time
     */
    public double decodeTokensPerSecond() {
        int decoded = Math.max(0, generatedTokens.length - 1);
        return decodeSeconds > 0 ? decoded / decodeSeconds : 0;
    }
}
