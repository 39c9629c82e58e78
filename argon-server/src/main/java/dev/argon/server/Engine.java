package dev.argon.server;

import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Runs generations for the server. The routes know only this interface: how generations share
 * the machine (slots, a queue, batching) is the implementation's business.
 *
 * <p>Implementations are thread-safe: every HTTP request thread calls {@link #run} itself and
 * blocks until its generation ends.
 */
public interface Engine extends AutoCloseable {

    /**
     * Runs one generation to its end, blocking the calling thread (including any wait for
     * capacity).
     *
     * @param req what to generate (already validated)
     * @param promptIds the prompt's token ids: at least one, fewer than {@link #contextLength()}
     * @param onText receives each piece of text as soon as it is safe to emit, on the calling
     *     thread or another; never null
     * @param cancelled polled while waiting and before each token; once true the generation ends
     *     with finish reason {@code CANCELLED} (or, while still waiting, with a 503)
     * @return the finished generation
     * @throws ApiException 503 when the engine is over capacity (its wait queue is full), is
     *     closed, or the request was cancelled before it started
     */
    GenerationResult run(GenerationRequest req, int[] promptIds, Consumer<String> onText, BooleanSupplier cancelled);

    /**
     * As {@link #run(GenerationRequest, int[], Consumer, BooleanSupplier)}, reporting every token
     * (with its log-probabilities when the request asks for them) as well as the text to
     * {@code listener}. The default reports the text only, each piece followed by
     * {@link GenerationListener#onPause}.
     */
    default GenerationResult run(GenerationRequest req, int[] promptIds, GenerationListener listener, BooleanSupplier cancelled) {
        Consumer<String> onText = text -> {
            listener.onText(text);
            listener.onPause();
        };
        return run(req, promptIds, onText, cancelled);
    }

    /** @return the most generations that can be running or waiting at once (larger {@code n} can never be served) */
    default int capacity() {
        return Integer.MAX_VALUE;
    }

    /** Shutdown began: requests still waiting for capacity fail now with a 503 instead of waiting for the drain. */
    default void refuseWaiting() {
    }

    /** @return tokens one sequence may hold (prompt plus generated); prompts must be shorter */
    int contextLength();

    /** @return a snapshot of the engine's load, cheap enough for every {@code /health} call */
    Stats stats();

    /** Frees the engine's resources; later {@link #run} calls get a 503. Running ones are not waited for. */
    @Override
    void close();

    /**
     * A snapshot of an engine's load.
     *
     * @param activeSequences generations running now
     * @param queuedRequests requests waiting to start
     * @param slots generations that may run at the same time
     * @param kvCacheTokensUsed KV cache positions filled by the running generations
     * @param kvCacheCapacityTokens KV cache positions the engine can hold in all
     * @param kvCacheTokensCached KV cache positions idle slots keep for prefix reuse (multi-turn chat)
     * @param cachedPromptTokens prompt tokens served from a cached prefix instead of computed, since start
     */
    record Stats(int activeSequences, int queuedRequests, int slots, long kvCacheTokensUsed, long kvCacheCapacityTokens,
                 long kvCacheTokensCached, long cachedPromptTokens) {
        /** @return whether every slot is running a generation */
        public boolean full() {
            return activeSequences >= slots;
        }
    }
}
