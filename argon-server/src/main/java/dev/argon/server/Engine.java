package dev.argon.server;

import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * Runs generations for the server. The routes know only this interface: how generations share
 * the machine (slots, a queue, batching) is the implementation's business.
 *
 * <p>Implementations are thread-safe: every HTTP request thread calls {@link #run} itself and
 * blocks until its generation ends.
 */
public interface Engine extends AutoCloseable {
    /**
     * @return the speculative decoding settings of requests that do not give their own
     *     ({@code speculative.*} fields); default: none
     */
    default dev.argon.generate.SpeculationParams speculation() {
        return dev.argon.generate.SpeculationParams.NONE;
    }


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

    /**
     * Runs the generations of one request ({@code n} choices of one prompt) side by side, each
     * reporting to its own listener on its own thread. Implementations with a bounded queue admit
     * them as a unit: all start (or wait for a slot), or the call fails at once with a 503 and
     * none holds a place. The default runs {@link #run} on a virtual thread per generation.
     *
     * @param listeners the listener of generation {@code i}
     * @return the results, in the order of {@code reqs}
     * @throws ApiException as {@link #run}; when one generation fails the call fails
     */
    default List<GenerationResult> runAll(List<GenerationRequest> reqs, int[] promptIds, IntFunction<GenerationListener> listeners,
                                          BooleanSupplier cancelled) {
        if (reqs.size() == 1) {
            return List.of(run(reqs.getFirst(), promptIds, listeners.apply(0), cancelled));
        }
        List<Future<GenerationResult>> futures = new ArrayList<>();
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < reqs.size(); i++) {
                int k = i;
                futures.add(exec.submit(() -> run(reqs.get(k), promptIds, listeners.apply(k), cancelled)));
            }
        }
        return results(futures);
    }

    /** The results of finished futures, in order; the first failure is rethrown. */
    static List<GenerationResult> results(List<Future<GenerationResult>> futures) {
        List<GenerationResult> results = new ArrayList<>();
        for (Future<GenerationResult> f : futures) {
            try {
                results.add(f.get());
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ApiException.unavailable("the request was interrupted");
            }
        }
        return results;
    }

    /**
     * @return why this engine cannot run generations any more (the model failed, e.g. its file
     *     was truncated under the server), as one line; null while it works
     */
    default String failure() {
        return null;
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

    /** @return the paged KV pool's and prefix cache's counters, or null when the engine has none (the default) */
    default dev.argon.generate.BatchScheduler.PagingStats paging() {
        return null;
    }

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
     * @param kvCacheBytes bytes the KV caches hold now (grows with use, released when generations end)
     * @param copiedPromptTokens of {@code cachedPromptTokens}, those copied from another slot's cache
     * @param draftTokens speculative decoding: draft tokens proposed and verified, since start
     * @param acceptedDraftTokens of those, the ones accepted
     * @param verifyPasses sequence-steps that verified at least one draft token
     * @param lenientDraftTokens of the accepted ones, those the lossy typical acceptance kept where exact verification
     *     (the sequence's own draw) would have rejected them
     */
    record Stats(int activeSequences, int queuedRequests, int slots, long kvCacheTokensUsed, long kvCacheCapacityTokens,
                 long kvCacheTokensCached, long cachedPromptTokens, long kvCacheBytes, long copiedPromptTokens,
                 long draftTokens, long acceptedDraftTokens, long verifyPasses, long lenientDraftTokens) {
        /** Stats without the typical acceptance counter. */
        Stats(int activeSequences, int queuedRequests, int slots, long kvCacheTokensUsed, long kvCacheCapacityTokens,
              long kvCacheTokensCached, long cachedPromptTokens, long kvCacheBytes, long copiedPromptTokens,
              long draftTokens, long acceptedDraftTokens, long verifyPasses) {
            this(activeSequences, queuedRequests, slots, kvCacheTokensUsed, kvCacheCapacityTokens, kvCacheTokensCached,
                    cachedPromptTokens, kvCacheBytes, copiedPromptTokens, draftTokens, acceptedDraftTokens, verifyPasses, 0);
        }

        /** Stats without speculative decoding counters. */
        Stats(int activeSequences, int queuedRequests, int slots, long kvCacheTokensUsed, long kvCacheCapacityTokens,
              long kvCacheTokensCached, long cachedPromptTokens, long kvCacheBytes, long copiedPromptTokens) {
            this(activeSequences, queuedRequests, slots, kvCacheTokensUsed, kvCacheCapacityTokens, kvCacheTokensCached,
                    cachedPromptTokens, kvCacheBytes, copiedPromptTokens, 0, 0, 0);
        }

        /** Stats of an engine that does not measure its KV memory. */
        Stats(int activeSequences, int queuedRequests, int slots, long kvCacheTokensUsed, long kvCacheCapacityTokens,
              long kvCacheTokensCached, long cachedPromptTokens) {
            this(activeSequences, queuedRequests, slots, kvCacheTokensUsed, kvCacheCapacityTokens, kvCacheTokensCached,
                    cachedPromptTokens, 0, 0);
        }

        /** @return whether every slot is running a generation */
        public boolean full() {
            return activeSequences >= slots;
        }
    }
}
