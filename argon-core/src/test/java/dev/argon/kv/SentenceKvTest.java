package dev.argon.kv;

import dev.argon.TestFiles;
import dev.argon.generate.BatchScheduler;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.ForwardObserver;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * SentenceKV: sentence boundaries from token text, the per-sentence mean keys and the selection of the
 * highest-scoring sentences within the budget on a constructed cache (by hand), then stories260K through the
 * model: a budget covering the context gives the full cache's logits bit for bit, a small one makes each query
 * read at most sinks + budget + window rows (weights of the others exactly 0), and generation through the
 * batch scheduler (serve) equals the Generator's.
 */
class SentenceKvTest {
    private static boolean ends(String text) {
        return SentenceIndex.endsSentence(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aSentenceEndsAtPunctuationOrANewline() {
        assertThat(ends(".")).isTrue();
        assertThat(ends(" day.")).isTrue();
        assertThat(ends("!")).isTrue();
        assertThat(ends("?\"")).as("closing quote after ?").isTrue();
        assertThat(ends(".) ")).as("closing bracket and space after .").isTrue();
        assertThat(ends("\n")).isTrue();
        assertThat(ends("\n\n")).isTrue();
        assertThat(ends(" Tom")).isFalse();
        assertThat(ends(",")).isFalse();
        assertThat(ends(".com")).as("a dot inside the token").isFalse();
        assertThat(ends("")).as("control tokens have no text").isFalse();
    }

    /**
     * One layer, two KV heads of 4; sinks 1, window 2, budget 5; sentences [0,4) [4,7) [7,11) [11,13) [13,16)
     * (ends at rows 3, 6, 10, 12). Head 0's keys put c on component 0: sentence 0 → 1, sentence 1 → 5,
     * sentence 2 alternates 0 and 8 (mean 4, but the largest sum, 16), sentence 3 → 3, sentence 4 → 2. The query
     * (1, 0, 0, 0) at row 15 may pick from rows [1, 14): clipped lengths 3, 3, 4, 2, 1. By mean: s1 (5, 3 rows,
     * 2 left), s2 (4) does not fit, s3 (3, 2 rows, 0 left), the rest do not fit.
     */
    /** The cache described at {@link #theHighestScoringSentencesByMeanKeyAreChosenWithinTheBudget}, indexed. */
    private static KvCache constructed(boolean sentenceQuery) {
        int kvDim = 8;
        KvCache cache = new KvCache(1, 32, kvDim, 4, KvCache.Precision.F32, KvCache.Precision.F32);
        boolean[] endTable = {false, true};
        cache.selectSentences(ContextPolicy.sentenceKv(1, 2, new ContextPolicy.Select(5, sentenceQuery)), endTable);
        SentenceIndex index = cache.sentences();
        int[] sentenceOf = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4};
        float[] head0 = {1, 5, 4, 3, 2};
        for (int row = 0; row < 16; row++) {
            int s = sentenceOf[row];
            float[] k = new float[kvDim];
            k[0] = s == 2 ? (row % 2 == 0 ? 8 : 0) : head0[s];
            k[4] = s == 0 ? 9 : 0; // head 1: only sentence 0 scores
            boolean end = row == 3 || row == 6 || row == 10 || row == 12;
            index.mark(row, end ? 1 : 0);
            cache.store(0, row, k, 0, new float[kvDim], 0);
        }
        index.advance(cache, 0, 16);
        return cache;
    }

    /**
     * The paper's decoding query: the queries of the current sentence's rows so far, summed. Rows 13 and 14 (sentence
     * 4) ask with +1, row 15 with -1: by its own query row 15 ranks as the negative query does, by the sentence's
     * (+1) as the positive one. Row 12 (sentence 3) asks with -5 and must not count for sentence 4.
     */
    @Test
    void theSentenceQueryIsTheSumOfTheCurrentSentencesQueries() {
        float[] plus = {1, 0, 0, 0};
        float[] minus = {-1, 0, 0, 0};
        for (boolean sentenceQuery : new boolean[]{false, true}) {
            SentenceIndex index = constructed(sentenceQuery).sentences();
            int[] last = null;
            for (int row = 12; row < 16; row++) {
                float[] q = row == 12 ? new float[]{-5, 0, 0, 0} : row == 15 ? minus : plus;
                last = index.select(0, row, 0, q, 0);
                index.select(0, row, 1, plus, 0);
            }
            assertThat(last).as(sentenceQuery ? "by the sentence's query" : "by the token's query")
                    .containsExactly(sentenceQuery ? new int[]{0, 1, 4, 3, 11, 2, 14, 2} : new int[]{0, 4, 13, 3});
        }
    }

    @Test
    void theHighestScoringSentencesByMeanKeyAreChosenWithinTheBudget() {
        int kvDim = 8;
        KvCache cache = constructed(false);
        SentenceIndex index = cache.sentences();
        assertThat(index.sentenceStarts()).containsExactly(0, 4, 7, 11, 13);
        assertThat(index.select(0, 15, 0, new float[]{1, 0, 0, 0}, 0)).containsExactly(0, 1, 4, 3, 11, 2, 14, 2);
        // head 1: sentence 0 first (joined with the sink), then ties at 0 go to the earlier sentence: s1 (3) and s2 (4)
        // do not fit in the 2 rows left, s3 (2) does
        assertThat(index.select(0, 15, 1, new float[]{1, 0, 0, 0}, 0)).containsExactly(0, 4, 11, 2, 14, 2);
        // a negative query reverses the order: s0 (-1, 3 rows), then s4 (-2, 1 row), then nothing else fits
        assertThat(index.select(0, 15, 0, new float[]{-1, 0, 0, 0}, 0)).containsExactly(0, 4, 13, 3);
        // a context within sinks + budget + window reads everything
        assertThat(index.select(0, 7, 0, new float[]{1, 0, 0, 0}, 0)).isNull();

        // rewriting from row 9 (a reused prefix): sentence 2 is recomputed from the cache, sentences after it forgotten
        index.mark(9, 1);
        float[] k = new float[kvDim];
        k[0] = 100;
        cache.store(0, 9, k, 0, new float[kvDim], 0);
        for (int row = 10; row < 16; row++) {
            index.mark(row, 0);
            cache.store(0, row, new float[kvDim], 0, new float[kvDim], 0);
        }
        index.advance(cache, 0, 16);
        assertThat(index.sentenceStarts()).containsExactly(0, 4, 7, 10);
        // sentence 2 = rows 7..9 with keys 0, 8, 100: mean 36 now ranks first, clipped length 3 (2 left): then s1 (3)
        // does not fit, s3 = [10, 14) does not either; s0 (3) neither
        assertThat(index.select(0, 15, 0, new float[]{1, 0, 0, 0}, 0)).containsExactly(0, 1, 7, 3, 14, 2);
    }

    @Test
    void aBudgetCoveringTheContextGivesTheFullCachesLogitsBitForBit() {
        LanguageModel model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
        try (model) {
            for (KvCache.Precision p : new KvCache.Precision[]{KvCache.Precision.F32, KvCache.Precision.Q8_0}) {
                InferenceState full = model.newState(64, p, p);
                InferenceState all = model.newState(64, p, p, ContextPolicy.sentenceKv(4, 8, 52));
                InferenceState sparse = model.newState(64, p, p, ContextPolicy.sentenceKv(4, 8, 8));
                int[] prompt = model.tokenizer().encode("Once upon a time, there was a cat. The cat was sad. It saw a dog!", true, false);
                float[] a = model.prefill(full, prompt, 0).clone();
                assertThat(model.prefill(all, prompt, 0)).as(p + " prompt").containsExactly(a);
                model.prefill(sparse, prompt, 0);
                Random r = new Random(5);
                int differ = 0;
                for (int pos = prompt.length; pos < 64; pos++) {
                    int token = 3 + r.nextInt(400);
                    float[] f = model.forward(full, token, pos, true).clone();
                    assertThat(model.forward(all, token, pos, true)).as(p + " at " + pos).containsExactly(f);
                    float[] s = model.forward(sparse, token, pos, true);
                    if (pos + 1 <= 4 + 8 + 8) {
                        assertThat(s).containsExactly(f);
                    } else if (!java.util.Arrays.equals(s, f)) {
                        differ++;
                    }
                }
                assertThat(differ).as("a budget of 8 changes the logits past 20 tokens").isGreaterThan(20);
                assertThat(all.kvCache().sentences().sentences()).as("sentences of the prompt and the random tokens").isGreaterThan(3);
            }
        }
    }

    @Test
    void eachQueryReadsAtMostSinksBudgetAndWindow() {
        LanguageModel model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
        try (model) {
            int sinks = 2;
            int budget = 12;
            int window = 6;
            InferenceState st = model.newState(96, KvCache.Precision.F32, KvCache.Precision.F32, ContextPolicy.sentenceKv(sinks, window, budget));
            int[] read = new int[1];
            double[] total = new double[1];
            boolean[] sinksAndWindowRead = {true};
            st.observe(new ForwardObserver() {
                @Override
                public void attention(int layer, int head, int position, float[] weights, int offset, int first, int count) {
                    int nonZero = 0;
                    double sum = 0;
                    for (int i = 0; i < count; i++) {
                        float w = weights[offset + i];
                        nonZero += w != 0 ? 1 : 0;
                        sum += w;
                        int p = first + i;
                        if ((p < sinks || p > position - window) && w == 0) {
                            sinksAndWindowRead[0] = false;
                        }
                    }
                    read[0] = Math.max(read[0], nonZero);
                    total[0] = Math.max(total[0], Math.abs(sum - 1));
                }
            });
            String text = "Lily had a red ball. She liked to play with it in the park. One day, the ball rolled away! "
                    + "Lily was sad. Her mom said, \"Let us look for it.\" They found it under a tree. Lily was happy again.";
            int[] tokens = model.tokenizer().encode(text, true, false);
            model.prefill(st, tokens, 0);
            assertThat(tokens.length).isGreaterThan(sinks + budget + window + 20);
            assertThat(read[0]).as("rows read by one query").isLessThanOrEqualTo(sinks + budget + window).isGreaterThan(sinks + window);
            assertThat(total[0]).as("weights sum to 1").isLessThan(1e-5);
            assertThat(sinksAndWindowRead[0]).as("sinks and window always read").isTrue();
            assertThat(st.kvCache().compressionStats()).startsWith("SentenceKV: a query read");
        }
    }

    @Test
    void theBatchSchedulerGeneratesTheGeneratorsTokens() throws Exception {
        LanguageModel model = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 2);
        try (model) {
            ContextPolicy p = ContextPolicy.sentenceKv(4, 8, 8);
            GenerationRequest req = GenerationRequest.of("Once upon a time, there was a little girl. She had a dog.", 30, SamplingParams.greedy());
            GenerationResult full = new Generator(model, KvCache.Precision.F16).generate(req, 128, t -> { });
            GenerationResult r = new Generator(model, KvCache.Precision.F16, p).generate(req, 128, t -> { });
            // every query within sinks + budget + window = 20 tokens reads the whole context: the same tokens up to there
            int same = Math.min(20 - r.promptTokens().length, full.generatedTokens().length);
            assertThat(same).isGreaterThan(0);
            assertThat(java.util.Arrays.copyOf(r.generatedTokens(), same)).containsExactly(java.util.Arrays.copyOf(full.generatedTokens(), same));
            // serve's default asks for a paged pool; SentenceKV keeps contiguous per-slot caches instead
            BatchScheduler.Options o = new BatchScheduler.Options(2, 128, KvCache.Precision.F16, 4, 16, true, p).paged(16, 256);
            assertThat(o.pagedPool()).isFalse();
            try (BatchScheduler s = new BatchScheduler(model, o)) {
                for (int round = 0; round < 2; round++) { // the second round reuses the slots' cached prompts
                    var h = s.submit(req, r.promptTokens(), () -> false);
                    assertThat(h.await(t -> { }).generatedTokens()).as("round " + round).containsExactly(r.generatedTokens());
                }
            }
        }
    }

    @Test
    void badParametersNameTheirFlag() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ContextPolicy.sentenceKv(4, 8, -1))
                .hasMessageContaining("--sentencekv-budget is -1; expected >= 0");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ContextPolicy.sentenceKv(-2, 8, 4))
                .hasMessageContaining("--kv-sink is -2");
        assertThat(ContextPolicy.sentenceKv(4, 8, 16).unbounded()).isFalse();
        assertThat((double) ContextPolicy.sentenceKv(4, 8, 16).budget()).isCloseTo(16, within(0.0));
    }
}
