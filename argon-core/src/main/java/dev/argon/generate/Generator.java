package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;

import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The autoregressive generation loop: tokenize the prompt, prefill it into the KV cache, then
 * decode one token at a time (sample from the logits, feed the token back) until an
 * end-of-generation token, a stop string, the token limit or the end of the context.
 * Text is streamed as complete UTF-8 characters.
 */
public final class Generator {
    private final LanguageModel model;
    private final KvCache.Precision cachePrecision;
    private final ContextPolicy policy;
    private final RewardGuidance rewards;
    /** Banned strings of {@link #withBannedStrings}, added to every request's own. */
    private final List<String> banned;
    private final DraftProposer.Factory draftModel;
    private final SpeculationStats speculation;

    /**
     * A generator with an exact (F32) KV cache. Every constructor throws an {@link dev.argon.ArgonException}
     * for a {@link dev.argon.model.TextEncoder} (BERT), which predicts no next tokens.
     */
    public Generator(LanguageModel model) {
        this(model, KvCache.Precision.F32);
    }

    /** @param cachePrecision precision of the KV cache of each generation */
    public Generator(LanguageModel model, KvCache.Precision cachePrecision) {
        this(model, cachePrecision, ContextPolicy.NONE, null, null, null, new SpeculationStats());
    }

    /**
     * @param cachePrecision precision of the KV cache of each generation
     * @param policy what a full KV cache does: stop, shift the context, or keep sinks + a window
     *     (the last two generate without bound)
     */
    public Generator(LanguageModel model, KvCache.Precision cachePrecision, ContextPolicy policy) {
        this(model, cachePrecision, policy, null, null, null, new SpeculationStats());
    }

    private Generator(LanguageModel model, KvCache.Precision cachePrecision, ContextPolicy policy, RewardGuidance rewards,
                      List<String> banned, DraftProposer.Factory draftModel, SpeculationStats speculation) {
        if (model instanceof dev.argon.model.TextEncoder) {
            throw new dev.argon.ArgonException(dev.argon.model.TextEncoder.cannotGenerate(model.config().architecture()));
        }
        this.model = model;
        this.cachePrecision = cachePrecision;
        this.policy = policy;
        this.rewards = rewards;
        this.banned = banned;
        this.draftModel = draftModel;
        this.speculation = speculation;
    }

    /**
     * A generator that never emits any of {@code strings} ({@code --ban-string}): when one
     * appears, the sequence backs up to the token where it started and bans that token there
     * (see {@link Backtracking}; a request's own banned strings add to these). Streamed text is held
     * back by the rollback window ({@link Backtracker}). Unguided generation only.
     *
     * @throws ArgonException if a string is empty
     */
    public Generator withBannedStrings(List<String> strings) {
        Backtracking.banning(strings).validate(Integer.MAX_VALUE);
        return new Generator(model, cachePrecision, policy, rewards, strings.isEmpty() ? null : List.copyOf(strings), draftModel,
                speculation);
    }

    /**
     * A generator whose sequences are steered by reward models ({@link RewardGuidance}, GenARM).
     *
     * @throws ArgonException if a reward model's vocabulary differs from this model's
     */
    public Generator withRewards(RewardGuidance g) {
        g.checkVocabulary(model);
        return new Generator(model, cachePrecision, policy, g, banned, draftModel, speculation);
    }

    /**
     * A generator whose requests asking for {@link SpeculationParams.Mode#DRAFT} get their drafts
     * from proposers {@code factory} makes (one per generation).
     */
    public Generator withDraftModel(DraftProposer.Factory factory) {
        return new Generator(model, cachePrecision, policy, rewards, banned, factory, speculation);
    }

    /** @return the speculative decoding counters of every generation run by this generator (and those derived from it) */
    public SpeculationStats speculationStats() {
        return speculation;
    }

    /**
     * Generates text.
     *
     * @param contextLength KV cache size in tokens
     * @param onText receives each piece of generated text as soon as it is safe to emit
     * @throws ArgonException if the prompt does not fit in the context or a parameter is invalid
     */
    public GenerationResult generate(GenerationRequest req, int contextLength, Consumer<String> onText) {
        return generate(req, contextLength, onText, () -> false);
    }

    /**
     * Generates text, checking {@code cancelled} before each decode step.
     *
     * @see #generate(GenerationRequest, int, Consumer)
     */
    public GenerationResult generate(GenerationRequest req, int contextLength, Consumer<String> onText, BooleanSupplier cancelled) {
        return generate(req, tokenizePrompt(req, contextLength), contextLength, onText, cancelled);
    }

    /**
     * Validates the request and tokenizes its prompt, so callers can reject a bad request before
     * they start anything else.
     *
     * @return the prompt token ids
     * @throws ArgonException if a parameter is invalid or the prompt does not fit in the context
     */
    public int[] tokenizePrompt(GenerationRequest req, int contextLength) {
        req.validate();
        if (req.guided()) {
            negativePrompt(model, req, contextLength);
        }
        int[] prompt = model.tokenizer().encode(req.prompt(), req.addSpecial());
        if (prompt.length == 0) {
            throw new ArgonException("the prompt is empty and the model adds no BOS token: nothing to start generating from");
        }
        if (prompt.length >= contextLength) {
            throw new ArgonException("the prompt is " + prompt.length + " tokens but the context holds " + contextLength
                    + " (-c), which leaves no room to generate; the context must be larger than the prompt");
        }
        return prompt;
    }

    /**
     * Generates text from an already tokenized prompt (see {@link #tokenizePrompt}).
     *
     * @param prompt prompt token ids, fewer than {@code contextLength}
     */
    public GenerationResult generate(GenerationRequest req, int[] prompt, int contextLength, Consumer<String> onText,
                                     BooleanSupplier cancelled) {
        return run(req, prompt, contextLength, onText::accept, cancelled);
    }

    /**
     * Generates text from an already tokenized prompt, reporting every token (and its
     * log-probabilities when the request asks for them) to {@code listener}.
     *
     * @param prompt prompt token ids, fewer than {@code contextLength}
     */
    public GenerationResult run(GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener,
                                     BooleanSupplier cancelled) {
        boolean rewarded = rewards != null && rewards.active();
        if (banned != null) {
            req = req.withBacktracking(req.backtracking().withBannedStrings(banned));
        }
        boolean backtracking = req.backtracking().active();
        if (policy.unbounded() && (rewarded || req.guided() || backtracking)) {
            throw new ArgonException("a context shift, sinks + window or H2O (" + policy + ") cannot be combined with"
                    + " classifier-free guidance, reward models, banned strings or a backspace token yet");
        }
        if (backtracking) {
            if (req.guided() || rewarded) {
                throw new ArgonException("banned strings (--ban-string) and a backspace token (--backspace-token) cannot be combined"
                        + " with guidance or reward models");
            }
            if (req.constraint() != null) {
                throw new ArgonException("banned strings (--ban-string) and a backspace token (--backspace-token) cannot be combined"
                        + " with a grammar or JSON schema (backing up would need the grammar's state at every token)");
            }
            return runBacktracking(req, prompt, contextLength, listener, cancelled);
        }
        if (rewarded) {
            if (req.guided()) {
                throw new ArgonException("classifier-free guidance (--cfg-scale) and reward models (--reward-model) cannot be combined");
            }
            return runRewarded(req, prompt, contextLength, listener, cancelled);
        }
        if (req.guided()) {
            return runGuided(req, prompt, contextLength, listener, cancelled);
        }
        if (req.speculation().active()) {
            return runSpeculative(req, prompt, contextLength, listener, cancelled);
        }
        InferenceState state = model.newState(contextLength, cachePrecision, cachePrecision, policy);
        Sequence seq = new Sequence(model, req, prompt, contextLength, policy.unbounded(), listener);
        long t0 = System.nanoTime();
        float[] logits = model.prefill(state, prompt, 0);
        long t1 = System.nanoTime();
        decode(seq, logits, cancelled, (token, pos) -> model.forward(state, token, pos, true));
        long t2 = System.nanoTime();
        return seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /**
     * Speculative decoding ({@link Speculator}): each step feeds the last sampled token and the
     * draft tokens after it as rows of one {@link Batch} (decode arithmetic, as plain decoding
     * uses) and keeps what verification accepts; the output is what {@link #run} gives without it.
     */
    private GenerationResult runSpeculative(GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener,
                                            BooleanSupplier cancelled) {
        SpeculativeStep spec = SpeculativeStep.create(req.speculation(), draftModel, speculation, policy);
        InferenceState state = model.newState(contextLength, cachePrecision, cachePrecision, policy);
        Sequence seq = new Sequence(model, req, prompt, contextLength, false, listener);
        long t0 = System.nanoTime();
        float[] logits = model.prefill(state, prompt, 0);
        long t1 = System.nanoTime();
        Batch batch = new Batch(1 + spec.maxDraftRows());
        int token = cancelled.getAsBoolean() ? -1 : seq.next(logits);
        while (token >= 0) {
            if (cancelled.getAsBoolean()) {
                break;
            }
            int pos = seq.position();
            batch.clear();
            batch.add(state, token, pos, false, true);
            spec.addDraftRows(batch, state, seq, spec.maxDraftRows());
            model.forward(batch);
            token = spec.verify(seq, batch, 0);
        }
        seq.cancel(); // (nothing if it finished)
        long t2 = System.nanoTime();
        return seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /**
     * Generation with {@link Backtracking} (banned strings, a backspace token): the plain loop with
     * {@link Backtracker#next} in place of {@link Sequence#next}; a token it answers after a
     * rollback is fed at the rolled-back position like any other.
     */
    private GenerationResult runBacktracking(GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener,
                                             BooleanSupplier cancelled) {
        Backtracker bt = new Backtracker(model, req.backtracking(), listener);
        Sequence seq = new Sequence(model, req, prompt, contextLength, bt);
        bt.attach(seq);
        InferenceState state = model.newState(contextLength, cachePrecision);
        long t0 = System.nanoTime();
        float[] logits = model.prefill(state, prompt, 0);
        long t1 = System.nanoTime();
        while (true) {
            if (cancelled.getAsBoolean()) {
                seq.cancel();
                break;
            }
            int token = bt.next(logits);
            if (token < 0) {
                break;
            }
            logits = model.forward(state, token, seq.position(), true);
        }
        bt.releaseAll();
        long t2 = System.nanoTime();
        return seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** One decode step: feeds {@code token} at {@code pos} and returns the logits to sample next, or null to stop (cancelled). */
    @FunctionalInterface
    private interface Step {
        float[] next(int token, int pos);
    }

    /**
     * The decode loop shared by plain, guided and reward-guided generation: until the sequence
     * finishes or {@code cancelled} says so, sample from the logits and run {@code step} on the
     * sampled token.
     */
    private static void decode(Sequence seq, float[] first, BooleanSupplier cancelled, Step step) {
        float[] logits = first;
        while (true) {
            if (cancelled.getAsBoolean()) {
                seq.cancel();
                return;
            }
            int token = seq.next(logits);
            if (token < 0) {
                return;
            }
            logits = step.next(token, seq.position());
            if (logits == null) {
                seq.cancel();
                return;
            }
        }
    }

    /**
     * Tokenizes the negative prompt of a guided request (with BOS as the model says).
     *
     * @throws ArgonException if it is empty (and the model adds no BOS) or does not fit in the context
     */
    public int[] tokenizeNegativePrompt(GenerationRequest req, int contextLength) {
        return negativePrompt(model, req, contextLength);
    }

    /** See {@link #tokenizeNegativePrompt}; shared with {@link BatchScheduler}. */
    static int[] negativePrompt(LanguageModel model, GenerationRequest req, int contextLength) {
        int[] ids = model.tokenizer().encode(req.guidance().negativePrompt(), req.addSpecial());
        if (ids.length == 0) {
            throw new ArgonException("the negative prompt (--cfg-negative-prompt) is empty and the model adds no BOS token:"
                    + " give a negative prompt");
        }
        if (ids.length >= contextLength) {
            throw new ArgonException("the negative prompt is " + ids.length + " tokens but the context holds " + contextLength
                    + " (-c); it must be shorter than the context");
        }
        return ids;
    }

    /**
     * Classifier-free guidance ({@link Guidance}): the conditional and unconditional sequences
     * are prefilled, then every decode step runs both as two rows of one {@link Batch}, and the
     * sequence samples from the mixed log-probabilities. Each sequence has its own KV cache.
     */
    private GenerationResult runGuided(GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener,
                                       BooleanSupplier cancelled) {
        int[] negative = negativePrompt(model, req, contextLength);
        Sequence seq = new Sequence(model, req, prompt, contextLength, listener);
        InferenceState cond = model.newState(contextLength, cachePrecision);
        InferenceState uncond = model.newState(contextLength, cachePrecision);
        float scale = req.guidance().scale();
        long t0 = System.nanoTime();
        float[] mixed = new float[model.config().vocabSize()];
        float[] c = model.prefill(cond, prompt, 0);
        Guidance.mix(c, model.prefill(uncond, negative, 0), scale, mixed);
        long t1 = System.nanoTime();
        Batch batch = new Batch(2);
        decode(seq, mixed, cancelled, (token, pos) -> {
            int upos = negative.length + pos - prompt.length;
            if (upos >= contextLength) {
                return null; // the unconditional sequence (its prompt longer than the conditional one) is full
            }
            batch.clear();
            int rc = batch.add(cond, token, pos, false, true);
            int ru = batch.add(uncond, token, upos, false, true);
            model.forward(batch);
            Guidance.mix(batch.logits(rc), batch.logits(ru), scale, mixed);
            return mixed;
        });
        long t2 = System.nanoTime();
        return seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /**
     * GenARM ({@link RewardGuidance}): the base and every reward model run the same tokens, each
     * in its own state, one forward pass each per step; the sequence samples from the mix.
     */
    private GenerationResult runRewarded(GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener,
                                         BooleanSupplier cancelled) {
        Sequence seq = new Sequence(model, req, prompt, contextLength, listener);
        List<RewardGuidance.Reward> rs = rewards.rewards();
        InferenceState base = model.newState(contextLength, cachePrecision);
        InferenceState[] states = new InferenceState[rs.size()];
        float[][] rewardLogits = new float[rs.size()][];
        float[] mixed = new float[model.config().vocabSize()];
        long t0 = System.nanoTime();
        float[] logits = model.prefill(base, prompt, 0);
        for (int i = 0; i < rs.size(); i++) {
            states[i] = rs.get(i).model().newState(contextLength, cachePrecision);
            rewardLogits[i] = rs.get(i).model().prefill(states[i], prompt, 0);
        }
        rewards.mix(logits, rewardLogits, mixed);
        long t1 = System.nanoTime();
        decode(seq, mixed, cancelled, (token, pos) -> {
            float[] base0 = model.forward(base, token, pos, true);
            for (int i = 0; i < rs.size(); i++) {
                rewardLogits[i] = rs.get(i).model().forward(states[i], token, pos, true);
            }
            rewards.mix(base0, rewardLogits, mixed);
            return mixed;
        });
        long t2 = System.nanoTime();
        return seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }
}
