package dev.argon.tensor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ThreadPoolTest {
    @Test
    void coversEveryIndexExactlyOnceForManySizes() {
        try (ThreadPool pool = new ThreadPool(3)) {
            for (int n = 0; n < 200; n++) {
                int[] hits = new int[n];
                pool.parallelFor(n, (s, e) -> {
                    for (int i = s; i < e; i++) {
                        hits[i]++;
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertThat(hits[i]).as("n=%d i=%d", n, i).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void manyShortCallsInARowAndAfterIdling() throws InterruptedException {
        try (ThreadPool pool = new ThreadPool(2)) {
            AtomicLong sum = new AtomicLong();
            for (int rep = 0; rep < 20_000; rep++) {
                pool.parallelFor(10, (s, e) -> sum.addAndGet(e - s));
            }
            assertThat(sum.get()).isEqualTo(200_000);
            Thread.sleep(50); // workers park
            pool.parallelFor(10, (s, e) -> sum.addAndGet(e - s));
            assertThat(sum.get()).isEqualTo(200_010);
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void concurrentCallersTakeTurnsAndEachGetsItsOwnResult() throws Exception {
        try (ThreadPool pool = new ThreadPool(2)) {
            Thread[] callers = new Thread[3];
            boolean[] ok = new boolean[callers.length];
            for (int c = 0; c < callers.length; c++) {
                int id = c;
                callers[c] = new Thread(() -> {
                    boolean good = true;
                    for (int rep = 0; rep < 3000; rep++) {
                        int n = 17 + id;
                        int[] hits = new int[n];
                        pool.parallelFor(n, (s, e) -> {
                            for (int i = s; i < e; i++) {
                                hits[i]++;
                            }
                        });
                        for (int h : hits) {
                            good &= h == 1;
                        }
                    }
                    ok[id] = good;
                });
                callers[c].start();
            }
            for (Thread t : callers) {
                t.join();
            }
            assertThat(ok).containsOnly(true);
        }
    }

    @Test
    void workerExceptionIsRethrownAndPoolStaysUsable() {
        try (ThreadPool pool = new ThreadPool(2)) {
            assertThatThrownBy(() -> pool.parallelFor(10, (s, e) -> {
                if (s > 0) {
                    throw new IllegalStateException("boom " + s);
                }
            })).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("boom");
            int[] count = {0};
            pool.parallelFor(1, (s, e) -> count[0] += e - s);
            assertThat(count[0]).isEqualTo(1);
        }
    }

    @Test
    void aCallerAloneFinishesTheLoopWhenTheWorkersAreBusy() throws Exception {
        // A slow worker (descheduled on a busy machine) holds up only the chunk it has claimed:
        // the caller runs all the others instead of waiting for it.
        try (ThreadPool pool = new ThreadPool(2)) {
            java.util.concurrent.atomic.AtomicInteger callerChunks = new java.util.concurrent.atomic.AtomicInteger();
            Thread caller = Thread.currentThread();
            int[] hits = new int[64];
            pool.parallelFor(64, (s, e) -> {
                if (Thread.currentThread() != caller) {
                    try {
                        Thread.sleep(200); // a descheduled worker
                    } catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                } else {
                    callerChunks.incrementAndGet();
                }
                for (int i = s; i < e; i++) {
                    hits[i]++;
                }
            });
            for (int h : hits) {
                assertThat(h).isEqualTo(1);
            }
            // 2 threads x 4 chunks: the worker sleeps in at most one, the caller takes the rest
            assertThat(callerChunks.get()).isGreaterThanOrEqualTo(7);
        }
    }
    @Test
    @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void backToBackLoopsWithChangingChunkCountsNeverMixUp() {
        // More threads than cores, so workers are descheduled between seeing a loop and claiming a
        // chunk of it; loops of different sizes follow each other at once. A worker that woke for
        // an old loop must never claim a chunk of the next one (a lost or doubled chunk, or a done
        // count that skips past the loop's chunk count and never equals it: a hang).
        int threads = Runtime.getRuntime().availableProcessors() * 3 + 1;
        try (ThreadPool pool = new ThreadPool(threads)) {
            java.util.Random random = new java.util.Random(7);
            int[][] hits = new int[2][];
            for (int rep = 0; rep < 100_000; rep++) {
                int n = 1 + random.nextInt(rep % 2 == 0 ? 3 : 300);
                int[] h = new int[n];
                hits[rep & 1] = h;
                pool.parallelFor(n, (s, e) -> {
                    for (int i = s; i < e; i++) {
                        h[i]++;
                    }
                });
                for (int i = 0; i < n; i++) {
                    if (h[i] != 1) {
                        throw new AssertionError("rep " + rep + ", n=" + n + ": index " + i + " ran " + h[i] + " times");
                    }
                }
            }
        }
    }

    @Test
    void smallWorkRunsWholeOnTheCallingThreadAndLargeWorkIsSplit() {
        try (ThreadPool pool = new ThreadPool(2)) {
            java.util.List<String> calls = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            Thread caller = Thread.currentThread();
            pool.parallelFor(100, ThreadPool.MIN_PARALLEL_WORK - 1, (s, e) -> calls.add(s + "-" + e + (Thread.currentThread() == caller)));
            assertThat(calls).containsExactly("0-100true");
            calls.clear();
            int[] hits = new int[100];
            pool.parallelFor(100, ThreadPool.MIN_PARALLEL_WORK, (s, e) -> {
                calls.add(s + "-" + e);
                for (int i = s; i < e; i++) {
                    hits[i]++;
                }
            });
            // below SMALL_LOOP_WORK: one chunk per thread
            assertThat(calls).containsExactlyInAnyOrder("0-50", "50-100");
            assertThat(hits).containsOnly(1);
            calls.clear();
            java.util.Arrays.fill(hits, 0);
            pool.parallelFor(100, ThreadPool.SMALL_LOOP_WORK, (s, e) -> {
                calls.add(s + "-" + e);
                for (int i = s; i < e; i++) {
                    hits[i]++;
                }
            });
            // larger loops: a few chunks per thread, so the caller can absorb a late worker's share
            assertThat(calls).hasSize(8);
            assertThat(hits).containsOnly(1);
            pool.parallelFor(0, 0, (s, e) -> calls.add("empty"));
            assertThat(calls).doesNotContain("empty");
        }
    }
}
