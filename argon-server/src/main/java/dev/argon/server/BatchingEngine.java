package dev.argon.server;

import dev.argon.ArgonException;
import dev.argon.generate.BatchScheduler;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * The server's engine: continuous batching through one {@link BatchScheduler}. Up to
 * {@code parallel} requests share every forward pass; more wait in a bounded queue (503 beyond);
 * a request's slot is freed at the first step after its client is gone; prompts that start like a
 * slot's previous prompt (multi-turn chat) reuse its cached prefix.
 *
 * <p>Errors: a full queue is 503 {@code server_busy} at once (for {@code n} choices, when they do
 * not all fit, none is queued); a generation whose forward pass fails is 500
 * {@code model_failed}; once the scheduler failed for good ({@link #failure()}) every request is
 * 503 {@code model_failed} at once.
 */
public final class BatchingEngine implements Engine {
    /** Prompt tokens processed per step across all sequences (the prefill chunk). */
    public static final int STEP_TOKENS = 64;

    private final BatchScheduler scheduler;
    private final int contextLength;
    private final int capacity;
    private volatile dev.argon.generate.SpeculationParams speculation = dev.argon.generate.SpeculationParams.NONE;
    private volatile boolean hasDraftModel;

    /**
     * @param parallel sequences per forward pass (slots)
     * @param queueCapacity requests that may wait for a slot
     * @param contextLength KV cache size of each slot in tokens
     * @param precision KV cache precision
     * @param prefixReuse whether a slot's cached prompt prefix may serve a new request
     */
    public BatchingEngine(LanguageModel model, int parallel, int queueCapacity, int contextLength, KvCache.Precision precision,
                   boolean prefixReuse) {
        this(model, parallel, queueCapacity, contextLength, precision, prefixReuse, STEP_TOKENS, ContextPolicy.NONE);
    }

    /**
     * As the six-argument constructor, with {@code stepTokens} prompt tokens per forward pass
     * across all sequences (several prompts' rows are packed into one pass; offline batch jobs
     * take more than the server's {@value #STEP_TOKENS}, as they need no short steps for streaming).
     */
    public BatchingEngine(LanguageModel model, int parallel, int queueCapacity, int contextLength, KvCache.Precision precision,
                   boolean prefixReuse, int stepTokens) {
        this(model, parallel, queueCapacity, contextLength, precision, prefixReuse, stepTokens, ContextPolicy.NONE);
    }

    /**
     * @param policy what a slot's full KV cache does: stop, shift the context, or keep sinks + a window
     * @see #BatchingEngine(LanguageModel, int, int, int, KvCache.Precision, boolean)
     */
    public BatchingEngine(LanguageModel model, int parallel, int queueCapacity, int contextLength, KvCache.Precision precision,
                   boolean prefixReuse, ContextPolicy policy) {
        this(model, parallel, queueCapacity, contextLength, precision, prefixReuse, STEP_TOKENS, policy);
    }

    /** The general constructor: {@code stepTokens} prompt tokens per pass and a context policy. */
    public BatchingEngine(LanguageModel model, int parallel, int queueCapacity, int contextLength, KvCache.Precision precision,
                   boolean prefixReuse, int stepTokens, ContextPolicy policy) {
        this(model, new BatchScheduler.Options(parallel, contextLength, precision, queueCapacity, stepTokens, prefixReuse, policy));
    }

    /**
     * An engine on a scheduler with these options (e.g. a paged KV pool:
     * {@link BatchScheduler.Options#paged}); {@code prefixReuse} then means hashed-block prefix caching.
     */
    public BatchingEngine(LanguageModel model, BatchScheduler.Options options) {
        int parallel = options.parallel();
        int queueCapacity = options.queueCapacity();
        int contextLength = options.contextLength();
        this.scheduler = new BatchScheduler(model, options);
        this.contextLength = contextLength;
        this.capacity = parallel + queueCapacity;
        this.encoder = model instanceof dev.argon.model.TextEncoder ? model.config().architecture() : null;
    }

    /** The architecture when the model is an encoder (embeddings only), else null. */
    private final String encoder;

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
        return await(submit(List.of(req), promptIds, cancelled).getFirst(), listener);
    }

    /** All choices are queued or none: a request that does not fit is 503 at once and holds nothing. */
    @Override
    public List<GenerationResult> runAll(List<GenerationRequest> reqs, int[] promptIds, IntFunction<GenerationListener> listeners,
                                         BooleanSupplier cancelled) {
        List<BatchScheduler.Handle> handles = submit(reqs, promptIds, cancelled);
        if (handles.size() == 1) {
            return List.of(await(handles.getFirst(), listeners.apply(0)));
        }
        List<Future<GenerationResult>> futures = new ArrayList<>();
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < handles.size(); i++) {
                int k = i;
                futures.add(exec.submit(() -> {
                    try {
                        return await(handles.get(k), listeners.apply(k));
                    } catch (RuntimeException e) {
                        handles.forEach(BatchScheduler.Handle::cancel); // the answer failed: free the others' slots
                        throw e;
                    }
                }));
            }
        }
        return Engine.results(futures);
    }

    private List<BatchScheduler.Handle> submit(List<GenerationRequest> reqs, int[] promptIds, BooleanSupplier cancelled) {
        if (encoder != null) {
            throw ApiException.badRequest(null, "this server's model (" + encoder + ") is an embedding encoder: it serves"
                    + " /v1/embeddings and /api/embed, not text generation");
        }
        reqs = withServerBans(reqs);
        if (reqs.getFirst().guided() && scheduler.options().parallel() < 2) {
            throw ApiException.badRequest("guidance_scale", "'guidance_scale' runs a second sequence and needs a server with"
                    + " --parallel 2 or more; this one has " + scheduler.options().parallel());
        }
        if (reqs.getFirst().speculation().mode() == dev.argon.generate.SpeculationParams.Mode.DRAFT && !hasDraftModel) {
            throw ApiException.badRequest("speculative.type", "'speculative.type' is 'draft' but this server has no draft model"
                    + " (start it with -md/--model-draft)");
        }
        try {
            return scheduler.submitAll(reqs, promptIds, cancelled);
        } catch (BatchScheduler.OverloadedException e) {
            throw ApiException.overloaded(e.getMessage());
        } catch (BatchScheduler.ModelFailureException e) {
            throw new ApiException(503, "server_error", null, MODEL_FAILED, e.getMessage() + "; restart the server");
        } catch (ArgonException e) {
            throw ApiException.unavailable(e.getMessage());
        }
    }

    private static GenerationResult await(BatchScheduler.Handle handle, GenerationListener listener) {
        try {
            return handle.await(listener);
        } catch (BatchScheduler.ModelFailureException e) {
            throw new ApiException(500, "server_error", null, MODEL_FAILED, e.getMessage());
        } catch (ArgonException e) {
            throw ApiException.unavailable(e.getMessage());
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("the request was interrupted");
        }
    }

    /** Banned strings of every request ({@code serve --ban-string}). */
    private volatile List<String> bannedStrings = List.of();

    /**
     * Bans {@code strings} in every request, on top of each request's own {@code banned_strings}
     * ({@code serve --ban-string}; see {@link dev.argon.generate.Backtracking}).
     *
     * @return this engine
     */
    public BatchingEngine withBannedStrings(List<String> strings) {
        dev.argon.generate.Backtracking.banning(strings).validate(Integer.MAX_VALUE);
        this.bannedStrings = List.copyOf(strings);
        return this;
    }

    /** Adds the server's banned strings to each request; 400 for what backtracking cannot be combined with. */
    private List<GenerationRequest> withServerBans(List<GenerationRequest> reqs) {
        List<GenerationRequest> out = new ArrayList<>(reqs.size());
        for (GenerationRequest r : reqs) {
            if (!bannedStrings.isEmpty()) {
                if (r.guided()) {
                    throw ApiException.badRequest("guidance_scale", "'guidance_scale' cannot be combined with this server's --ban-string");
                }
                if (r.constraint() != null) {
                    throw ApiException.badRequest("response_format", "a grammar, JSON schema or tool call cannot be combined with this"
                            + " server's --ban-string (backing up would need the grammar's state at every token)");
                }
                if (r.speculation().active()) { // the server's own default is none here (serve refuses --spec with --ban-string)
                    throw ApiException.badRequest("speculative.type", "speculative decoding cannot be combined with this server's"
                            + " --ban-string: drop the 'speculative.*' fields");
                }
                r = r.withBacktracking(r.backtracking().withBannedStrings(bannedStrings));
            }
            if (r.backtracking().active() && scheduler.options().policy().unbounded()) {
                throw ApiException.badRequest("banned_strings", "'banned_strings' and 'backspace_token' cannot be combined with this"
                        + " server's context policy (" + scheduler.options().policy() + ")");
            }
            out.add(r);
        }
        return out;
    }

    /** The error code of a generation the model could not run. */
    static final String MODEL_FAILED = "model_failed";

    /** Calls {@code listener} with {@link #failure()}'s message once the model fails for good (for the server's log). */
    public void onFailure(java.util.function.Consumer<String> listener) {
        scheduler.onFailure(t -> listener.accept(failure()));
    }

    /**
     * Sets the speculative decoding of requests that do not give their own ({@code --spec},
     * {@code --draft-max}, ...) and the draft model, if any, that {@code draft} requests use.
     *
     * @param draftModel makes a draft-model proposer per sequence, or null for none
     * @return this engine
     */
    public BatchingEngine withSpeculation(dev.argon.generate.SpeculationParams defaults,
                                          dev.argon.generate.DraftProposer.Factory draftModel) {
        defaults.validate();
        this.speculation = defaults;
        this.hasDraftModel = draftModel != null;
        scheduler.setDraftModel(draftModel);
        return this;
    }

    @Override
    public dev.argon.generate.SpeculationParams speculation() {
        return speculation;
    }

    @Override
    public String failure() {
        return scheduler.describeFailure();
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
                s.reusedPromptTokens(), s.kvBytes(), s.copiedPromptTokens(), s.draftTokens(), s.acceptedDraftTokens(),
                s.verifyPasses(), scheduler.speculationStats().lenientAccepted());
    }

    @Override
    public BatchScheduler.PagingStats paging() {
        return scheduler.paging();
    }

    @Override
    public void close() {
        scheduler.close();
    }
}
