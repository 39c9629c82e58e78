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
}
