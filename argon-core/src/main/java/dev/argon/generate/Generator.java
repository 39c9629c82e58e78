package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;

import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The autoregressive generation loop: tokenize the prompt, prefill it into the KV cache, then
 * decode one token at a time (sample from the logits, feed the token back) until an
 * end-of-generation token, a stop string, the token limit or the end of the context.
 * Text is streamed as complete UTF-8 characters. It is the one-request case of the
 * {@link BatchScheduler}'s step loop (the same planning and updating parts), run on the caller's
 * thread; reward-guided generation (several models) keeps its own loop.
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
            return runSteps(req, prompt, contextLength, listener, cancelled);
        }
        if (rewarded) {
            if (req.guided()) {
                throw new ArgonException("classifier-free guidance (--cfg-scale) and reward models (--reward-model) cannot be combined");
            }
            return runRewarded(req, prompt, contextLength, listener, cancelled);
        }
        return runSteps(req, prompt, contextLength, listener, cancelled);
    }

    /** Prompt rows per step: DecoderModel.prefill's chunk, so a plain prompt runs in the same passes as before. */
    private static final int PROMPT_STEP = 64;

    /**
     * The one-request case of {@link BatchScheduler}'s step loop, on the caller's thread, with the
     * same parts: {@link SlotAdmission} gives the request its slot (two with classifier-free
     * guidance), {@link StepPlanner} the rows of each pass (prompt chunks; then the decode row, a
     * speculating sequence's draft rows, a guided one's unconditional row), {@link StepUpdater}
     * hands the logits back (sampling, {@link Backtracker} rollback, draft verification,
     * {@link Guidance} mixing). {@code cancelled} is asked right before each sampling, as the
     * token-by-token loop did.
     */
    private GenerationResult runSteps(GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener,
                                      BooleanSupplier cancelled) {
        ScheduledRequest r = new ScheduledRequest(req, prompt, cancelled, new java.util.concurrent.atomic.AtomicLong());
        GenerationListener events = listener;
        if (req.backtracking().active()) {
            r.backtrack = new Backtracker(model, req.backtracking(), listener); // holds back what a rollback may retract
            events = r.backtrack;
        } else if (req.guided()) {
            r.negative = negativePrompt(model, req, contextLength);
        } else if (req.speculation().active()) {
            r.spec = SpeculativeStep.create(req.speculation(), draftModel, speculation, policy);
        }
        List<ScheduledRequest> running = new java.util.ArrayList<>(1);
        SlotAdmission slots = new SlotAdmission(model, r.slotsNeeded(), contextLength, cachePrecision, policy, 0, 0, false,
                PROMPT_STEP, running);
        r.seq = new Sequence(model, req, prompt, contextLength, policy.unbounded(), events); // validates the sampling parameters
        if (r.backtrack != null) {
            r.backtrack.attach(r.seq);
        }
        if (r.negative != null) {
            int vocab = model.config().vocabSize();
            r.condLogits = new float[vocab];
            r.uncondLogits = new float[vocab];
            r.mixed = new float[vocab];
        }
        slots.admit(r);
        running.add(r);
        StepPlanner planner = new StepPlanner(PROMPT_STEP, r.slotsNeeded(), false);
        StepUpdater updater = new StepUpdater(model.pool(), contextLength, slots, r.slotsNeeded());
        long t0 = System.nanoTime();
        long t1 = 0;
        while (!r.seq.finished()) {
            StepPlan plan = planner.plan(running);
            model.forward(plan.batch());
            boolean samples = plan.decodeRow()[0] >= 0 || (r.fed + plan.promptRows()[0] == prompt.length
                    && (r.negative == null || r.guideFed + plan.guideRows()[0] == r.negative.length));
            if (samples) {
                t1 = t1 == 0 ? System.nanoTime() : t1;
                if (cancelled.getAsBoolean()) {
                    r.seq.cancel();
                    break;
                }
            }
            updater.update(plan, running);
        }
        if (r.backtrack != null) {
            r.backtrack.releaseAll();
        }
        long t2 = System.nanoTime();
        t1 = t1 == 0 ? t2 : t1;
        return r.seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** One decode step: feeds {@code token} at {@code pos} and returns the logits to sample next, or null to stop (cancelled). */
    @FunctionalInterface
    private interface Step {
        float[] next(int token, int pos);
    }

    /**
     * The decode loop of reward-guided generation: until the sequence
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
