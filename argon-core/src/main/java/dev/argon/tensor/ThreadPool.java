package dev.argon.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads for data-parallel kernels, built for the many short parallel
 * loops of a decode step (hundreds per token, each a few microseconds to milliseconds).
 *
 * <p>{@link #parallelFor} splits an index range into one contiguous chunk per thread (the
 * caller's thread takes the first), so neighbouring outputs written by different threads are far
 * apart and do not share cache lines. Work is handed over through a volatile generation counter:
 * idle workers spin briefly on it (a hand-over costs about a microsecond instead of the tens of
 * microseconds of an executor's queue and futures), then park until new work arrives, so an idle
 * pool uses no CPU. Nothing is allocated per call.
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
    private volatile long generation;
    private volatile boolean shutdown;
    private RangeBody body;
    private int n;
    private int chunks;
    private final AtomicInteger pending = new AtomicInteger();
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
            int chunk = i + 1;
            Thread t = new Thread(() -> workLoop(chunk), "argon-worker-" + chunk);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** @return a pool with one thread per available processor */
    public static ThreadPool allCores() {
        return new ThreadPool(Runtime.getRuntime().availableProcessors());
    }

    /** @return the number of threads, including the caller's */
    public int threads() {
        return nThreads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into at most {@link #threads()} contiguous chunks
     * and waits for all of them. An exception thrown by a chunk is rethrown here.
     */
    public void parallelFor(int n, RangeBody body) {
        int c = Math.min(nThreads, n);
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
        this.chunks = c;
        this.failure = null;
        pending.set(c - 1);
        generation++; // volatile write: publishes body, n and chunks to the workers
        for (int i = 0; i < c - 1; i++) {
            if (sleeping.get(i) != 0) {
                LockSupport.unpark(workers[i]);
            }
        }
        try {
            body.run(0, (int) ((long) n / c));
        } finally {
            // Spin while the workers finish; yield now and then so that a worker descheduled on a
            // busy machine gets the core back instead of watching us spin.
            for (int spins = 0; pending.get() != 0; spins++) {
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

    private void workLoop(int chunk) {
        long seen = 0;
        while (true) {
            long g = awaitWork(chunk - 1, seen);
            if (shutdown) {
                return;
            }
            seen = g;
            int c = chunks;
            if (chunk < c) {
                int total = n;
                try {
                    body.run((int) ((long) total * chunk / c), (int) ((long) total * (chunk + 1) / c));
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    pending.decrementAndGet();
                }
            }
        }
    }

    private long awaitWork(int index, long seen) {
        for (int i = 0; i < SPINS; i++) {
            long g = generation;
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
                long g = generation;
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
