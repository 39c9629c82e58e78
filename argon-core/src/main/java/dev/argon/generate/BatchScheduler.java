package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.BlockPool;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.kv.PrefixCache;
import dev.argon.model.Batch;
import dev.argon.model.LanguageModel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Continuous batching (Yu et al., "Orca", OSDI 2022): up to {@link Options#parallel()} sequences
 * run together, one {@link Batch} per step. Each step carries one decode token of every running
 * sequence plus prompt chunks of newly admitted ones (at most {@link Options#stepTokens()} prompt
 * tokens per step, so a long prompt does not stall the others); new requests join between steps
 * and finished or cancelled ones leave between steps, freeing their slot at once.
 *
 * <p>Each slot owns a KV cache of {@link Options#contextLength()} tokens. With
 * {@link Options#prefixReuse()}, a slot remembers the prompt tokens its cache holds, and a new
 * request goes to the free slot whose cached prompt shares the longest prefix with its own; those
 * positions are not computed again (multi-turn chat re-sends the whole conversation). Only prompt
 * tokens are reused, never generated ones: prompt and generated tokens use different arithmetic
 * (see {@link dev.argon.tensor.Ops#matmul}), and reusing only prompt positions keeps every output
 * bit-identical to a run without reuse. Outputs are also independent of which other sequences
 * share a step.
 *
 * <p>Paged mode ({@link Options#kvBlockSize()} > 0, no context policy): the slots' rows live in
 * one {@link BlockPool} shared by all of them (memory follows use), and with
 * {@link Options#prefixReuse()} the slot logic above is replaced by a {@link PrefixCache}: full
 * blocks of computed prompt rows are registered under their chained hash when computed, and a new
 * request maps the longest chain of them that matches its prompt (shared, not copied), whichever
 * slot computed them and whether it still runs. A request is admitted when the pool can hold its
 * prompt; before each step every running sequence maps the blocks it will write, and one the pool
 * cannot serve fails with {@link BlockPool.ExhaustedException}'s message (never a hang).
 *
 * <p>The parts, each in its own class: {@link SlotAdmission} (slots, paged pool and prefix cache: which
 * slot and cached prefix a request gets), {@link StepPlanner} (the rows of a step), the forward pass
 * ({@link #runPass}), {@link StepUpdater} (the logits back to the sequences: sampling, draft
 * verification through {@link SpeculativeStep}, guidance mixing). This class is the loop around them;
 * {@link Generator} runs the same parts for one request on the caller's thread.
 *
 * <p>Requests wait in a FIFO queue of {@link Options#queueCapacity()}; beyond it
 * {@link #submit} throws {@link OverloadedException}. One loop thread runs the model; callers
 * receive their events on their own thread through {@link Handle#await}.
 *
 * <p>Failures: an exception in a forward pass fails the requests in that pass with a
 * {@link ModelFailureException}; the others go on. An {@link Error} (such as the
 * {@link InternalError} a memory-mapped model file raises once it is truncated under the running
 * process) or any other unexpected throwable in the loop is fatal: every waiting and running
 * request fails with a {@link ModelFailureException}, {@link #failure()} reports it, and later
 * {@link #submit} calls throw one at once. The loop thread never dies silently, and no caller
 * waits for it forever.
 */
public final class BatchScheduler implements AutoCloseable {
    /**
     * @param parallel sequences run together (slots, each with its own KV cache), >= 1
     * @param contextLength KV cache size of each slot in tokens
     * @param precision KV cache precision
     * @param queueCapacity requests that may wait for a slot, >= 0
     * @param stepTokens prompt tokens processed per step across all sequences, >= 1
     * @param prefixReuse whether a new request may reuse a slot's cached prompt prefix
     * @param policy what a slot's full KV cache does (stop, shift, sinks + window)
     * @param kvBlockSize tokens per block of the shared paged KV pool; 0: each slot owns a contiguous
     *     cache (also used, whatever this says, with a context policy, which moves rows)
     * @param kvPoolTokens tokens the paged pool may hold; 0: {@code parallel * contextLength} (every
     *     slot can fill its context)
     */
    public record Options(int parallel, int contextLength, KvCache.Precision precision, int queueCapacity, int stepTokens,
                          boolean prefixReuse, ContextPolicy policy, int kvBlockSize, int kvPoolTokens) {
        /** @throws IllegalArgumentException if a value is out of range */
        public Options {
            if (parallel < 1 || contextLength < 2 || queueCapacity < 0 || stepTokens < 1 || kvBlockSize < 0 || kvPoolTokens < 0) {
                throw new IllegalArgumentException("parallel " + parallel + ", context " + contextLength + ", queue "
                        + queueCapacity + ", step tokens " + stepTokens + ", block size " + kvBlockSize + ", pool " + kvPoolTokens);
            }
        }

        /** Options with per-slot contiguous caches (no paging). */
        public Options(int parallel, int contextLength, KvCache.Precision precision, int queueCapacity, int stepTokens,
                       boolean prefixReuse, ContextPolicy policy) {
            this(parallel, contextLength, precision, queueCapacity, stepTokens, prefixReuse, policy, 0, 0);
        }

        /** @return these options with a paged pool of {@code blockSize}-token blocks holding {@code poolTokens} (0: the default) */
        public Options paged(int blockSize, int poolTokens) {
            return new Options(parallel, contextLength, precision, queueCapacity, stepTokens, prefixReuse, policy, blockSize, poolTokens);
        }

        /** @return whether the slots share a paged pool (a block size is set and no context policy moves rows) */
        public boolean pagedPool() {
            return kvBlockSize > 0 && !policy.needsContiguousCache();
        }

        /** Options whose full caches stop generation ({@link ContextPolicy#NONE}). */
        public Options(int parallel, int contextLength, KvCache.Precision precision, int queueCapacity, int stepTokens,
                       boolean prefixReuse) {
            this(parallel, contextLength, precision, queueCapacity, stepTokens, prefixReuse, ContextPolicy.NONE);
        }
    }

    /**
     * A snapshot of the scheduler.
     *
     * @param slots sequences that can run together
     * @param active sequences running now
     * @param queued requests waiting for a slot
     * @param kvTokensUsed KV cache positions held by running sequences
     * @param kvTokensCapacity KV cache positions of all slots
     * @param kvTokensCached KV cache positions that idle slots keep for prefix reuse
     * @param requests requests finished since start
     * @param promptTokens prompt tokens of admitted requests
     * @param reusedPromptTokens prompt tokens served from a cached prefix instead of computed
     * @param generatedTokens tokens generated
     * @param steps forward passes run
     * @param rows token rows run in those passes (rows / steps = mean batch size)
     * @param kvBytes bytes the slots' KV caches hold now (memory grows with use and is released
     *     when a request ends, down to the prompt kept for prefix reuse)
     * @param copiedPromptTokens of {@code reusedPromptTokens}, those copied from another slot's cache
     * @param draftTokens speculative decoding: draft tokens proposed and verified
     * @param acceptedDraftTokens of those, the ones accepted
     * @param verifyPasses sequence-steps that verified at least one draft token
     */
    public record Stats(int slots, int active, int queued, long kvTokensUsed, long kvTokensCapacity, long kvTokensCached, long requests,
                        long promptTokens, long reusedPromptTokens, long generatedTokens, long steps, long rows, long kvBytes,
                        long copiedPromptTokens, long draftTokens, long acceptedDraftTokens, long verifyPasses) {
    }

    /**
     * The paged pool and its prefix cache.
     *
     * @param blocks the pool's blocks (total, used, cached) and bytes
     * @param prefixCaching whether prefix caching is on
     * @param hitTokens prompt tokens served from cached blocks, since start
     * @param missTokens prompt tokens computed (not found), since start
     * @param lookups admitted sequences that looked up their prompt
     * @param hits of those, the ones that reused at least one block
     */
    public record PagingStats(BlockPool.Stats blocks, boolean prefixCaching, long hitTokens, long missTokens, long lookups, long hits) {
    }

    /** The wait queue is full (HTTP 503). */
    public static final class OverloadedException extends ArgonException {
        OverloadedException(String message) {
            super(message);
        }
    }

    /**
     * The model could not be run: a forward pass failed (the requests in it fail), or the
     * scheduler failed for good ({@link #failure()}; every request fails, later ones at once).
     */
    public static final class ModelFailureException extends ArgonException {
        ModelFailureException(String message, Throwable cause) {
            super(message);
            if (cause != null) {
                initCause(cause);
            }
        }
    }

    /** Milliseconds without an event after which {@link Handle#await} asks {@link GenerationListener#stillWanted}. */
    public static final long WAIT_CHECK_MS = 500;

    /** A submitted request: its events arrive through {@link #await}. */
    public static final class Handle {
        private final BatchScheduler scheduler;
        private final ScheduledRequest request;

        private Handle(BatchScheduler scheduler, ScheduledRequest request) {
            this.scheduler = scheduler;
            this.request = request;
        }

        /**
         * Delivers this request's events to {@code listener} on the calling thread until the
         * generation ends, with {@link GenerationListener#onPause} each time no further event is
         * ready and {@link GenerationListener#stillWanted} every {@value #WAIT_CHECK_MS} ms without
         * an event (false cancels the request).
         *
         * @return the outcome (finish reason {@link FinishReason#CANCELLED} if cancelled); its
         *     {@link GenerationResult#cachedPromptTokens()} counts the prompt tokens reused from the slot's cache
         * @throws ArgonException if the scheduler shut down or the forward pass failed
         * @throws InterruptedException if the calling thread is interrupted (the request is then cancelled)
         */
        public GenerationResult await(GenerationListener listener) throws InterruptedException {
            try {
                while (true) {
                    Object e = request.events.poll();
                    if (e == null) {
                        // everything ready has been delivered: the listener may send it now, as
                        // one write when it fell behind by several events (under load)
                        listener.onPause();
                        while ((e = request.events.poll(WAIT_CHECK_MS, TimeUnit.MILLISECONDS)) == null) {
                            if (!request.cancelRequested && !listener.stillWanted()) {
                                cancel();
                            }
                            if (!scheduler.loop.isAlive() && request.events.isEmpty()) {
                                // cannot happen (the loop fails every request before it ends); never wait for a dead loop
                                throw new ModelFailureException(scheduler.failureMessage("the scheduler stopped"), scheduler.failure);
                            }
                        }
                    }
                    if (e instanceof String text) {
                        listener.onText(text);
                    } else if (e instanceof ScheduledRequest.TokenEvent t) {
                        listener.onToken(t.token(), t.logprobs());
                    } else if (e instanceof GenerationResult r) {
                        return r;
                    } else if (e instanceof ScheduledRequest.Failed f) {
                        throw f.error();
                    }
                }
            } catch (InterruptedException e) {
                cancel();
                throw e;
            }
        }

        /** Asks the scheduler to stop this request at its next step. */
        public void cancel() {
            request.cancelRequested = true;
        }
    }

    private final LanguageModel model;
    private final Options options;
    /** The slots, the paged pool and its prefix cache: which slot and cached prefix a request gets. */
    private final SlotAdmission admission;
    /** Planning: the rows of the next step. */
    private final StepPlanner planner;
    /** Updating: the step's logits back to its sequences. */
    private final StepUpdater updater;
    private final SpeculationStats speculation = new SpeculationStats();
    /** Makes a draft-model proposer per sequence ({@link SpeculationParams.Mode#DRAFT}), or null. */
    private volatile DraftProposer.Factory draftModel;
    private final ArrayDeque<ScheduledRequest> queue = new ArrayDeque<>();
    private final List<ScheduledRequest> active = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Thread loop;
    private volatile boolean closing;
    private volatile boolean stopLoop;
    /** What ended the loop for good, or null while it runs. */
    private volatile Throwable failure;
    private volatile Consumer<Throwable> onFailure = t -> { };
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong rows = new AtomicLong();
    private volatile int activeCount;
    private volatile long kvUsed;
    /** Positions idle slots keep for prefix reuse; written by the scheduler thread. */
    private volatile long kvCached;

    /**
     * Allocates the slots' KV caches and starts the loop thread.
     *
     * @throws ArgonException if the KV caches do not fit
     */
    public BatchScheduler(LanguageModel model, Options options) {
        this.model = model;
        this.options = options;
        this.admission = new SlotAdmission(model, options.parallel(), options.contextLength(), options.precision(), options.policy(),
                options.pagedPool() ? options.kvBlockSize() : 0, options.kvPoolTokens(), options.prefixReuse(), options.stepTokens(),
                active);
        this.planner = new StepPlanner(options.stepTokens(), options.parallel());
        this.updater = new StepUpdater(model.pool(), options.contextLength(), admission, options.parallel());
        this.loop = Thread.ofPlatform().name("argon-scheduler").daemon().start(this::run);
    }

    /**
     * Queues a generation.
     *
     * @param prompt prompt token ids, {@code 0 < length < contextLength}
     * @param cancelled polled before each step; true stops the generation (e.g. the client left)
     * @throws OverloadedException if the wait queue is full
     * @throws ModelFailureException if the scheduler failed for good ({@link #failure()})
     * @throws ArgonException if the scheduler is closing or a parameter is invalid
     */
    public Handle submit(GenerationRequest req, int[] prompt, BooleanSupplier cancelled) {
        return submitAll(List.of(req), prompt, cancelled).getFirst();
    }

    /**
     * Queues several generations of one prompt (the choices of one request) as a unit: all of
     * them are queued, or none is (the exception says why), so a request that does not fit
     * never holds queue places or slots.
     *
     * @param reqs the generations, at least one
     * @param prompt prompt token ids, {@code 0 < length < contextLength}
     * @param cancelled polled before each step; true stops every one of them (e.g. the client left)
     * @return their handles, in the order of {@code reqs}
     * @throws OverloadedException if the free slots and queue places are fewer than {@code reqs}
     * @throws ModelFailureException if the scheduler failed for good ({@link #failure()})
     * @throws ArgonException if the scheduler is closing or a parameter is invalid
     */
    public List<Handle> submitAll(List<GenerationRequest> reqs, int[] prompt, BooleanSupplier cancelled) {
        if (prompt.length == 0 || prompt.length >= options.contextLength()) {
            throw new ArgonException("the prompt is " + prompt.length + " tokens but the context holds "
                    + options.contextLength() + "; the context must be larger than the prompt");
        }
        if (reqs.isEmpty()) {
            throw new IllegalArgumentException("no generation to submit");
        }
        List<ScheduledRequest> rs = new ArrayList<>(reqs.size());
        for (GenerationRequest req : reqs) {
            ScheduledRequest r = new ScheduledRequest(req, prompt, cancelled, generatedTokens);
            GenerationListener events = r;
            if (req.backtracking().active()) {
                checkBacktracking(req);
                r.backtrack = new Backtracker(model, req.backtracking(), r); // holds back what a rollback may retract
                events = r.backtrack;
            }
            r.seq = new Sequence(model, req, prompt, options.contextLength(), options.policy().unbounded(), events); // validates the sampling parameters
            if (r.backtrack != null) {
                r.backtrack.attach(r.seq);
            }
            if (req.speculation().active() && !req.guided() && r.backtrack == null) {
                r.spec = speculator(req.speculation());
            }
            if (req.guided()) {
                if (options.policy().unbounded()) {
                    throw new ArgonException("classifier-free guidance cannot be combined with a context shift or sinks + window yet");
                }
                if (admission.slotCount() < 2) {
                    throw new ArgonException("classifier-free guidance runs two sequences and needs at least 2 slots (--parallel), but"
                            + " there is " + admission.slotCount());
                }
                r.negative = Generator.negativePrompt(model, req, options.contextLength());
                int vocab = model.config().vocabSize();
                r.condLogits = new float[vocab];
                r.uncondLogits = new float[vocab];
                r.mixed = new float[vocab];
            }
            rs.add(r);
        }
        lock.lock();
        try {
            if (failure != null) {
                throw new ModelFailureException(failureMessage("the model failed"), failure);
            }
            if (closing) {
                throw new ArgonException("the scheduler is shutting down");
            }
            int free = Math.max(0, admission.slotCount() - active.size());
            int room = options.queueCapacity() + free - queue.size();
            if (rs.size() > room) {
                throw new OverloadedException(rs.size() == 1
                        ? "every slot is busy (" + admission.slotCount() + ") and the queue is full (" + queue.size() + " waiting, limit "
                                + options.queueCapacity() + ")"
                        : "no room for " + rs.size() + " generations: " + free + " free slot" + (free == 1 ? "" : "s") + " and "
                                + Math.max(0, room - free) + " free queue place" + (room - free == 1 ? "" : "s") + " (limit "
                                + options.queueCapacity() + ")");
            }
            queue.addAll(rs);
            work.signal();
        } finally {
            lock.unlock();
        }
        List<Handle> handles = new ArrayList<>(rs.size());
        for (ScheduledRequest r : rs) {
            handles.add(new Handle(this, r));
        }
        return handles;
    }

    /**
     * Backtracking ({@link Backtracker}) rolls a sequence back in its own slot: the KV rows from the
     * rolled-back position on are rewritten before they are read. Speculation is skipped for it (the
     * output is the same).
     *
     * @throws ArgonException if the request also asks for guidance or a grammar, or the caches evict tokens
     */
    private void checkBacktracking(GenerationRequest req) {
        if (req.guided()) {
            throw new ArgonException("banned strings and a backspace token cannot be combined with classifier-free guidance yet");
        }
        if (req.constraint() != null) {
            throw new ArgonException("banned strings and a backspace token cannot be combined with a grammar or JSON schema"
                    + " (backing up would need the grammar's state at every token)");
        }
        if (options.policy().unbounded()) {
            throw new ArgonException("banned strings and a backspace token cannot be combined with a context shift, sinks + window"
                    + " or H2O (" + options.policy() + "): evicting tokens would move the rows a rollback returns to");
        }
    }

    /**
     * Sets the draft model that proposes tokens for requests asking for
     * {@link SpeculationParams.Mode#DRAFT} (null: such requests are refused).
     */
    public void setDraftModel(DraftProposer.Factory factory) {
        this.draftModel = factory;
    }

    /**
     * A speculator for one request (guided requests do not speculate).
     *
     * @throws ArgonException if the KV caches evict tokens, or a draft model is asked for but none is set
     */
    private SpeculativeStep speculator(SpeculationParams p) {
        p.validate();
        return SpeculativeStep.create(p, draftModel, speculation, options.policy());
    }

    /**
     * Sets what to call, on the scheduler thread, when the scheduler stops for good
     * ({@link #failure()}), before the requests fail: for example a log line.
     */
    public void onFailure(Consumer<Throwable> listener) {
        this.onFailure = listener;
    }

    /**
     * @return what stopped the scheduler for good (a fault while running the model, such as its
     *     memory-mapped file truncated under the process), or null while it works
     */
    public Throwable failure() {
        return failure;
    }

    /** @return what stopped the scheduler for good as one line for a client or a log ("the model failed: ..."), or null */
    public String describeFailure() {
        return failure == null ? null : failureMessage("the model failed");
    }

    /** {@code prefix}: the failure's class and message, as one line for a client. */
    private String failureMessage(String prefix) {
        Throwable f = failure;
        if (f == null) {
            return prefix;
        }
        if (f instanceof InternalError && String.valueOf(f.getMessage()).contains("unsafe memory access")) {
            return prefix + ": the model file could not be read (a fault in its memory mapping: it was truncated, replaced or"
                    + " removed while in use)";
        }
        return prefix + ": " + f.getClass().getSimpleName() + (f.getMessage() == null ? "" : ": " + f.getMessage());
    }

    /** @return the speculative decoding counters of every sequence run here (live, thread-safe) */
    public SpeculationStats speculationStats() {
        return speculation;
    }

    /** @return a snapshot of the counters */
    public Stats stats() {
        int queued;
        lock.lock();
        try {
            queued = queue.size();
        } finally {
            lock.unlock();
        }
        return new Stats(admission.slotCount(), activeCount, queued, kvUsed, (long) admission.slotCount() * options.contextLength(), kvCached,
                requests.get(), promptTokens.get(), admission.reusedTokens(), generatedTokens.get(), steps.get(), rows.get(), admission.kvBytes(),
                admission.copiedTokens(), speculation.proposed(), speculation.accepted(), speculation.verifyPasses());
    }

    /** @return the paged pool's and prefix cache's counters, or null without a paged pool */
    public PagingStats paging() {
        BlockPool pool = admission.pool();
        if (pool == null) {
            return null;
        }
        PrefixCache p = admission.prefixCache();
        return new PagingStats(pool.stats(), p != null, p == null ? 0 : p.hitTokens(), p == null ? 0 : p.missTokens(),
                p == null ? 0 : p.lookups(), p == null ? 0 : p.hits());
    }

    /** @return the options this scheduler runs with */
    public Options options() {
        return options;
    }

    /**
     * Stops admitting: every request still waiting for a slot fails at once with an
     * {@link ArgonException} (so its caller can answer 503), and later {@link #submit} calls are
     * refused. Running requests continue.
     *
     * @param reason the message the waiting requests fail with
     */
    public void refuseWaiting(String reason) {
        lock.lock();
        try {
            closing = true;
            for (ScheduledRequest r : queue) {
                r.fail((new ArgonException(reason)));
            }
            queue.clear();
        } finally {
            lock.unlock();
        }
    }

    /** Stops the loop: waiting and running requests end (running ones as cancelled). */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            stopLoop = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        try {
            loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            loop();
        } catch (Throwable t) {
            fail(t);
        }
    }

    /**
     * The loop ended with {@code t}: the scheduler is done. Every waiting and running request
     * fails with a {@link ModelFailureException}, and so does every later {@link #submit}.
     */
    private void fail(Throwable t) {
        failure = t;
        try {
            onFailure.accept(t);
        } catch (RuntimeException ignored) {
            // the listener only reports; the requests must still fail below
        }
        lock.lock();
        try {
            closing = true;
            String message = failureMessage("the model failed; this server cannot generate any more");
            for (ScheduledRequest r : queue) {
                r.fail((new ModelFailureException(message, t)));
            }
            queue.clear();
            for (ScheduledRequest r : active) {
                r.fail((new ModelFailureException(message, t)));
            }
            active.clear();
            activeCount = 0;
            kvUsed = 0;
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (true) {
            lock.lock();
            try {
                while (!stopLoop && active.isEmpty() && queue.isEmpty()) {
                    work.awaitUninterruptibly();
                }
                if (stopLoop) {
                    for (ScheduledRequest r : queue) {
                        r.fail((new ArgonException("the server is shutting down")));
                    }
                    queue.clear();
                    for (ScheduledRequest r : active) {
                        r.seq.cancel();
                        finish(r);
                    }
                    active.clear();
                    activeCount = 0;
                    return;
                }
                dropCancelledWaiting();
                while (!queue.isEmpty() && admission.freeSlots() >= queue.peek().slotsNeeded()) {
                    if (!admission.fits(queue.peek())) {
                        if (!active.isEmpty()) {
                            break; // waits for running sequences to free blocks
                        }
                        refuseTooLarge(queue.poll());
                        continue;
                    }
                    start(queue.poll());
                }
            } finally {
                lock.unlock();
            }
            step();
        }
    }

    /** Ends the waiting requests whose caller cancelled them (the client left), freeing their queue places. Holds the lock. */
    private void dropCancelledWaiting() {
        for (java.util.Iterator<ScheduledRequest> it = queue.iterator(); it.hasNext(); ) {
            ScheduledRequest r = it.next();
            if (r.cancelRequested) { // (the caller's own supplier is polled before steps only)
                it.remove();
                r.seq.cancel();
                requests.incrementAndGet();
                r.complete(r.seq.result(0, 0));
            }
        }
    }

    /** Fails a request whose prompt the paged pool cannot hold even when nothing else runs. Holds the lock. */
    private void refuseTooLarge(ScheduledRequest r) {
        r.seq.cancel();
        requests.incrementAndGet();
        r.fail(admission.tooLarge(r));
    }

    /** Admits the request ({@link SlotAdmission#admit}) and starts running it. Holds the lock. */
    private void start(ScheduledRequest r) {
        admission.admit(r);
        r.started = System.nanoTime();
        promptTokens.addAndGet(r.prompt.length);
        active.add(r);
        activeCount = active.size();
    }

    /**
     * Paged mode: maps, before a step, the blocks every running sequence will write in it (its
     * prompt chunk, or its decode row and draft rows); a sequence the pool cannot serve fails with
     * the pool's message and lets go of its blocks, so the others go on.
     */
    private void reserveBlocks() {
        for (int i = 0; i < active.size(); i++) {
            ScheduledRequest r = active.get(i);
            try {
                admission.reserve(r);
            } catch (BlockPool.ExhaustedException e) {
                r.seq.cancel();
                r.fail(e);
                admission.releaseBlocks(r);
                lock.lock();
                try {
                    active.remove(i--);
                    activeCount = active.size();
                } finally {
                    lock.unlock();
                }
                requests.incrementAndGet();
            }
        }
    }

    /**
     * One step over every running sequence, in three parts (vLLM's schedule → run → update):
     * {@link StepPlanner} fills the batch, {@link #runPass} runs the forward pass, {@link StepUpdater}
     * hands the logits back (sampling, draft verification); then finished requests retire.
     */
    private void step() {
        // cancellations first: they free their slots before any work is spent on them
        for (int i = active.size() - 1; i >= 0; i--) {
            ScheduledRequest r = active.get(i);
            if (r.cancelPolled()) {
                r.seq.cancel();
                retire(i);
            }
        }
        if (admission.pool() != null) {
            reserveBlocks();
        }
        if (active.isEmpty()) {
            return;
        }
        StepPlan plan = planner.plan(active);
        if (runPass(plan)) {
            updater.update(plan, active);
            for (int i = active.size() - 1; i >= 0; i--) {
                if (active.get(i).seq.finished()) {
                    retire(i);
                }
            }
            kvUsed = StepUpdater.kvTokensUsed(active);
            countCached();
        }
    }

    /**
     * Runs the forward pass. A failure fails the requests that had rows in it (the others go on).
     *
     * @return whether it ran
     */
    private boolean runPass(StepPlan plan) {
        try {
            model.forward(plan.batch());
        } catch (RuntimeException e) { // an Error (e.g. a fault reading the weights) is fatal: see run()
            ModelFailureException failed = new ModelFailureException("the forward pass failed: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()), e);
            for (int i = active.size() - 1; i >= 0; i--) {
                ScheduledRequest r = active.get(i);
                if (plan.runs(i)) {
                    r.fail((failed));
                    admission.drop(r);
                    lock.lock();
                    try {
                        active.remove(i);
                        activeCount = active.size();
                    } finally {
                        lock.unlock();
                    }
                }
            }
            return false;
        }
        steps.incrementAndGet();
        rows.addAndGet(plan.batch().size());
        return true;
    }

    /** Updates {@link #kvCached}: the cached prompts of the slots no running request holds. */
    private void countCached() {
        kvCached = admission.cachedTokens();
    }

    /** Ends active request {@code i}: records its slot's cached prompt and delivers the result. */
    private void retire(int i) {
        ScheduledRequest r = active.get(i);
        lock.lock();
        try {
            active.remove(i);
            activeCount = active.size();
            if (active.isEmpty()) {
                kvUsed = 0;
            }
        } finally {
            lock.unlock();
        }
        finish(r);
    }

    private void finish(ScheduledRequest r) {
        if (r.backtrack != null) {
            r.backtrack.releaseAll(); // (a cancelled sequence's held-back text)
        }
        admission.release(r);
        countCached();
        long end = System.nanoTime();
        long first = r.firstLogits == 0 ? end : r.firstLogits;
        requests.incrementAndGet();
        r.complete(r.seq.result((first - r.started) / 1e9, (end - first) / 1e9).withCachedPromptTokens(r.reused));
    }
}
