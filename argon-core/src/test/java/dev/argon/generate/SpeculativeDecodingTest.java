package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.InferenceState;
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

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Speculative decoding with prompt lookup gives exactly the output of plain decoding (greedy and
 * seeded sampling, alone and in the batch scheduler) on TinyLLama-v0 and stories260K, and its
 * sampled tokens follow the target distribution at a fixed context (χ²).
 */
class SpeculativeDecodingTest {
    static LanguageModel tiny;
    static LanguageModel stories;
    static final int CTX = 256;
    /** Input-grounded prompts: the story repeats, so prompt lookup finds drafts. */
    static final List<String> PROMPTS = List.of(
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. "
                    + "One day, she saw a big red ball in the park. Once upon a time, there was a little girl named Lily.",
            "Tom and his dog went to the park. The dog ran after a ball. Tom and his dog went to the",
            "The cat sat on the mat. It was a sunny day.");

    @BeforeAll
    static void load() {
        tiny = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), new ModelOptions(2, true));
        stories = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
    }

    @AfterAll
    static void close() {
        for (LanguageModel m : new LanguageModel[] {tiny, stories}) {
            if (m != null) {
                m.close();
            }
        }
    }

    private static GenerationResult generate(Generator g, GenerationRequest req) {
        return g.generate(req, g.tokenizePrompt(req, CTX), CTX, s -> { }, () -> false);
    }

    private static void assertSameWithAndWithout(LanguageModel model, SamplingParams sampling, int draftMax) {
        Generator g = new Generator(model, KvCache.Precision.F16);
        for (String prompt : PROMPTS) {
            GenerationRequest plain = GenerationRequest.of(prompt, 60, sampling);
            GenerationResult a = generate(g, plain);
            GenerationResult b = generate(g, plain.withSpeculation(SpeculationParams.ngram().withDraft(0, draftMax)));
            assertThat(b.generatedTokens()).as(prompt).containsExactly(a.generatedTokens());
            assertThat(b.text()).isEqualTo(a.text());
            assertThat(b.finishReason()).isEqualTo(a.finishReason());
        }
        SpeculationStats st = g.speculationStats();
        assertThat(st.verifyPasses()).as("drafts were verified").isPositive();
        assertThat(st.accepted()).as("some drafts were accepted").isPositive();
        assertThat(st.accepted()).isLessThanOrEqualTo(st.proposed());
    }

    @Test
    void greedyOutputIsIdenticalOnTinyLlama() {
        assertSameWithAndWithout(tiny, SamplingParams.greedy(), 8);
    }

    @Test
    void greedyOutputIsIdenticalOnStories260K() {
        assertSameWithAndWithout(stories, SamplingParams.greedy(), 16);
    }

    @Test
    void seededSamplingIsIdenticalToo() {
        // the sequence samples each row with its own sampler and draws, so the same seed gives the same text
        for (long seed : new long[] {1, 2, 3}) {
            assertSameWithAndWithout(stories, new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, seed), 6);
        }
    }

    @Test
    void batchedSpeculationGivesTheSoloOutputs() throws Exception {
        for (int parallel : new int[] {1, 4}) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (String p : PROMPTS) {
                reqs.add(GenerationRequest.of(p, 50, SamplingParams.greedy()).withSpeculation(SpeculationParams.ngram()));
                reqs.add(GenerationRequest.of(p, 40, new SamplingParams(0.7f, 40, 0.95f, 0.05f, 1f, 64, 5))
                        .withSpeculation(SpeculationParams.ngram().withDraft(1, 5)));
            }
            reqs.add(GenerationRequest.of("Lily and Tom went to the park", 30, SamplingParams.greedy())); // no speculation
            GenerationResult[] batched = new GenerationResult[reqs.size()];
            try (BatchScheduler s = new BatchScheduler(tiny,
                    new BatchScheduler.Options(parallel, CTX, KvCache.Precision.F16, 16, 32, true))) {
                List<BatchScheduler.Handle> hs = new ArrayList<>();
                for (GenerationRequest r : reqs) {
                    hs.add(s.submit(r, new Generator(tiny).tokenizePrompt(r, CTX), () -> false));
                }
                for (int i = 0; i < hs.size(); i++) {
                    StringBuilder text = new StringBuilder();
                    batched[i] = hs.get(i).await(new GenerationListener() {
                        @Override
                        public void onText(String t) {
                            text.append(t);
                        }

                        @Override
                        public void onToken(int token, TokenLogprobs logprobs) {
                        }
                    });
                    assertThat(text.toString()).isEqualTo(batched[i].text());
                }
                BatchScheduler.Stats st = s.stats();
                assertThat(st.verifyPasses()).isPositive();
                assertThat(st.acceptedDraftTokens()).isPositive().isLessThanOrEqualTo(st.draftTokens());
                assertThat(st.generatedTokens()).isEqualTo(sumLengths(batched));
            }
            Generator plain = new Generator(tiny, KvCache.Precision.F16);
            for (int i = 0; i < reqs.size(); i++) {
                GenerationResult alone = generate(plain, reqs.get(i).withSpeculation(null));
                assertThat(batched[i].generatedTokens()).as("parallel %d, request %d", parallel, i)
                        .containsExactly(alone.generatedTokens());
                assertThat(batched[i].text()).isEqualTo(alone.text());
            }
        }
    }

    private static long sumLengths(GenerationResult[] rs) {
        long n = 0;
        for (GenerationResult r : rs) {
            n += r.generatedTokens().length;
        }
        return n;
    }

    @Test
    void aDraftModelGivesTheSameGreedyOutput() {
        // TinyLLama-v0 drafting for itself: its greedy drafts are mostly accepted, and the output is unchanged
        Generator plain = new Generator(tiny, KvCache.Precision.F16);
        Generator drafted = plain.withDraftModel(DraftModelProposer.factory(tiny, tiny, CTX, KvCache.Precision.F16, 0f));
        SpeculationParams sp = SpeculationParams.ngram().withMode(SpeculationParams.Mode.DRAFT).withDraft(0, 6);
        for (String prompt : PROMPTS.subList(1, 3)) {
            GenerationRequest req = GenerationRequest.of(prompt, 40, SamplingParams.greedy());
            assertThat(generate(drafted, req.withSpeculation(sp)).generatedTokens()).as(prompt)
                    .containsExactly(generate(plain, req).generatedTokens());
        }
        SpeculationStats st = drafted.speculationStats();
        assertThat(st.acceptanceRate()).as("a model drafting for itself").isGreaterThan(0.8);
        // --draft-p-min 1 stops drafting wherever the draft is not certain: far fewer draft tokens
        // (a generator of its own: generators derived from one share its counters)
        Generator unsure = new Generator(tiny, KvCache.Precision.F16)
                .withDraftModel(DraftModelProposer.factory(tiny, tiny, CTX, KvCache.Precision.F16, 1f));
        GenerationRequest req = GenerationRequest.of(PROMPTS.get(1), 40, SamplingParams.greedy());
        assertThat(generate(unsure, req.withSpeculation(sp)).generatedTokens()).containsExactly(generate(plain, req).generatedTokens());
        SpeculationStats u = unsure.speculationStats();
        assertThat(u.proposed()).isLessThan(st.proposed() / 4);
    }

    @Test
    void aDraftModelWithAnotherVocabularyIsRefused() {
        assertThatThrownBy(() -> DraftModelProposer.factory(tiny, stories, CTX, KvCache.Precision.F16, 0.5f))
                .isInstanceOf(ArgonException.class)
                .hasMessageContaining("the draft model (-md) has a vocabulary of 512 tokens but the model has 32000");
    }

    @Test
    void speculationBacksOffWhenMoreSequencesDecodeThanTheLimit() throws Exception {
        // limit 0: no sequence ever drafts; limit 2 with one request: it drafts
        for (int limit : new int[] {0, 2}) {
            SpeculationParams sp = new SpeculationParams(SpeculationParams.Mode.NGRAM, 0, 8, 2, 4, 0.75f, limit);
            try (BatchScheduler s = new BatchScheduler(stories, new BatchScheduler.Options(2, CTX, KvCache.Precision.F16, 4, 32, false))) {
                GenerationRequest r = GenerationRequest.of(PROMPTS.get(0), 30, SamplingParams.greedy()).withSpeculation(sp);
                s.submit(r, new Generator(stories).tokenizePrompt(r, CTX), () -> false).await(new GenerationListener() {
                    @Override
                    public void onText(String text) {
                    }
                });
                if (limit == 0) {
                    assertThat(s.stats().verifyPasses()).isZero();
                } else {
                    assertThat(s.stats().verifyPasses()).isPositive();
                }
            }
        }
    }

    @Test
    void aGrammarConstrainedSequenceSpeculatesToo() {
        // drafts that break the grammar are rejected by the masked sampler like any other mismatch
        String gbnf = "root ::= (\" Sue and Ben\" [a-z ]* \".\")+";
        GenerationRequest req = GenerationRequest.of(PROMPTS.get(2) + " Sue and Ben", 50, SamplingParams.greedy())
                .withConstraint(dev.argon.grammar.GrammarConstraint.factory(dev.argon.grammar.Grammar.parse(gbnf)));
        Generator g = new Generator(stories, KvCache.Precision.F16);
        GenerationResult a = generate(g, req);
        GenerationResult b = generate(g, req.withSpeculation(SpeculationParams.ngram().withDraft(0, 8)));
        assertThat(a.generatedTokens().length).as(a.text()).isGreaterThan(10);
        assertThat(b.generatedTokens()).containsExactly(a.generatedTokens());
        assertThat(g.speculationStats().verifyPasses()).isPositive();
    }

    @Test
    void anEvictingCacheIsRefused() {
        Generator g = new Generator(stories, KvCache.Precision.F16, ContextPolicy.shift(4));
        GenerationRequest req = GenerationRequest.of(PROMPTS.get(2), 10, SamplingParams.greedy())
                .withSpeculation(SpeculationParams.ngram());
        assertThatThrownBy(() -> generate(g, req)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("speculative decoding cannot be combined with a context shift");
    }

    @Test
    void aDraftModelModeWithoutADraftModelIsAClearError() {
        Generator g = new Generator(stories, KvCache.Precision.F16);
        GenerationRequest req = GenerationRequest.of(PROMPTS.get(2), 10, SamplingParams.greedy())
                .withSpeculation(SpeculationParams.ngram().withMode(SpeculationParams.Mode.DRAFT));
        assertThatThrownBy(() -> generate(g, req)).isInstanceOf(ArgonException.class).hasMessageContaining("-md/--model-draft");
        assertThatThrownBy(() -> SpeculationParams.ngram().withDraft(0, 0).validate()).hasMessageContaining("--draft-max is 0");
    }

    /**
     * At a fixed context (a stories260K prompt), a draft token x is verified many times with
     * different seeds: the first token follows softmax(logits / T), x is accepted with
     * probability p(x), and after an acceptance the bonus token follows the next row's
     * distribution (χ² at significance 0.001).
     */
    @Test
    void sampledTokensFollowTheTargetDistribution() {
        int[] prompt = stories.tokenizer().encode(dev.argon.tokenizer.PromptText.plain("Once upon a time, there was a"), true);
        InferenceState st = stories.newState(64, KvCache.Precision.F32);
        float[] row0 = stories.prefill(st, prompt, 0).clone();
        float temp = 0.8f;
        double[] p0 = softmax(row0, temp);
        int x = secondMostLikely(p0);
        float[] row1 = stories.forward(st, x, prompt.length, true).clone();
        double[] p1 = softmax(row1, temp);
        int vocab = row0.length;
        long[] first = new long[vocab];
        long[] bonus = new long[vocab];
        int n = 20_000;
        int accepted = 0;
        SpeculationParams sp = SpeculationParams.ngram().withDraft(1, 1);
        for (int seed = 0; seed < n; seed++) {
            GenerationRequest req = new GenerationRequest("", 8, new SamplingParams(temp, 0, 1f, 0f, 1f, 64, seed), List.of(), true, false);
            Sequence seq = new Sequence(stories, req, prompt, 64, new GenerationListener() {
                @Override
                public void onText(String text) {
                }
            });
            Speculator spec = new Speculator(sp, (tokens, length, max, out) -> {
                out[0] = x;
                return 1;
            }, new SpeculationStats());
            assertThat(spec.draft(seq, 1)).isEqualTo(1);
            int next = spec.verify(seq, i -> i == 0 ? row0 : row1);
            first[seq.generated(0)]++;
            if (seq.generated(0) == x) {
                accepted++;
                assertThat(seq.generatedCount()).isEqualTo(2);
                bonus[next]++;
            } else {
                assertThat(seq.generatedCount()).isEqualTo(1);
            }
        }
        assertThat(chiSquareTest(first, p0, n)).as("first token").isTrue();
        assertThat(chiSquareTest(bonus, p1, accepted)).as("bonus token").isTrue();
        double sd = Math.sqrt(p0[x] * (1 - p0[x]) / n);
        assertThat(accepted / (double) n).isCloseTo(p0[x], org.assertj.core.data.Offset.offset(4 * sd));
        // the test would notice a wrong target: the counts do not fit p1
        assertThat(chiSquareTest(first, p1, n)).isFalse();
    }

    private static double[] softmax(float[] logits, float temp) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l / temp);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] / temp - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static int secondMostLikely(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            best = p[i] > p[best] ? i : best;
        }
        int second = best == 0 ? 1 : 0;
        for (int i = 0; i < p.length; i++) {
            second = i != best && p[i] > p[second] ? i : second;
        }
        return second;
    }

    /**
     * Pearson's χ² test: tokens expected at least 5 times get their own bin, the rest share one;
     * true when the statistic is below the 0.999 quantile (Wilson–Hilferty approximation).
     */
    static boolean chiSquareTest(long[] counts, double[] p, long n) {
        double chi = 0;
        int bins = 0;
        double restExpected = 0;
        long restCount = 0;
        for (int i = 0; i < counts.length; i++) {
            double e = p[i] * n;
            if (e >= 5) {
                chi += (counts[i] - e) * (counts[i] - e) / e;
                bins++;
            } else {
                restExpected += e;
                restCount += counts[i];
            }
        }
        if (restExpected > 0) {
            chi += (restCount - restExpected) * (restCount - restExpected) / Math.max(restExpected, 1e-9);
            bins++;
        }
        int df = bins - 1;
        double z = 3.0902; // the 0.999 quantile of the standard normal
        double a = 2.0 / (9 * df);
        double critical = df * Math.pow(1 - a + z * Math.sqrt(a), 3);
        return chi < critical;
    }
}
