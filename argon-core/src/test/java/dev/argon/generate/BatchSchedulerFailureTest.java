package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelConfig;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The scheduler cannot be wedged: a fault in the loop (injected into the forward pass) fails
 * every request instead of killing the loop thread silently; a request of several generations is
 * queued as a unit or not at all.
 */
@Timeout(60)
class BatchSchedulerFailureTest {
    static LanguageModel model;
    static final int CTX = 128;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), new ModelOptions(1, true));
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    /** The real model, with a hook run before each batched forward pass. */
    static final class Hooked implements LanguageModel {
        final AtomicReference<Runnable> beforeForward = new AtomicReference<>(() -> { });
        final AtomicInteger passes = new AtomicInteger();

        @Override
        public ModelConfig config() {
            return model.config();
        }

        @Override
        public Tokenizer tokenizer() {
            return model.tokenizer();
        }

        @Override
        public InferenceState newState(int contextLength, KvCache.Precision precision) {
            return model.newState(contextLength, precision);
        }

        @Override
        public float[] forward(InferenceState state, int token, int pos, boolean wantLogits) {
            return model.forward(state, token, pos, wantLogits);
        }

        @Override
        public void forward(Batch batch) {
            passes.incrementAndGet();
            beforeForward.get().run();
            model.forward(batch);
        }

        @Override
        public ThreadPool pool() {
            return model.pool();
        }

        @Override
        public long parameterCount() {
            return model.parameterCount();
        }

        @Override
        public long weightBytes() {
            return model.weightBytes();
        }

        @Override
        public void close() {
        }
    }

    private static BatchScheduler scheduler(LanguageModel m, int parallel, int queue) {
        return new BatchScheduler(m, new BatchScheduler.Options(parallel, CTX, KvCache.Precision.F32, queue, 16, true));
    }

    private static int[] prompt() {
        return model.tokenizer().encode("Once upon a time", true, false);
    }

    private static GenerationRequest longRequest() {
        // greedy, end of sequence (id 2) banned: always 100 tokens
        return GenerationRequest.of("Once upon a time", 100, new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 0, 0f, 0f, java.util.Map.of(2, -100f)));
    }

    @Test
    void anErrorInTheLoopFailsEveryRequestAndLaterOnesAtOnce() throws Exception {
        Hooked m = new Hooked();
        try (BatchScheduler s = scheduler(m, 1, 4)) {
            List<Throwable> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
            s.onFailure(reported::add);
            assertThat(s.submit(longRequest(), prompt(), () -> false).await(t -> { }).generatedTokens()).hasSize(100);
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch go = new CountDownLatch(1);
            m.beforeForward.set(() -> {
                entered.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new InternalError("a fault occurred in an unsafe memory access operation");
            });
            BatchScheduler.Handle running = s.submit(longRequest(), prompt(), () -> false);
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
            BatchScheduler.Handle waiting = s.submit(longRequest(), prompt(), () -> false);
            go.countDown();
            for (BatchScheduler.Handle h : List.of(running, waiting)) {
                assertThatThrownBy(() -> h.await(t -> { }))
                        .isInstanceOf(BatchScheduler.ModelFailureException.class)
                        .hasMessageContaining("the model file could not be read (a fault in its memory mapping: it was truncated, replaced or removed while in use)");
            }
            assertThat(s.failure()).isInstanceOf(InternalError.class);
            assertThat(reported).containsExactly(s.failure()); // once, for the server's log
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> s.submit(longRequest(), prompt(), () -> false))
                    .isInstanceOf(BatchScheduler.ModelFailureException.class);
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(1));
            assertThat(s.stats().active()).isZero();
            assertThat(s.stats().queued()).isZero();
        }
    }

    @Test
    void anExceptionInAForwardPassFailsItsRequestsOnly() throws Exception {
        Hooked m = new Hooked();
        try (BatchScheduler s = scheduler(m, 2, 4)) {
            AtomicInteger left = new AtomicInteger(1);
            m.beforeForward.set(() -> {
                if (left.getAndDecrement() > 0) {
                    throw new IllegalStateException("injected");
                }
            });
            assertThatThrownBy(() -> s.submit(longRequest(), prompt(), () -> false).await(t -> { }))
                    .isInstanceOf(BatchScheduler.ModelFailureException.class).hasMessageContaining("injected");
            assertThat(s.failure()).isNull();
            assertThat(s.submit(longRequest(), prompt(), () -> false).await(t -> { }).generatedTokens()).hasSize(100);
        }
    }

    @Test
    void severalGenerationsAreQueuedAllOrNone() throws Exception {
        Hooked m = new Hooked();
        CountDownLatch release = new CountDownLatch(1);
        m.beforeForward.set(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (BatchScheduler s = scheduler(m, 1, 2)) {
            BatchScheduler.Handle running = s.submit(longRequest(), prompt(), () -> false);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (s.stats().active() != 1) { // admitted: its slot is taken, the queue has 2 places
                assertThat(System.nanoTime()).isLessThan(deadline);
                Thread.sleep(5);
            }
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> s.submitAll(List.of(longRequest(), longRequest(), longRequest()), prompt(), () -> false))
                    .isInstanceOf(BatchScheduler.OverloadedException.class).hasMessageContaining("no room for 3 generations");
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
            assertThat(s.stats().queued()).isZero(); // nothing of the refused request was queued
            List<BatchScheduler.Handle> two = s.submitAll(List.of(longRequest(), longRequest()), prompt(), () -> false);
            assertThat(s.stats().queued()).isEqualTo(2);
            release.countDown();
            assertThat(running.await(t -> { }).generatedTokens()).hasSize(100);
            for (BatchScheduler.Handle h : two) {
                assertThat(h.await(t -> { }).generatedTokens()).hasSize(100);
            }
        }
    }

    @Test
    void anAwaitNeverOutlivesADeadLoop() throws Exception {
        // close() ends the loop; a handle that is awaited afterwards still gets its outcome
        Hooked m = new Hooked();
        BatchScheduler s = scheduler(m, 1, 4);
        BatchScheduler.Handle h = s.submit(longRequest(), prompt(), () -> false);
        CompletableFuture<Void> closed = CompletableFuture.runAsync(s::close);
        closed.get(10, TimeUnit.SECONDS);
        try {
            GenerationResult r = h.await(t -> { });
            assertThat(r.finishReason()).isIn(FinishReason.CANCELLED, FinishReason.LENGTH);
        } catch (dev.argon.ArgonException e) {
            assertThat(e).hasMessageContaining("shutting down");
        }
    }
}
