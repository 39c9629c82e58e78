package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.sampling.Logprobs;
import dev.argon.sampling.SamplerChain;
import dev.argon.sampling.SamplerStep;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;

import java.util.List;

/**
 * What to generate.
 *
 * @param prompt the prompt text, and where control-token text in it becomes control tokens
 *     ({@link PromptText}: nowhere, everywhere, or everywhere but in literal ranges such as the
 *     content of chat messages)
 * @param maxTokens tokens to generate at most; -1 = until the context is full
 * @param sampling sampler settings
 * @param stop stop strings (not included in the output)
 * @param addSpecial add BOS/EOS as the model's metadata says
 * @param logprobs -1 for no log-probabilities; {@code 0..20}: report each generated token's
 *     log-probability and that many most likely alternatives (OpenAI's {@code top_logprobs})
 * @param steps the caller's own sampler steps (a watermark, a library user's logit processor),
 *     inserted into the sampling chain as {@link SamplerChain#create(SamplingParams, int, List)}
 *     says; these are prototypes, each sequence runs its own {@link SamplerStep#copy() copies};
 *     null means none
 * @param guidance classifier-free guidance, or null for none
 * @param constraint restricts the tokens generated (a grammar, a JSON schema), or null for none
 * @param speculation speculative decoding settings ({@link SpeculationParams#NONE} when null);
 *     output is the same with and without, only faster or slower
 * @param backtracking banned strings and a backspace token ({@link Backtracking#NONE} when null)
 */
public record GenerationRequest(PromptText prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                                boolean addSpecial, int logprobs, List<SamplerStep> steps, Guidance guidance,
                                TokenConstraint.Factory constraint, SpeculationParams speculation,
                                Backtracking backtracking) {

    /** Copies {@code steps} (null: none). */
    public GenerationRequest {
        steps = steps == null ? List.of() : List.copyOf(steps);
        speculation = speculation == null ? SpeculationParams.NONE : speculation;
        backtracking = backtracking == null ? Backtracking.NONE : backtracking;
    }

    /** A request without backtracking. */
    public GenerationRequest(PromptText prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                             boolean addSpecial, int logprobs, List<SamplerStep> steps, Guidance guidance,
                             TokenConstraint.Factory constraint, SpeculationParams speculation) {
        this(prompt, maxTokens, sampling, stop, addSpecial, logprobs, steps, guidance, constraint, speculation, null);
    }

    /** A request without speculative decoding. */
    public GenerationRequest(PromptText prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                             boolean addSpecial, int logprobs, List<SamplerStep> steps, Guidance guidance,
                             TokenConstraint.Factory constraint) {
        this(prompt, maxTokens, sampling, stop, addSpecial, logprobs, steps, guidance, constraint, null);
    }

    /** A request without extra sampler steps, guidance or constraint. */
    public GenerationRequest(PromptText prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                             boolean addSpecial, int logprobs) {
        this(prompt, maxTokens, sampling, stop, addSpecial, logprobs, List.of(), null, null);
    }

    /** A request with a constraint on the tokens generated (null: none). */
    public GenerationRequest(PromptText prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                             boolean addSpecial, int logprobs, TokenConstraint.Factory constraint) {
        this(prompt, maxTokens, sampling, stop, addSpecial, logprobs, List.of(), null, constraint);
    }

    /** A request with extra sampler steps and guidance (either may be null). */
    public GenerationRequest(PromptText prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                             boolean addSpecial, int logprobs, List<SamplerStep> steps, Guidance guidance) {
        this(prompt, maxTokens, sampling, stop, addSpecial, logprobs, steps, guidance, null);
    }

    /**
     * A request for a text prompt.
     *
     * @param parseSpecial parse control tokens written anywhere in the prompt (like {@code <s>})
     * @param logprobs see the record's parameter
     */
    public GenerationRequest(String prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                             boolean addSpecial, boolean parseSpecial, int logprobs) {
        this(new PromptText(prompt, parseSpecial, null), maxTokens, sampling, stop, addSpecial, logprobs);
    }

    /** A request for a text prompt without log-probabilities. */
    public GenerationRequest(String prompt, int maxTokens, SamplingParams sampling, List<String> stop,
                             boolean addSpecial, boolean parseSpecial) {
        this(prompt, maxTokens, sampling, stop, addSpecial, parseSpecial, -1);
    }

    /** @return this request with classifier-free guidance (null: none) */
    public GenerationRequest withGuidance(Guidance g) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, addSpecial, logprobs, steps, g, constraint, speculation, backtracking);
    }

    /** @return whether classifier-free guidance is on and changes anything */
    public boolean guided() {
        return guidance != null && guidance.active();
    }

    /** @return this request with {@code extra} sampler steps appended to its own */
    public GenerationRequest withSteps(List<? extends SamplerStep> extra) {
        List<SamplerStep> all = new java.util.ArrayList<>(steps);
        all.addAll(extra);
        return new GenerationRequest(prompt, maxTokens, sampling, stop, addSpecial, logprobs, all, guidance, constraint, speculation, backtracking);
    }

    /** @return this request with other sampling settings (its extra steps kept) */
    public GenerationRequest withSampling(SamplingParams other) {
        return new GenerationRequest(prompt, maxTokens, other, stop, addSpecial, logprobs, steps, guidance, constraint, speculation, backtracking);
    }

    /** @return fresh copies of {@link #steps()} for one sequence's chain */
    public List<SamplerStep> stepCopies() {
        List<SamplerStep> copies = new java.util.ArrayList<>(steps.size());
        for (SamplerStep s : steps) {
            copies.add(s.copy());
        }
        return copies;
    }

    /** @return this request with log-probabilities of each token and {@code top} alternatives (-1: none) */
    public GenerationRequest withLogprobs(int top) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, addSpecial, top, steps, guidance, constraint, speculation, backtracking);
    }

    /** @return this request with its generated tokens restricted by {@code c} (null: unrestricted) */
    public GenerationRequest withConstraint(TokenConstraint.Factory c) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, addSpecial, logprobs, steps, guidance, c, speculation, backtracking);
    }

    /** @return this request with speculative decoding settings (null: none) */
    public GenerationRequest withSpeculation(SpeculationParams s) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, addSpecial, logprobs, steps, guidance, constraint, s, backtracking);
    }

    /** @return this request with banned strings and a backspace token (null: none) */
    public GenerationRequest withBacktracking(Backtracking b) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, addSpecial, logprobs, steps, guidance, constraint, speculation, b);
    }

    /** A plain request: BOS as the model says, special tokens not parsed, no stop strings. */
    public static GenerationRequest of(String prompt, int maxTokens, SamplingParams sampling) {
        return new GenerationRequest(prompt, maxTokens, sampling, List.of(), true, false);
    }

    /** @throws ArgonException if a parameter is out of range */
    public void validate() {
        if (maxTokens < -1) {
            throw new ArgonException("number of tokens to generate (-n) is " + maxTokens + "; expected -1 (until the context is full) or a number >= 0");
        }
        if (logprobs < -1 || logprobs > Logprobs.MAX_TOP) {
            throw new ArgonException("top log-probabilities is " + logprobs + "; expected 0.." + Logprobs.MAX_TOP + " (or -1 for none)");
        }
        sampling.validate();
        speculation.validate();
    }
}
