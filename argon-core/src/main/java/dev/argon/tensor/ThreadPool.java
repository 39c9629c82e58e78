package dev.argon.tensor;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed set of worker threads for data-parallel kernels. {@link #parallelFor} splits an index
 * range into one contiguous chunk per thread (the caller's thread takes the first chunk), so
 * neighbouring outputs written by different threads are far apart and do not share cache lines.
 *
 * <p>Threads are created once, as daemons; close the pool to stop them.
 */
public final class ThreadPool implements AutoCloseable {
    /** Body of a parallel loop over {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    private final int nThreads;
    private final ExecutorService executor;

    /** @param nThreads number of threads including the caller's; at least 1 */
    public ThreadPool(int nThreads) {
        if (nThreads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + nThreads);
        }
        this.nThreads = nThreads;
        AtomicInteger counter = new AtomicInteger();
        this.executor = nThreads == 1 ? null : Executors.newFixedThreadPool(nThreads - 1, r -> {
            Thread t = new Thread(r, "argon-worker-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
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
     * and waits for all of them. Exceptions thrown by a chunk are rethrown here.
     */
    public void parallelFor(int n, RangeBody body) {
        int chunks = Math.min(nThreads, n);
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        @SuppressWarnings("unchecked")
        Future<?>[] futures = new Future<?>[chunks - 1];
        for (int c = 1; c < chunks; c++) {
            int start = (int) ((long) n * c / chunks);
            int end = (int) ((long) n * (c + 1) / chunks);
            futures[c - 1] = executor.submit(() -> body.run(start, end));
        }
        body.run(0, (int) ((long) n / chunks));
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for workers", e);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
