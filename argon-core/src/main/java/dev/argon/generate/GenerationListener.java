package dev.argon.generate;

import dev.argon.sampling.TokenLogprobs;

/**
 * Receives what a generation produces, as it is produced. Called on the thread that runs the
 * generation (the caller's for {@link Generator}, the scheduler's loop for
 * {@link BatchScheduler}, which hands events to the submitting thread itself); implementations
 * should return quickly.
 */
public interface GenerationListener {
    /** A piece of generated text, complete UTF-8 characters, never part of a stop string. */
    void onText(String text);

    /**
     * A token was sampled (called before its text, if any, reaches {@link #onText}).
     *
     * @param token the token id
     * @param logprobs its log-probability and the most likely alternatives, or null when the
     *     request asked for none
     */
    default void onToken(int token, TokenLogprobs logprobs) {
    }

    /**
     * The events delivered so far are all there is for now: the next one will take a while (at
     * least until the next forward pass). A streaming listener can gather its output over the
     * events before and send it here in one write. {@link BatchScheduler.Handle#await} calls it
     * whenever its event queue runs empty; other producers may call it after every event.
     */
    default void onPause() {
    }

    /**
     * Called by {@link BatchScheduler.Handle#await} about every
     * {@value BatchScheduler#WAIT_CHECK_MS} ms in which no event arrives (the request waits for a
     * slot, or a long prompt is being processed): a listener that streams to a client can check
     * here that the client is still there. Returning false cancels the request, which then frees
     * its queue place or slot at the scheduler's next step.
     *
     * @return whether the output is still wanted
     */
    default boolean stillWanted() {
        return true;
    }
}
