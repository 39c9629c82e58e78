package dev.argon.sampling;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the next token from a logits vector by running a chain of steps, in the order of
 * llama.cpp's default sampler chain: logit bias, penalties (repetition, then OpenAI frequency and
 * presence, over one shared look-back window), top-k, top-p, min-p, temperature, then a seeded
 * random draw. With temperature 0 the chain is logit bias, penalties, then argmax.
 *
 * <p>Steps that would not change anything (no logit bias, top-k 0, top-p 1, min-p 0, temperature
 * 1, repetition penalty 1 with presence and frequency penalties 0, or look-back 0) are left out.
 * All vocabulary-sized buffers are allocated once, here; no step sorts the whole vocabulary. Not
 * thread-safe: one chain per generation.
 *
 * <p>The chain is open: {@link #create(SamplingParams, int, List)} inserts the caller's
 * {@link SamplerStep}s into the default chain, {@link #of} builds one from the caller's steps
 * alone, and {@link #copy}/{@link #reset} follow each step's lifecycle.
 */
public final class SamplerChain {
    private final int vocabSize;
    private final long seed;
    private final Candidates candidates;
    /** Every step, the last one choosing the token. */
    private final SamplerStep[] steps;
    /** {@link #lastDraw}'s weights, allocated on first use. */
    private float[] weights;

    private SamplerChain(int vocabSize, long seed, SamplerStep[] steps) {
        this.vocabSize = vocabSize;
        this.seed = seed;
        this.candidates = new Candidates(vocabSize);
        this.steps = steps;
    }

    /**
     * Builds the chain for {@code p} (validated first) and a vocabulary of {@code vocabSize}
     * tokens. A seed of {@link SamplingParams#RANDOM_SEED} is replaced by a random one.
     *
     * @throws dev.argon.ArgonException if a parameter is out of range, or a logit-bias token id
     *     lies outside {@code [0, vocabSize)} (the message names the id and the vocabulary size)
     * @throws IllegalArgumentException if {@code vocabSize <= 0}
     */
    public static SamplerChain create(SamplingParams p, int vocabSize) {
        return create(p, vocabSize, List.of());
    }

    /**
     * Builds the chain for {@code p} with the caller's logit processors (watermark, guidance, a
     * library user's own step) inserted after logit bias and penalties and before any truncation
     * (top-k, top-p, min-p), temperature and the final choice, so they act on the full
     * vocabulary. The steps are used as given (pass {@link SamplerStep#copy() copies} of shared
     * prototypes); with none, the chain is exactly {@link #create(SamplingParams, int)}'s.
     *
     * @param processors steps that rewrite logits or filter candidates; none may be the final choice
     * @throws dev.argon.ArgonException if a parameter is out of range (see {@link #create(SamplingParams, int)})
     */
    public static SamplerChain create(SamplingParams p, int vocabSize, List<? extends SamplerStep> processors) {
        p.validate();
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize " + vocabSize);
        }
        p.validateVocabulary(vocabSize);
        long seed = p.seed();
        if (seed == SamplingParams.RANDOM_SEED) {
            // non-negative: the reported seed can be given back as --seed / "seed" and is never -1 ("random")
            seed = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
        }
        List<SamplerStep> steps = new ArrayList<>();
        if (!p.logitBias().isEmpty()) {
            steps.add(new LogitBias(p.logitBias()));
        }
        if (Penalties.active(p.repeatPenalty(), p.frequencyPenalty(), p.presencePenalty(), p.repeatLastN())) {
            steps.add(new Penalties(
                    p.repeatPenalty(), p.frequencyPenalty(), p.presencePenalty(), p.repeatLastN(), vocabSize));
        }
        steps.addAll(processors);
        if (p.temperature() <= 0f) {
            steps.add(new Greedy());
            return new SamplerChain(vocabSize, seed, steps.toArray(SamplerStep[]::new));
        }
        if (p.topK() > 0) {
            steps.add(new TopK(p.topK()));
        }
        if (p.topP() < 1f) {
            steps.add(new TopP(p.topP(), p.minP(), vocabSize));
        }
        if (p.minP() > 0f) {
            steps.add(new MinP(p.minP()));
        }
        if (p.temperature() != 1f) {
            steps.add(new Temperature(p.temperature()));
        }
        steps.add(new Distribution(seed, vocabSize));
        return new SamplerChain(vocabSize, seed, steps.toArray(SamplerStep[]::new));
    }

    /**
     * A chain of the caller's own steps, run in order; the last one must
     * {@link Candidates#select} a candidate (for example {@link SamplerStep#greedy()} or
     * {@link SamplerStep#distribution}).
     *
     * @param seed the seed to report from {@link #seed()} (the steps hold their own)
     * @throws IllegalArgumentException if {@code vocabSize <= 0} or there is no step
     */
    public static SamplerChain of(int vocabSize, long seed, List<? extends SamplerStep> steps) {
        if (vocabSize <= 0 || steps.isEmpty()) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + ", " + steps.size() + " steps");
        }
        return new SamplerChain(vocabSize, seed, steps.toArray(SamplerStep[]::new));
    }

    /**
     * Returns the next token id for {@code logits} (length = vocabulary size), which is copied
     * and never modified. Does not record the token; call {@link #accept} for that.
     *
     * @throws dev.argon.ArgonException if the logits have no finite maximum (NaN or infinite)
     */
    public int sample(float[] logits) {
        Candidates c = filter(logits);
        steps[steps.length - 1].apply(c);
        if (c.selected < 0 || c.selected >= c.size) {
            throw new IllegalStateException("the last sampler step (" + steps[steps.length - 1].name() + ") chose no candidate");
        }
        return c.ids[c.selected];
    }

    /**
     * The probability of one token and the entropy of a distribution.
     *
     * @param probability p(token), 0..1
     * @param entropy H(p) = −Σ p ln p, in nats (>= 0)
     */
    public record Draw(double probability, double entropy) {
    }

    /** @return whether the chain's final step is a random draw (false for greedy, temperature 0) */
    public boolean draws() {
        return !(steps[steps.length - 1] instanceof Greedy);
    }

    /**
     * After {@link #sample}: the distribution that sample chose from, i.e. {@code softmax} over the
     * candidates the steps before the final choice left (after logit bias, penalties, processors,
     * top-k, top-p, min-p and temperature), or the point mass at the chosen token for a greedy
     * chain. Used by speculative decoding's typical acceptance (Cai et al. 2024, "Medusa"). Costs
     * one pass over the candidates; changes no state.
     *
     * @param token a token id in {@code [0, vocabSize)}
     * @return p(token) (0 if a step dropped it) and the distribution's entropy
     * @throws IllegalStateException if nothing was sampled yet
     */
    public Draw lastDraw(int token) {
        Candidates c = candidates;
        if (c.selected < 0) {
            throw new IllegalStateException("lastDraw before sample");
        }
        if (!draws()) {
            return new Draw(c.ids[c.selected] == token ? 1 : 0, 0);
        }
        if (weights == null) {
            weights = new float[vocabSize];
        }
        float max = c.maxLogit();
        double sum = Softmax.expShifted(c.logits, c.size, max, weights);
        double weighted = 0; // Σ w·(l − max): H = ln S − Σ w·(l − max) / S
        double mine = 0;
        for (int i = 0; i < c.size; i++) {
            float w = weights[i];
            if (w > 0) {
                weighted += w * (double) (c.logits[i] - max);
            }
            if (c.ids[i] == token) {
                mine = w;
            }
        }
        return new Draw(mine / sum, Math.max(0, Math.log(sum) - weighted / sum));
    }

    /** Copies {@code logits} in and runs every step but the final draw (visible for tests). */
    Candidates filter(float[] logits) {
        Candidates c = candidates;
        c.reset(logits);
        for (int i = 0; i < steps.length - 1; i++) {
            steps[i].apply(c);
        }
        return c;
    }

    /**
     * Passes a token to every step's {@link SamplerStep#accept} (llama.cpp
     * {@code llama_sampler_accept}), e.g. the penalties' look-back window: pass the prompt tokens
     * and then every generated token.
     *
     * @throws IllegalArgumentException if {@code token} lies outside the vocabulary
     */
    public void accept(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token " + token + " outside vocabulary of " + vocabSize);
        }
        for (SamplerStep step : steps) {
            step.accept(token);
        }
    }

    /** Resets every step: the chain is as created (same seed), before any token was accepted. */
    public void reset() {
        for (SamplerStep step : steps) {
            step.reset();
        }
    }

    /**
     * An independent chain in the same state (every step {@link SamplerStep#copy copied}): it
     * samples exactly what this one would, for a fork of the sequence or a checkpoint to roll
     * back to.
     */
    public SamplerChain copy() {
        SamplerStep[] copies = new SamplerStep[steps.length];
        for (int i = 0; i < steps.length; i++) {
            copies[i] = steps[i].copy();
        }
        return new SamplerChain(vocabSize, seed, copies);
    }

    /** @return the steps' names, in order (the last one chooses) */
    public List<String> names() {
        List<String> names = new ArrayList<>(steps.length);
        for (SamplerStep step : steps) {
            names.add(step.name());
        }
        return names;
    }

    /** The seed in use: the one given, or the random one picked for {@link SamplingParams#RANDOM_SEED}. */
    public long seed() {
        return seed;
    }
}
