package dev.argon.generate;

import dev.argon.sampling.TokenLogprobs;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * One request inside a {@link BatchScheduler}: its sequence and optional helpers (speculation,
 * backtracking, classifier-free guidance), the slots it runs on, its prompt progress, and the
 * queue of events its caller's {@link BatchScheduler.Handle} delivers. The planning, running and
 * updating parts of a step read and advance this state on the scheduler thread; the event queue
 * and the cancel flag are the only fields other threads touch.
 */
final class ScheduledRequest implements GenerationListener {
    /** A generated token, as queued for the caller. */
    record TokenEvent(int token, TokenLogprobs logprobs) {
    }

    /** The request failed with {@code error}, as queued for the caller. */
    record Failed(RuntimeException error) {
    }

    final GenerationRequest req;
    final int[] prompt;
    final BooleanSupplier cancelled;
    /** Text pieces, {@link TokenEvent}s, then a {@link GenerationResult} or a {@link Failed}. */
    final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    /** Set by {@link BatchScheduler.Handle#cancel} (any thread). */
    volatile boolean cancelRequested;
    private final AtomicLong generatedTokens;
    Sequence seq;
    /** Speculative decoding of this request, or null. */
    SpeculativeStep spec;
    /** Banned strings and a backspace token ({@link Backtracking}), or null: samples in place of {@link #seq}. */
    Backtracker backtrack;
    KvSlot slot;
    /** Prompt tokens in the slot's cache (reused or computed). */
    int fed;
    /** Prompt tokens reused from a cache rather than computed. */
    int reused;
    /** The token to feed at {@link Sequence#position()} in the next step. */
    int next;
    long started;
    long firstLogits;
    /** Classifier-free guidance: the unconditional sequence's prompt, slot and progress (null/unused when unguided). */
    int[] negative;
    KvSlot guideSlot;
    int guideFed;
    /** The last prompt row's logits of each sequence, kept until both prompts are in, and their mix. */
    float[] condLogits;
    float[] uncondLogits;
    float[] mixed;

    /** @param generatedTokens counts every token delivered (shared by the scheduler's requests) */
    ScheduledRequest(GenerationRequest req, int[] prompt, BooleanSupplier cancelled, AtomicLong generatedTokens) {
        this.req = req;
        this.prompt = prompt;
        this.cancelled = cancelled;
        this.generatedTokens = generatedTokens;
    }

    @Override
    public void onText(String text) {
        events.add(text);
    }

    @Override
    public void onToken(int token, TokenLogprobs logprobs) {
        generatedTokens.incrementAndGet();
        events.add(new TokenEvent(token, logprobs));
    }

    /** Queues the failure {@code error} for the caller. */
    void fail(RuntimeException error) {
        events.add(new Failed(error));
    }

    /** Queues the outcome for the caller. */
    void complete(GenerationResult result) {
        events.add(result);
    }

    /** @return whether the caller cancelled it or its cancel supplier says so (a throwing supplier counts as cancelled) */
    boolean cancelPolled() {
        if (cancelRequested) {
            return true;
        }
        try {
            return cancelled.getAsBoolean();
        } catch (RuntimeException e) {
            return true;
        }
    }

    boolean prefilling() {
        return fed < prompt.length || (negative != null && guideFed < negative.length);
    }

    /** Slots this request runs on: two with guidance. */
    int slotsNeeded() {
        return negative == null ? 1 : 2;
    }

    /** The unconditional sequence's position of the token the conditional one feeds at {@code pos}. */
    int guidePosition(int pos) {
        return negative.length + pos - prompt.length;
    }

    /** Mixes the two sequences' logits ({@link Guidance#mix}) into {@link #mixed}. */
    float[] mix(float[] cond, float[] uncond) {
        Guidance.mix(cond, uncond, req.guidance().scale(), mixed);
        return mixed;
    }
}
