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
 * @param cachedPromptTokens prompt tokens reused from a cached prefix (a {@link BatchScheduler}
 *     slot's KV cache) instead of computed; 0 when nothing was reused
 */
public record GenerationResult(String text, int[] promptTokens, int[] generatedTokens, FinishReason finishReason,
                               double prefillSeconds, double decodeSeconds, long seed, int cachedPromptTokens) {

    /** A result with no prompt tokens reused from a cache ({@code cachedPromptTokens} 0). */
    public GenerationResult(String text, int[] promptTokens, int[] generatedTokens, FinishReason finishReason,
                            double prefillSeconds, double decodeSeconds, long seed) {
        this(text, promptTokens, generatedTokens, finishReason, prefillSeconds, decodeSeconds, seed, 0);
    }

    /** @return a copy reporting {@code cached} prompt tokens reused from a cached prefix */
    public GenerationResult withCachedPromptTokens(int cached) {
        return new GenerationResult(text, promptTokens, generatedTokens, finishReason, prefillSeconds, decodeSeconds, seed, cached);
    }

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
