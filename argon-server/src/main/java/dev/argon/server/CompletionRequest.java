package dev.argon.server;

import dev.argon.generate.GenerationRequest;
import dev.argon.sampling.SamplingParams;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} request, ready for an
 * {@link Engine}.
 *
 * @param chat whether it came to the chat route
 * @param stream whether the answer is streamed as Server-Sent Events
 * @param includeUsage whether a streamed answer ends with a usage chunk ({@code stream_options.include_usage})
 * @param generation what to generate (prompt text, limits, sampling, stop strings)
 * @param promptIds the tokenized prompt, shorter than the engine's context
 * @param n how many choices (independent generations from the same prompt) to return
 * @param tools the request's tool calling, or null when it offers no tools
 */
record CompletionRequest(boolean chat, boolean stream, boolean includeUsage, GenerationRequest generation, int[] promptIds,
                         int n, ToolCalls tools) {
    /**
     * @return the generation of choice {@code i}: with a fixed seed, choice {@code i} samples with
     *     {@code seed + i}, so the choices differ but the whole answer repeats
     */
    GenerationRequest choice(int i) {
        SamplingParams p = generation.sampling();
        if (i == 0 || p.seed() == SamplingParams.RANDOM_SEED) {
            return generation;
        }
        long seed = p.seed() + i == SamplingParams.RANDOM_SEED ? p.seed() + i + 1 : p.seed() + i;
        SamplingParams q = new SamplingParams(p.temperature(), p.topK(), p.topP(), p.minP(), p.repeatPenalty(), p.repeatLastN(),
                seed, p.presencePenalty(), p.frequencyPenalty(), p.logitBias());
        GenerationRequest g = generation;
        return g.withSampling(q);
    }
}
