package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.sampling.TokenLogprobs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Continuous batching on the real TinyLLama-v0 model: outputs equal the one-sequence loop's, bit for bit. */
class BatchSchedulerTest {
    static LanguageModel model;
    static final int CTX = 160;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), new ModelOptions(2, true));
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static BatchScheduler scheduler(int parallel, int queue, boolean reuse) {
        return new BatchScheduler(model, new BatchScheduler.Options(parallel, CTX, KvCache.Precision.F16, queue, 16, reuse));
    }

    private static GenerationResult solo(GenerationRequest req) {
        Generator g = new Generator(model, KvCache.Precision.F16);
        return g.generate(req, g.tokenizePrompt(req, CTX), CTX, s -> { }, () -> false);
    }

    private static GenerationResult run(BatchScheduler s, GenerationRequest req) throws InterruptedException {
        int[] ids = new Generator(model).tokenizePrompt(req, CTX);
        StringBuilder text = new StringBuilder();
        GenerationResult r = s.submit(req, ids, () -> false).await(text::append);
        assertThat(text.toString()).isEqualTo(r.text());
        return r;
    }

    @Test
    void concurrentRequestsGiveTheirSoloOutputs() throws Exception {
        List<GenerationRequest> reqs = List.of(
                GenerationRequest.of("Once upon a time", 40, SamplingParams.greedy()),
                GenerationRequest.of("Lily and Tom went to the park", 33, SamplingParams.greedy()),
                GenerationRequest.of("The cat sat on the mat. It was", 25, SamplingParams.defaults().withPenalties(0.5f, 0.2f)),
                GenerationRequest.of("One day, a big red ball", 37, new SamplingParams(0.9f, 40, 0.9f, 0.05f, 1.1f, 64, 1234)),
                GenerationRequest.of("Tim wanted to", 20, SamplingParams.greedy()),
                new GenerationRequest("Once upon a time there was a dog", 64, SamplingParams.greedy(), List.of("."), true, false));
        // a fixed seed for the one request that asked for a random one
        List<GenerationRequest> fixed = new ArrayList<>();
        for (GenerationRequest r : reqs) {
            SamplingParams p = r.sampling();
            fixed.add(p.seed() == SamplingParams.RANDOM_SEED ? new GenerationRequest(r.prompt(), r.maxTokens(),
                    new SamplingParams(p.temperature(), p.topK(), p.topP(), p.minP(), p.repeatPenalty(), p.repeatLastN(), 99,
                            p.presencePenalty(), p.frequencyPenalty(), p.logitBias()), r.stop(), true, -1) : r);
        }
        GenerationResult[] together = new GenerationResult[fixed.size()];
        try (BatchScheduler s = scheduler(4, 8, true)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < fixed.size(); i++) {
                int k = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        start.await();
                        together[k] = run(s, fixed.get(k));
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            start.countDown();
            for (Thread t : threads) {
                t.join();
            }
            BatchScheduler.Stats st = s.stats();
            assertThat(st.requests()).isEqualTo(fixed.size());
            assertThat(st.rows()).as("several sequences shared passes").isGreaterThan(st.steps());
            assertThat(st.active()).isZero();
        }
        for (int i = 0; i < fixed.size(); i++) {
            GenerationResult alone = solo(fixed.get(i));
            assertThat(together[i].generatedTokens()).as("request %d", i).containsExactly(alone.generatedTokens());
            assertThat(together[i].text()).isEqualTo(alone.text());
            assertThat(together[i].finishReason()).isEqualTo(alone.finishReason());
        }
        assertThat(together[5].finishReason()).isEqualTo(FinishReason.STOP_STRING);
        assertThat(together[5].text()).doesNotContain(".");
    }

    @Test
    void reusedPromptPrefixGivesIdenticalOutput() throws Exception {
        String turn1 = "Lily and Tom went to the park. They saw a big dog.";
        GenerationRequest first = GenerationRequest.of(turn1, 10, SamplingParams.greedy());
        GenerationRequest second = GenerationRequest.of(turn1 + " The dog was happy and", 30, SamplingParams.greedy());
        GenerationResult withReuse;
        GenerationResult without;
        try (BatchScheduler s = scheduler(1, 4, true)) {
            assertThat(run(s, first).cachedPromptTokens()).isZero();
            withReuse = run(s, second);
            assertThat(s.stats().reusedPromptTokens()).isEqualTo(first.prompt().isEmpty() ? 0 : run0(first).length);
            // the result tells its own request how many prompt tokens came from the slot's cache
            assertThat(withReuse.cachedPromptTokens()).isEqualTo(run0(first).length);
        }
        try (BatchScheduler s = scheduler(1, 4, false)) {
            run(s, first);
            without = run(s, second);
            assertThat(s.stats().reusedPromptTokens()).isZero();
            assertThat(without.cachedPromptTokens()).isZero();
        }
        assertThat(withReuse.generatedTokens()).containsExactly(without.generatedTokens());
        assertThat(withReuse.text()).isEqualTo(without.text()).isEqualTo(solo(second).text());
    }

    @Test
    void twoConversationsKeepTheirOwnSlots() throws Exception {
        // Two prompts that share only the start-of-sequence token, alternating on two slots: the
        // second request must take the empty slot instead of overwriting the first one's cache,
        // so both get their whole prompt (but the last token) from the cache on the next round.
        GenerationRequest a = GenerationRequest.of("Lily and Tom went to the park. They saw a big dog.", 4, SamplingParams.greedy());
        GenerationRequest b = GenerationRequest.of("One day, a little girl named Sue found a red ball.", 4, SamplingParams.greedy());
        try (BatchScheduler s = scheduler(2, 4, true)) {
            assertThat(run(s, a).cachedPromptTokens()).isZero();
            assertThat(run(s, b).cachedPromptTokens()).isLessThanOrEqualTo(1);
            assertThat(run(s, a).cachedPromptTokens()).isEqualTo(run0(a).length - 1);
            assertThat(run(s, b).cachedPromptTokens()).isEqualTo(run0(b).length - 1);
            assertThat(s.stats().kvTokensCached()).isEqualTo(run0(a).length + run0(b).length); // whole prompts kept
        }
    }

    private static int[] run0(GenerationRequest r) {
        return model.tokenizer().encode(r.prompt(), true);
    }

    @Test
    void cancelFreesTheSlotAndOverloadIsRefused() throws Exception {
        try (BatchScheduler s = scheduler(1, 0, true)) {
            GenerationRequest endless = GenerationRequest.of("Once upon a time", -1, SamplingParams.greedy());
            int[] ids = run0(endless);
            BatchScheduler.Handle h = s.submit(endless, ids, () -> false);
            assertThatThrownBy(() -> s.submit(endless, ids, () -> false))
                    .isInstanceOf(BatchScheduler.OverloadedException.class).hasMessageContaining("busy");
            CountDownLatch some = new CountDownLatch(5);
            Thread.ofVirtual().start(() -> {
                try {
                    some.await();
                } catch (InterruptedException ignored) {
                    // test ends anyway
                }
                h.cancel();
            });
            GenerationResult r = h.await(new GenerationListener() {
                @Override
                public void onText(String text) {
                }

                @Override
                public void onToken(int token, TokenLogprobs lp) {
                    some.countDown();
                }
            });
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(r.generatedTokens().length).isGreaterThanOrEqualTo(5).isLessThan(CTX);
            // the slot is free again
            assertThat(run(s, GenerationRequest.of("Tim wanted to", 5, SamplingParams.greedy())).generatedTokens()).hasSize(5);
        }
    }

    @Test
    void logprobsOfGreedyTokensAreTheTopAlternatives() throws Exception {
        List<TokenLogprobs> seen = new ArrayList<>();
        GenerationRequest req = GenerationRequest.of("Once upon a time", 8, SamplingParams.greedy()).withLogprobs(3);
        try (BatchScheduler s = scheduler(2, 2, true)) {
            GenerationResult r = s.submit(req, run0(req), () -> false).await(new GenerationListener() {
                @Override
                public void onText(String text) {
                }

                @Override
                public void onToken(int token, TokenLogprobs lp) {
                    seen.add(lp);
                }
            });
            assertThat(seen).hasSize(8);
            for (int i = 0; i < 8; i++) {
                TokenLogprobs lp = seen.get(i);
                assertThat(lp.token()).isEqualTo(r.generatedTokens()[i]);
                assertThat(lp.top()).hasSize(3);
                assertThat(lp.top().get(0).token()).isEqualTo(lp.token());
                assertThat(lp.top().get(0).logprob()).isEqualTo(lp.logprob());
                assertThat(lp.logprob()).isLessThanOrEqualTo(0.0);
            }
        }
    }

    /**
     * Records tokens as {@code K}, text as {@code T} and pauses as {@code P}; the first pause, and
     * then the first pause after each token, releases a permit (for a gated scheduler step).
     */
    private static final class PauseRecorder implements GenerationListener {
        final StringBuilder pattern = new StringBuilder();
        final StringBuilder text = new StringBuilder();
        final Semaphore pauses = new Semaphore(0);
        private boolean tokenSinceRelease = true;

        @Override
        public void onToken(int token, TokenLogprobs lp) {
            pattern.append('K');
            tokenSinceRelease = true;
        }

        @Override
        public void onText(String t) {
            pattern.append('T');
            text.append(t);
        }

        @Override
        public void onPause() {
            pattern.append('P');
            if (tokenSinceRelease) {
                tokenSinceRelease = false;
                pauses.release();
            }
        }
    }

    @Test
    void awaitPausesOnlyWhenNoEventIsReady() throws Exception {
        GenerationRequest req = GenerationRequest.of("Once upon a time", 12, SamplingParams.greedy());
        try (BatchScheduler s = scheduler(1, 1, false)) {
            // every step waits until the listener has paused: each token arrives alone, so each
            // piece of text is followed by a pause
            PauseRecorder live = new PauseRecorder();
            BatchScheduler.Handle h = s.submit(req, run0(req), () -> {
                try {
                    live.pauses.tryAcquire(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            });
            GenerationResult r = h.await(live);
            String tokensAndPauses = live.pattern.toString().replace("T", "");
            assertThat(tokensAndPauses).startsWith("P").doesNotContain("KK");
            assertThat(tokensAndPauses.chars().filter(c -> c == 'K').count()).isEqualTo(12);
            // all events ready before await starts: delivered in one run, no pause in between
            PauseRecorder queued = new PauseRecorder();
            BatchScheduler.Handle q = s.submit(req, run0(req), () -> false);
            // one slot: the next request starts only after q has finished and posted its result
            GenerationRequest after = GenerationRequest.of("Tim wanted to", 2, SamplingParams.greedy());
            s.submit(after, run0(after), () -> false).await(new PauseRecorder());
            GenerationResult r2 = q.await(queued);
            assertThat(queued.pattern.toString()).doesNotContain("P").contains("K").contains("T");
            assertThat(queued.text.toString()).isEqualTo(live.text.toString()).isEqualTo(r.text());
            assertThat(r2.generatedTokens()).isEqualTo(r.generatedTokens());
        }
    }

    @Test
    void aListenerThatNoLongerWantsTheOutputFreesItsQueuePlace() throws Exception {
        try (BatchScheduler s = scheduler(1, 1, false)) {
            GenerationRequest endless = GenerationRequest.of("Once upon a time", -1, SamplingParams.greedy());
            // slowed down so that it still runs when the waiting request gives up (0.5 s)
            BatchScheduler.Handle running = s.submit(endless, run0(endless), () -> {
                try {
                    Thread.sleep(40);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            });
            GenerationRequest req = GenerationRequest.of("Tim wanted to", 4, SamplingParams.greedy());
            BatchScheduler.Handle waiting = s.submit(req, run0(req), () -> false);
            assertThatThrownBy(() -> s.submit(req, run0(req), () -> false)).isInstanceOf(BatchScheduler.OverloadedException.class);
            int[] asked = new int[1];
            long t0 = System.nanoTime();
            GenerationResult r = waiting.await(new GenerationListener() {
                @Override
                public void onText(String text) {
                }

                @Override
                public boolean stillWanted() {
                    asked[0]++;
                    return false; // the client is gone
                }
            });
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(r.generatedTokens()).isEmpty();
            assertThat(asked[0]).isEqualTo(1);
            assertThat((System.nanoTime() - t0) / 1e6).isGreaterThanOrEqualTo(BatchScheduler.WAIT_CHECK_MS - 50);
            // its queue place is free again while the first request still runs
            assertThat(s.stats().active()).isEqualTo(1);
            assertThat(s.stats().queued()).isZero();
            BatchScheduler.Handle next = s.submit(req, run0(req), () -> false);
            running.cancel();
            assertThat(next.await(new PauseRecorder()).generatedTokens()).hasSize(4);
            assertThat(running.await(new PauseRecorder()).finishReason()).isEqualTo(FinishReason.CANCELLED);
        }
    }

    @Test
    void aPromptPrefixRunningOnAnotherSlotIsCopiedAndMemoryFollowsUse() throws Exception {
        String system = "You are a helpful storyteller. Tell short, kind stories for small children about animals,"
                + " friends and parks, with simple words and a happy end. ";
        GenerationRequest first = GenerationRequest.of(system + "Tell me about a cat.", 60, SamplingParams.greedy());
        GenerationRequest second = GenerationRequest.of(system + "Tell me about a dog.", 20, SamplingParams.greedy());
        try (BatchScheduler s = scheduler(2, 4, true)) {
            assertThat(s.stats().kvBytes()).as("no memory before any request").isZero();
            int[] ids = new Generator(model).tokenizePrompt(first, CTX);
            BatchScheduler.Handle running = s.submit(first, ids, () -> false);
            // wait until the first request decodes (its prompt is in its slot's cache)
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (s.stats().generatedTokens() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(s.stats().kvBytes()).as("memory grows with use").isPositive()
                    .isLessThan(s.stats().kvTokensCapacity() * 2048 / 2);
            GenerationResult r2 = run(s, second);
            GenerationResult r1 = running.await(t -> { });
            assertThat(r2.cachedPromptTokens()).as("shared system prompt copied from the running slot").isGreaterThan(16);
            assertThat(s.stats().copiedPromptTokens()).isEqualTo(r2.cachedPromptTokens());
            assertThat(r2.generatedTokens()).containsExactly(solo(second).generatedTokens());
            assertThat(r1.generatedTokens()).containsExactly(solo(first).generatedTokens());
            // finished: each slot keeps only its prompt for reuse
            long perToken = KvCache.bytesPerToken(model.config().nLayers(), model.config().kvDim(), model.config().headDim(),
                    KvCache.Precision.F16, KvCache.Precision.F16);
            assertThat(s.stats().kvBytes()).isEqualTo(perToken * (r1.promptTokens().length + r2.promptTokens().length));
        }
    }
}
