package dev.argon.generate;

import dev.argon.model.LanguageModel;
import dev.argon.sampling.Logprobs;
import dev.argon.sampling.SamplerChain;
import dev.argon.sampling.TokenLogprobs;
import dev.argon.tokenizer.StreamingDecoder;
import dev.argon.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * The per-token decisions of generating one sequence, independent of how its forward passes are
 * scheduled (alone in {@link Generator}, batched with others in {@link BatchScheduler}): sample
 * the next token from the logits, stream its text (complete UTF-8 characters, stop strings held
 * back and never emitted), and decide when to finish (end-of-generation token, stop string, token
 * limit, full context, cancellation). A request's {@link TokenConstraint} masks the logits
 * before sampling.
 *
 * <p>Protocol: after the prompt's logits are known, call {@link #next(float[])}; while it returns
 * a token id, feed that token at {@link #position()} and call {@link #next} with the new logits.
 * Not thread-safe.
 */
public final class Sequence {
    private final GenerationRequest req;
    private final int[] prompt;
    private final int contextLength;
    private final Tokenizer tok;
    private SamplerChain sampler;
    private StreamingDecoder decoder;
    private StopStringMatcher stops;
    /** Rollback: the sampler's state before each of the last {@link #checkpointDepth} generated tokens (oldest first). */
    private final java.util.ArrayDeque<SamplerChain> checkpoints = new java.util.ArrayDeque<>();
    private int checkpointDepth;
    private final GenerationListener listener;
    private final TokenConstraint constraint; // null when unconstrained
    private final float[] masked; // the constrained logits, or null
    private final StringBuilder text = new StringBuilder();
    private final int limit;
    private final boolean unbounded;
    private int[] generated;
    private int n;
    private boolean stripSpace;
    private FinishReason reason;
    /** Whether the last {@link #next} took a draft token by typical acceptance. */
    private boolean lenient;

    /**
     * @param prompt prompt token ids, {@code 0 < length < contextLength}
     * @param contextLength KV cache size in tokens
     * @throws dev.argon.ArgonException if a sampling parameter is invalid
     */
    public Sequence(LanguageModel model, GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener) {
        this(model, req, prompt, contextLength, false, listener);
    }

    /**
     * @param prompt prompt token ids, {@code 0 < length < contextLength}
     * @param contextLength KV cache size in tokens
     * @param unbounded whether the KV cache evicts tokens when full
     *     ({@link dev.argon.kv.ContextPolicy}), so a full context does not end the sequence
     * @throws dev.argon.ArgonException if a sampling parameter is invalid
     */
    public Sequence(LanguageModel model, GenerationRequest req, int[] prompt, int contextLength, boolean unbounded,
                    GenerationListener listener) {
        if (prompt.length == 0 || prompt.length >= contextLength) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens for a context of " + contextLength);
        }
        this.req = req;
        this.prompt = prompt;
        this.contextLength = contextLength;
        this.tok = model.tokenizer();
        this.listener = listener;
        this.sampler = SamplerChain.create(req.sampling(), model.config().vocabSize(), req.stepCopies());
        for (int t : prompt) {
            sampler.accept(t);
        }
        this.constraint = req.constraint() == null ? null : req.constraint().create(tok);
        this.masked = constraint == null ? null : new float[model.config().vocabSize()];
        this.decoder = new StreamingDecoder(tok);
        this.stops = new StopStringMatcher(req.stop());
        this.limit = req.maxTokens() < 0 ? Integer.MAX_VALUE : req.maxTokens();
        this.unbounded = unbounded;
        this.generated = new int[Math.min(Math.min(limit, unbounded ? 1024 : contextLength - prompt.length), 1 << 20)];
        // With an empty prompt the output starts the text, so the SentencePiece space prefix of
        // its first word is dropped (as SentencePiece decoders do).
        this.stripSpace = req.prompt().isEmpty() && tok.addsSpacePrefix();
    }

    /**
     * Consumes the logits after the last fed token (the prompt's last, then each generated one).
     *
     * @param logits next-token logits {@code [vocabSize]} (not modified)
     * @return the sampled token to feed next at {@link #position()}, or -1 when the sequence has
     *     finished (the finishing token, if any, is already recorded and its text emitted)
     */
    public int next(float[] logits) {
        return next(logits, -1, null);
    }

    /**
     * {@link #next(float[])} for a speculative verification row fed the draft token {@code draft}:
     * the sequence draws its token as always, and when the draw is not {@code draft} but
     * {@code acceptance} is {@link DraftAcceptance#typical() typical} and the sequence samples
     * (temperature > 0), takes {@code draft} instead if p(draft) passes the typical threshold
     * (then {@link #lenient()} is true). With exact acceptance this is exactly {@link #next(float[])}.
     *
     * @param logits next-token logits {@code [vocabSize]} (not modified)
     * @param draft the draft token fed after the last sampled token, {@code [0, vocabSize)}
     * @param acceptance the request's acceptance rule
     * @return as {@link #next(float[])}
     */
    int verify(float[] logits, int draft, DraftAcceptance acceptance) {
        return next(logits, draft, acceptance);
    }

    /** @return whether the last token was a draft token taken by typical acceptance over the sequence's own, different draw */
    boolean lenient() {
        return lenient;
    }

    private int next(float[] logits, int draft, DraftAcceptance acceptance) {
        lenient = false;
        if (reason != null) {
            throw new IllegalStateException("sequence already finished: " + reason);
        }
        if (n >= limit) {
            return finish(FinishReason.LENGTH);
        }
        if (constraint != null) {
            // an exact mask: the sampler draws from the distribution renormalised over the allowed tokens
            System.arraycopy(logits, 0, masked, 0, masked.length);
            if (!constraint.mask(masked)) {
                return finish(FinishReason.CONSTRAINT_DEAD_END);
            }
            logits = masked;
        }
        if (checkpointDepth > 0) {
            if (checkpoints.size() == checkpointDepth) {
                checkpoints.removeFirst();
            }
            checkpoints.addLast(sampler.copy());
        }
        int token = sampler.sample(logits);
        if (acceptance != null && token != draft && acceptance.typical() && sampler.draws()) {
            SamplerChain.Draw d = sampler.lastDraw(draft);
            if (acceptance.typicalAccepts(d.probability(), d.entropy())) {
                token = draft; // lossy: exact verification, with this same draw, would have rejected the draft
                lenient = true;
            }
        }
        sampler.accept(token);
        if (constraint != null) {
            constraint.accept(token);
        }
        if (n == generated.length) {
            generated = Arrays.copyOf(generated, Math.max(16, n * 2));
        }
        generated[n++] = token;
        listener.onToken(token, req.logprobs() >= 0 ? Logprobs.of(logits, token, req.logprobs()) : null);
        if (tok.isEndOfGeneration(token)) {
            return finish(FinishReason.END_OF_SEQUENCE);
        }
        emit(stops.append(decoder.append(token)));
        if (stops.stopped()) {
            return finish(FinishReason.STOP_STRING);
        }
        if (n >= limit) {
            return finish(FinishReason.LENGTH);
        }
        if (!unbounded && position() >= contextLength - 1) {
            // this token takes the context's last position: prompt and output fill it exactly, and
            // nothing could follow it (no KV position is left for the token after), so it is not fed
            return finish(FinishReason.CONTEXT_FULL);
        }
        return token;
    }

    /**
     * Keeps what {@link #rollback} needs for up to {@code depth} tokens: a
     * {@link SamplerChain#copy() copy} of the sampler before each generated token (0, the default,
     * keeps nothing). Call before the first {@link #next}.
     */
    public void keepCheckpoints(int depth) {
        if (depth < 0) {
            throw new IllegalArgumentException("depth " + depth);
        }
        checkpointDepth = depth;
    }

    /**
     * Removes the last {@code k} generated tokens (SequenceMatch's backspace, Cundy and Ermon 2024):
     * the sampler returns to its state before the first removed token (penalty window, watermark
     * context, random draws), and the text, UTF-8 and stop-string state are rebuilt from the tokens
     * kept; a finished sequence runs again. The KV cache needs nothing: positions from
     * {@link #position()} on are rewritten before they are read. Text already given to the listener
     * is not taken back (a caller that may roll back holds streamed text back);
     * {@link #result}'s text is exact.
     *
     * <p>Then feed the returned token at {@link #position()} and pass its logits to {@link #next}:
     * with the same logits and sampler state, generation continues exactly as it did the first time.
     * Rolling back every generated token re-feeds the prompt's last token with decode arithmetic,
     * whose logits may differ in the last bits from the prefill's.
     *
     * @param k tokens to remove, {@code 1 <= k <=} min(generated, checkpoints kept)
     * @return the token to feed at {@link #position()}: the last kept one (the prompt's last if none)
     * @throws IllegalArgumentException if {@code k} is out of range
     * @throws IllegalStateException if the sequence is constrained by a grammar (its matcher state is not checkpointed)
     */
    public int rollback(int k) {
        if (constraint != null) {
            throw new IllegalStateException("rollback is not supported for a sequence constrained by a grammar or schema");
        }
        if (k < 1 || k > n || k > checkpoints.size()) {
            throw new IllegalArgumentException("cannot roll back " + k + " tokens: " + n + " generated, " + checkpoints.size()
                    + " checkpoints kept (keepCheckpoints)");
        }
        for (int i = 1; i < k; i++) {
            checkpoints.removeLast();
        }
        sampler = checkpoints.removeLast();
        n -= k;
        reason = null;
        decoder = new StreamingDecoder(tok);
        stops = new StopStringMatcher(req.stop());
        text.setLength(0);
        stripSpace = req.prompt().isEmpty() && tok.addsSpacePrefix();
        for (int i = 0; i < n; i++) {
            append(stops.append(decoder.append(generated[i])));
        }
        return n > 0 ? generated[n - 1] : prompt[prompt.length - 1];
    }

    /** Ends a running sequence with {@code r} (text held back so far is emitted); used by {@link Backtracker}. */
    void end(FinishReason r) {
        if (reason == null) {
            finish(r);
        }
    }

    /** Ends the sequence as {@link FinishReason#CANCELLED} (text held back so far is emitted). */
    public void cancel() {
        if (reason == null) {
            finish(FinishReason.CANCELLED);
        }
    }

    private int finish(FinishReason r) {
        reason = r;
        if (!stops.stopped()) {
            emit(stops.append(decoder.flush()));
            emit(stops.flush());
        }
        return -1;
    }

    private void emit(String piece) {
        String s = append(piece);
        if (!s.isEmpty()) {
            listener.onText(s);
        }
    }

    /** Adds a piece to the text (dropping the space prefix of the first word when due); returns what was added. */
    private String append(String piece) {
        String s = piece;
        if (stripSpace && !s.isEmpty()) {
            stripSpace = false;
            s = tok.startOfText(s);
        }
        text.append(s);
        return s;
    }

    /** @return the position of the last sampled token, where it is fed next */
    public int position() {
        return prompt.length + n - 1;
    }

    /**
     * @return how many draft tokens speculative decoding may feed after the token at
     *     {@link #position()}: each must be fed only where plain decoding would feed it (within
     *     the token limit and the context), so speculation never computes a position plain decoding
     *     would not
     */
    public int speculationRoom() {
        if (reason != null) {
            return 0;
        }
        long byLimit = (long) limit - n - 1;
        long byContext = unbounded ? Integer.MAX_VALUE : (long) contextLength - 2 - position();
        return (int) Math.max(0, Math.min(byLimit, byContext));
    }

    /**
     * @return how many of the draft tokens {@code tokens[0, count)}, fed after the last sampled
     *     token, this sequence's grammar or schema allows ({@link TokenConstraint#allowedPrefix});
     *     {@code count} when unconstrained
     */
    public int allowedDraft(int[] tokens, int count) {
        return constraint == null || count == 0 ? count : constraint.allowedPrefix(tokens, count);
    }

    /** @return how many tokens {@link #rollback} can remove now */
    public int checkpointsKept() {
        return Math.min(n, checkpoints.size());
    }

    /** @return the text so far (stop strings and incomplete characters held back are not in it yet) */
    public CharSequence text() {
        return text;
    }

    /** @return the generated token at index {@code i < generatedCount()} */
    public int generated(int i) {
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("token " + i + " of " + n);
        }
        return generated[i];
    }

    /** @return the prompt token ids */
    public int[] prompt() {
        return prompt;
    }

    /** @return tokens generated so far */
    public int generatedCount() {
        return n;
    }

    /** @return whether the sequence has finished */
    public boolean finished() {
        return reason != null;
    }

    /** @return why it finished, or null while running */
    public FinishReason finishReason() {
        return reason;
    }

    /**
     * @param prefillSeconds wall time of the prompt's forward passes
     * @param decodeSeconds wall time from the prompt's logits to the end
     * @return the outcome of a finished sequence
     */
    public GenerationResult result(double prefillSeconds, double decodeSeconds) {
        if (reason == null) {
            throw new IllegalStateException("sequence still running");
        }
        return new GenerationResult(text.toString(), prompt, Arrays.copyOf(generated, n), reason,
                prefillSeconds, decodeSeconds, sampler.seed());
    }
}
