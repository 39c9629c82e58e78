package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The paged KV pool and hashed-block prefix caching in {@link BatchScheduler} on the real
 * TinyLLama-v0 model: greedy outputs equal those of per-slot caches without reuse, token for token.
 */
class PagedSchedulerTest {
    static LanguageModel model;
    static final int CTX = 160;
    static final String SYSTEM = "You are a helpful storyteller. Tell short, kind stories for small children about animals,"
            + " friends and parks, with simple words and a happy end. Every story has a dog, a cat and a ball. ";

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

    private static BatchScheduler.Options options(int parallel, boolean prefixCaching, int blockSize, int poolTokens) {
        return new BatchScheduler.Options(parallel, CTX, KvCache.Precision.F16, 8, 16, prefixCaching).paged(blockSize, poolTokens);
    }

    private static int[] ids(GenerationRequest r) {
        return new Generator(model).tokenizePrompt(r, CTX);
    }

    private static void waitForTokens(BatchScheduler s, long n) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (s.stats().generatedTokens() < n && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
    }

    /** Runs the requests: the first alone until it decodes, then the rest while it runs. */
    private static List<GenerationResult> runStaggered(BatchScheduler s, List<GenerationRequest> reqs) throws InterruptedException {
        List<BatchScheduler.Handle> hs = new ArrayList<>();
        hs.add(s.submit(reqs.getFirst(), ids(reqs.getFirst()), () -> false));
        waitForTokens(s, 2);
        for (GenerationRequest r : reqs.subList(1, reqs.size())) {
            hs.add(s.submit(r, ids(r), () -> false));
        }
        List<GenerationResult> out = new ArrayList<>();
        for (BatchScheduler.Handle h : hs) {
            out.add(h.await(t -> { }));
        }
        return out;
    }

    private static List<GenerationRequest> sharedSystemPrompt() {
        return List.of(
                GenerationRequest.of(SYSTEM + "Tell me about a cat.", 40, SamplingParams.greedy()),
                GenerationRequest.of(SYSTEM + "Tell me about a dog.", 24, SamplingParams.greedy()),
                GenerationRequest.of(SYSTEM + "Tell me about a red ball in the park.", 30, SamplingParams.greedy()),
                GenerationRequest.of("Once upon a time", 20, SamplingParams.greedy()));
    }

    @Test
    void pagingAndPrefixCachingKeepGreedyOutputs() throws Exception {
        List<GenerationRequest> reqs = sharedSystemPrompt();
        List<GenerationResult> reference;
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(3, CTX, KvCache.Precision.F16, 8, 16, false))) {
            reference = runStaggered(s, reqs);
        }
        List<GenerationResult> pagedOnly;
        try (BatchScheduler s = new BatchScheduler(model, options(3, false, 16, 0))) {
            pagedOnly = runStaggered(s, reqs);
            assertThat(s.paging().prefixCaching()).isFalse();
            assertThat(s.stats().kvBytes()).as("without prefix caching nothing stays after the requests").isZero();
        }
        List<GenerationResult> cached;
        try (BatchScheduler s = new BatchScheduler(model, options(3, true, 16, 0))) {
            assertThat(s.stats().kvBytes()).as("no memory before any request").isZero();
            cached = runStaggered(s, reqs);
            BatchScheduler.PagingStats p = s.paging();
            assertThat(p.blocks().total()).isEqualTo(3 * (CTX / 16));
            assertThat(p.blocks().used()).as("all blocks let go after the requests").isZero();
            assertThat(p.blocks().cached()).isPositive();
            long perBlock = 16 * KvCache.bytesPerToken(model.config().nLayers(), model.config().kvDim(), model.config().headDim(),
                    KvCache.Precision.F16, KvCache.Precision.F16);
            assertThat(s.stats().kvBytes()).as("idle: only the cached blocks").isEqualTo(p.blocks().bytes())
                    .isEqualTo(p.blocks().cached() * perBlock);
            assertThat(p.hitTokens()).isEqualTo(cached.get(1).cachedPromptTokens() + cached.get(2).cachedPromptTokens()
                    + cached.get(3).cachedPromptTokens());
            // a repeat of a finished request finds its whole prompt (but the last token) cached
            GenerationResult again = s.submit(reqs.get(1), ids(reqs.get(1)), () -> false).await(t -> { });
            assertThat(again.generatedTokens()).containsExactly(reference.get(1).generatedTokens());
            assertThat(again.cachedPromptTokens()).isEqualTo((ids(reqs.get(1)).length - 1) / 16 * 16);
        }
        int system = ids(GenerationRequest.of(SYSTEM, 1, SamplingParams.greedy())).length;
        assertThat(cached.get(0).cachedPromptTokens()).isZero();
        for (int i = 1; i <= 2; i++) {
            assertThat(cached.get(i).cachedPromptTokens()).as("request %d shares the running one's system prompt", i)
                    .isGreaterThanOrEqualTo((system - 16) / 16 * 16).isPositive();
            assertThat(cached.get(i).cachedPromptTokens() % 16).isZero();
        }
        assertThat(cached.get(3).cachedPromptTokens()).as("another prompt").isZero();
        for (int i = 0; i < reqs.size(); i++) {
            assertThat(pagedOnly.get(i).generatedTokens()).as("paged, request %d", i).containsExactly(reference.get(i).generatedTokens());
            assertThat(cached.get(i).generatedTokens()).as("prefix cache, request %d", i)
                    .containsExactly(reference.get(i).generatedTokens());
            assertThat(cached.get(i).text()).isEqualTo(reference.get(i).text());
        }
    }

    @Test
    void speculativeDecodingTruncatesPagedRows() throws Exception {
        GenerationRequest plain = GenerationRequest.of("Once upon a time, there was a little girl named Lily. Lily liked to play."
                + " Once upon a time, there was a little girl named", 40, SamplingParams.greedy());
        GenerationRequest spec = plain.withSpeculation(SpeculationParams.ngram());
        GenerationResult want;
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(2, CTX, KvCache.Precision.F16, 8, 16, false))) {
            want = s.submit(plain, ids(plain), () -> false).await(t -> { });
        }
        try (BatchScheduler s = new BatchScheduler(model, options(2, true, 8, 0))) {
            GenerationResult got = s.submit(spec, ids(spec), () -> false).await(t -> { });
            assertThat(s.stats().draftTokens()).isPositive();
            assertThat(s.stats().acceptedDraftTokens()).isLessThan(s.stats().draftTokens()); // some drafts rejected
            assertThat(got.generatedTokens()).containsExactly(want.generatedTokens());
        }
    }

    @Test
    void aSmallPoolQueuesRefusesOrFailsClearlyButNeverHangs() throws Exception {
        GenerationRequest a = GenerationRequest.of(SYSTEM + "Tell me about a cat.", 30, SamplingParams.greedy());
        GenerationRequest b = GenerationRequest.of("Once upon a time", 10, SamplingParams.greedy());
        int promptA = ids(a).length;
        // a pool smaller than one prompt: refused at once with the numbers
        try (BatchScheduler s = new BatchScheduler(model, options(2, true, 16, 32))) {
            assertThatThrownBy(() -> s.submit(a, ids(a), () -> false).await(t -> { })).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("KV blocks of 16 tokens").hasMessageContaining("--kv-pool");
            assertThat(s.submit(b, ids(b), () -> false).await(t -> { }).generatedTokens()).hasSize(10);
        }
        // a pool for one prompt and a few more tokens: the running request fails when it cannot grow,
        // with the pool's message, and the queued one runs after it
        int pool = (promptA + 1 + 15) / 16 * 16;
        try (BatchScheduler s = new BatchScheduler(model, options(2, false, 16, pool))) {
            BatchScheduler.Handle first = s.submit(a, ids(a), () -> false);
            BatchScheduler.Handle second = s.submit(b, ids(b), () -> false);
            assertThatThrownBy(() -> first.await(t -> { })).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("KV block pool is full");
            assertThat(second.await(t -> { }).generatedTokens()).hasSize(10);
            assertThat(s.paging().blocks().used()).isZero();
        }
    }
}
