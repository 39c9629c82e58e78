package dev.argon.server;

import dev.argon.ArgonException;
import dev.argon.generate.BatchScheduler;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The server's engine: continuous batching through one {@link BatchScheduler}. Up to
 * {@code parallel} requests share every forward pass; more wait in a bounded queue (503 beyond);
 * a request's slot is freed at the first step after its client is gone; prompts that start like a
 * slot's previous prompt (multi-turn chat) reuse its cached prefix.
 */
public final class BatchingEngine implements Engine {
    /** Prompt tokens processed per step across all sequences (the prefill chunk). */
    static final int STEP_TOKENS = 64;

    private final BatchScheduler scheduler;
    private final int contextLength;
    private final int capacity;

    /**
     * @param parallel sequences per forward pass (slots)
     * @param queueCapacity requests that may wait for a slot
     * @param contextLength KV cache size of each slot in tokens
     * @param precision KV cache precision
     * @param prefixReuse whether a slot's cached prompt prefix may serve a new request
     */
    public BatchingEngine(LanguageModel model, int parallel, int queueCapacity, int contextLength, KvCache.Precision precision,
                   boolean prefixReuse) {
        this.scheduler = new BatchScheduler(model, new BatchScheduler.Options(parallel, contextLength, precision,
                queueCapacity, STEP_TOKENS, prefixReuse));
        this.contextLength = contextLength;
        this.capacity = parallel + queueCapacity;
    }

    /** @return an engine with the slots, queue, context and precision of {@code config}, prefix reuse on */
    public static BatchingEngine of(LanguageModel model, ServerConfig config) {
        return new BatchingEngine(model, config.parallel(), config.queueCapacity(), config.contextLength(),
                config.cachePrecision(), true);
    }

    @Override
    public GenerationResult run(GenerationRequest req, int[] promptIds, Consumer<String> onText, BooleanSupplier cancelled) {
        GenerationListener listener = onText::accept;
        return run(req, promptIds, listener, cancelled);
    }

    /**
     * As {@link #run(GenerationRequest, int[], Consumer, BooleanSupplier)}, with every token (and
     * its log-probabilities when asked) reported to {@code listener} on the calling thread.
     */
    @Override
    public GenerationResult run(GenerationRequest req, int[] promptIds, GenerationListener listener, BooleanSupplier cancelled) {
        BatchScheduler.Handle handle;
        try {
            handle = scheduler.submit(req, promptIds, cancelled);
        } catch (BatchScheduler.OverloadedException e) {
            throw ApiException.overloaded(e.getMessage());
        } catch (ArgonException e) {
            throw ApiException.unavailable(e.getMessage());
        }
        try {
            return handle.await(listener);
        } catch (ArgonException e) {
            throw ApiException.unavailable(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("the request was interrupted");
        }
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void refuseWaiting() {
        scheduler.refuseWaiting("the server is shutting down; retry on another server or later");
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public Stats stats() {
        BatchScheduler.Stats s = scheduler.stats();
        return new Stats(s.active(), s.queued(), s.slots(), s.kvTokensUsed(), s.kvTokensCapacity(), s.kvTokensCached(),
                s.reusedPromptTokens());
    }

    @Override
    public void close() {
        scheduler.close();
    }
}
