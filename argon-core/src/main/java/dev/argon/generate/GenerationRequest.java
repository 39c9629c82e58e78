package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.sampling.SamplingParams;

import java.util.List;

/**
 * What to generate.
 *
 * @param prompt the prompt text
 * @param maxTokens tokens to generate at most; -1 = until the context is full
 * @param sampling sampler settings
 * @param stop stop strings (not included in the output)
 * @param addSpecial add BOS/EOS as the model's metadata says
 * @param parseSpecial parse control tokens written in the prompt (like {@code <s>})
 */
public record GenerationRequest(String prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                                boolean addSpecial, boolean parseSpecial) {

    /** A plain request: BOS as the model says, special tokens not parsed, no stop strings. */
    public static GenerationRequest of(String prompt, int maxTokens, SamplingParams sampling) {
        return new GenerationRequest(prompt, maxTokens, sampling, List.of(), true, false);
    }

    /** @throws ArgonException if a parameter is out of range */
    public void validate() {
        if (maxTokens < -1) {
            throw new ArgonException("number of tokens to generate (-n) is " + maxTokens + "; expected -1 (until the context is full) or a number >= 0");
        }
        sampling.validate();
    }
}
