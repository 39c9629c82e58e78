package dev.argon.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads for data-parallel kernels, built for the many short parallel
 * loops of a decode step (hundreds per token, each a few microseconds to milliseconds).
 *
 * <p>{@link #parallelFor} splits an index range into a few contiguous chunks per thread, and the
 * caller and the workers claim chunks until none is left (a compare-and-set on one counter that
 * also carries the loop's generation, so a worker that wakes late can never claim a chunk of a
 * newer loop). Claiming instead of a fixed chunk per thread matters on a busy machine: when a
 * worker is descheduled (a server's HTTP threads or a client share the cores), the caller does
 * its chunks instead of spinning until the worker runs again. Chunks are contiguous, so outputs
 * written by different threads share at most the cache line at a chunk boundary. Idle workers
 * spin briefly on the counter (a hand-over costs about a microsecond), then park, so an idle pool
 * uses no CPU. Nothing is allocated per call. Which thread runs a chunk never changes a result:
 * bodies compute each index on its own.
 *
 * <p>Threads are created once, as daemons; close the pool to stop them. Several threads may call
 * {@link #parallelFor} (a server's slots share one model): they take turns, one loop at a time,
 * each loop using all threads. Not reentrant: a body must not call {@link #parallelFor} on the
 * same pool.
 */
public final class ThreadPool implements AutoCloseable {
    /** Body of a parallel loop over {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    /** Spin iterations before an idle worker parks (a few microseconds: the gap between two kernels of one decode step); system property {@code argon.pool.spins}. */
    private static final int SPINS = Integer.getInteger("argon.pool.spins", 4_000);

    private final int nThreads;
    private final Thread[] workers;
    private final AtomicIntegerArray sleeping;
    /** Chunks per thread: enough for a caller to absorb a late worker's share; system property {@code argon.pool.chunks}. */
    private static final int CHUNKS_PER_THREAD = Integer.getInteger("argon.pool.chunks", 4);
    /**
     * The current loop's generation (bits 32..63), its number of chunks (bits 16..31) and its next
     * unclaimed chunk (bits 0..15). The chunk count lives here, not in a field, so that a claim is
     * checked against the loop it claims from in one compare-and-set.
     */
    private final AtomicLong state = new AtomicLong();
    /** Most chunks a loop is split into (the state's 16-bit fields). */
    private static final int MAX_CHUNKS = 0xFFFF;
    private volatile boolean shutdown;
    private RangeBody body;
    private int n;
    private final AtomicInteger done = new AtomicInteger();
    /** Serializes callers: the fields above describe one loop at a time. */
    private final java.util.concurrent.locks.ReentrantLock callers = new java.util.concurrent.locks.ReentrantLock();
    private volatile Throwable failure;

    /** @param nThreads number of threads including the caller's; at least 1 */
    public ThreadPool(int nThreads) {
        if (nThreads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + nThreads);
        }
        this.nThreads = nThreads;
        this.workers = new Thread[nThreads - 1];
        this.sleeping = new AtomicIntegerArray(Math.max(1, nThreads - 1));
        for (int i = 0; i < workers.length; i++) {
            int index = i;
            Thread t = new Thread(() -> workLoop(index), "argon-worker-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** A pool of one thread, the caller's: {@link #parallelFor} runs the loop in place. */
    public static final ThreadPool CALLER_ONLY = new ThreadPool(1);

    /** @return a pool with one thread per available processor */
    public static ThreadPool allCores() {
        return new ThreadPool(Runtime.getRuntime().availableProcessors());
    }

    /** @return the number of threads, including the caller's */
    public int threads() {
        return nThreads;
    }

    /**
     * Work (in multiply-adds, roughly) below which {@link #parallelFor(int, long, RangeBody)} runs
     * on the calling thread: a hand-over to the workers costs about a microsecond each way, more
     * than a few thousand multiply-adds take. System property {@code argon.pool.minWork}.
     */
    public static final long MIN_PARALLEL_WORK = Long.getLong("argon.pool.minWork", 32_768);

    /**
     * {@link #parallelFor(int, RangeBody)} when {@code work} (multiply-adds or a comparable count
     * for the whole range) is at least {@link #MIN_PARALLEL_WORK}; otherwise {@code body} runs on
     * the calling thread over the whole range. Chunking never changes results: each index is
     * computed the same way wherever it runs.
     */
    public void parallelFor(int n, long work, RangeBody body) {
        if (work < MIN_PARALLEL_WORK) {
            if (n > 0) {
                body.run(0, n);
            }
            return;
        }
        parallelFor(n, work < SMALL_LOOP_WORK ? 1 : CHUNKS_PER_THREAD, body);
    }

    /**
     * Work (multiply-adds) below which {@link #parallelFor(int, long, RangeBody)} splits a loop into
     * one chunk per thread instead of {@link #CHUNKS_PER_THREAD}: for the many products of a small
     * model's decode step (SmolLM2-135M: 0.3–0.9 M multiply-adds, a few microseconds each), the
     * claims and completions of extra chunks on two shared counters cost more than they balance
     * (SmolLM2-shape Q4_0 decode on two threads: 139–142 tokens/s with one chunk per thread,
     * 110–130 with four; 1B-shape products are unaffected). System property
     * {@code argon.pool.smallWork}.
     */
    public static final long SMALL_LOOP_WORK = Long.getLong("argon.pool.smallWork", 1L << 21);

    /**
     * Runs {@code body} over {@code [0, n)} split into a few contiguous chunks per thread
     * and waits for all of them. An exception thrown by a chunk is rethrown here.
     */
    public void parallelFor(int n, RangeBody body) {
        parallelFor(n, CHUNKS_PER_THREAD, body);
    }

    private void parallelFor(int n, int chunksPerThread, RangeBody body) {
        int c = nThreads == 1 ? 1 : Math.min(Math.min(nThreads * chunksPerThread, MAX_CHUNKS), n);
        if (c <= 1) {
            body.run(0, n);
            return;
        }
        callers.lock();
        try {
            runLoop(n, c, body);
        } finally {
            callers.unlock();
        }
    }

    private void runLoop(int n, int c, RangeBody body) {
        this.body = body;
        this.n = n;
        this.failure = null;
        done.set(0);
        long g = ((state.get() >>> 32) + 1) & 0xFFFF_FFFFL; // wraps after 2^32 loops; only inequality matters
        state.set(g << 32 | (long) c << 16); // volatile write: publishes body and n to the workers
        for (int i = 0; i < workers.length; i++) {
            if (sleeping.get(i) != 0) {
                LockSupport.unpark(workers[i]);
            }
        }
        try {
            runChunks(g);
        } finally {
            // Wait for the chunks workers have claimed and not finished; yield now and then so that
            // a worker descheduled on a busy machine gets the core back instead of watching us spin.
            for (int spins = 0; done.get() != c; spins++) {
                if ((spins & 1023) == 1023) {
                    Thread.yield();
                } else {
                    Thread.onSpinWait();
                }
            }
            this.body = null;
        }
        Throwable f = failure;
        if (f != null) {
            if (f instanceof RuntimeException re) {
                throw re;
            }
            if (f instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(f);
        }
    }

    /**
     * Claims and runs chunks of loop {@code g} until none is left. {@link #body} and {@link #n} are
     * read only after a claim succeeded: loop {@code g} cannot end (and a newer loop cannot
     * overwrite them) before this claim's chunk is counted in {@link #done}. Reading them before the
     * claim would race with the next loop's set-up: a worker that saw loop {@code g} late could
     * check a claim against the next loop's chunk count and steal a chunk that does not exist
     * (seen as a hang on a busy two-core machine: the done count stepped past the chunk count).
     */
    private void runChunks(long g) {
        while (true) {
            long s = state.get();
            int c = (int) (s >>> 16) & 0xFFFF;
            int k = (int) s & 0xFFFF;
            if ((s >>> 32) != g || k >= c) {
                return;
            }
            if (!state.compareAndSet(s, s + 1)) {
                continue;
            }
            try {
                int total = n;
                body.run((int) ((long) total * k / c), (int) ((long) total * (k + 1) / c));
            } catch (Throwable t) {
                failure = t;
            } finally {
                done.incrementAndGet();
            }
        }
    }

    private void workLoop(int index) {
        long seen = 0;
        while (true) {
            long g = awaitWork(index, seen);
            if (shutdown) {
                return;
            }
            seen = g;
            runChunks(g);
        }
    }

    /** @return the generation of a loop newer than {@code seen} (or any, once shut down) */
    private long awaitWork(int index, long seen) {
        for (int i = 0; i < SPINS; i++) {
            long g = state.get() >>> 32;
            if (g != seen || shutdown) {
                return g;
            }
            if ((i & 1023) == 1023) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        sleeping.set(index, 1); // visible before the generation is re-checked below
        try {
            while (true) {
                long g = state.get() >>> 32;
                if (g != seen || shutdown) {
                    return g;
                }
                LockSupport.park(this);
            }
        } finally {
            sleeping.set(index, 0);
        }
    }

    @Override
    public void close() {
        shutdown = true;
        for (Thread t : workers) {
            LockSupport.unpark(t);
        }
    }
}
