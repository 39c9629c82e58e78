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
 * Lookahead decoding ({@code --spec lookahead}) gives exactly the output of plain decoding (greedy
 * and seeded sampling, alone and in the batch scheduler) on TinyLLama-v0 and stories260K, and its
 * proposer turns the model's predictions at rejected rows into Jacobi guesses and pool n-grams.
 */
class LookaheadDecodingTest {
    static LanguageModel tiny;
    static LanguageModel stories;
    static final int CTX = 256;

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

    private static SpeculationStats assertSameWithAndWithout(LanguageModel model, SamplingParams sampling, SpeculationParams sp) {
        Generator g = new Generator(model, KvCache.Precision.F16);
        for (String prompt : SpeculativeDecodingTest.PROMPTS) {
            GenerationRequest plain = GenerationRequest.of(prompt, 60, sampling);
            GenerationResult a = generate(g, plain);
            GenerationResult b = generate(g, plain.withSpeculation(sp));
            assertThat(b.generatedTokens()).as(prompt).containsExactly(a.generatedTokens());
            assertThat(b.text()).isEqualTo(a.text());
            assertThat(b.finishReason()).isEqualTo(a.finishReason());
        }
        SpeculationStats st = g.speculationStats();
        assertThat(st.verifyPasses()).as("windows were verified").isPositive();
        assertThat(st.accepted()).isLessThanOrEqualTo(st.proposed());
        return st;
    }

    @Test
    void greedyOutputIsIdenticalOnTinyLlama() {
        SpeculationStats st = assertSameWithAndWithout(tiny, SamplingParams.greedy(), SpeculationParams.lookaheadDecoding());
        assertThat(st.accepted()).as("some guesses were accepted").isPositive();
        // every pass runs the whole chain: W + N - 1 rows unless the token limit is near
        assertThat(st.proposed()).isGreaterThan(st.verifyPasses() * 5);
    }

    @Test
    void greedyOutputIsIdenticalOnStories260KWithOtherSettings() {
        for (SpeculationParams.Lookahead l : List.of(new SpeculationParams.Lookahead(1, 2, 1),
                new SpeculationParams.Lookahead(15, 5, 15))) {
            SpeculationStats st = assertSameWithAndWithout(stories, SamplingParams.greedy(), SpeculationParams.lookaheadDecoding().withLookahead(l));
            assertThat(st.accepted()).as("%s", l).isPositive();
        }
    }

    @Test
    void seededSamplingIsIdenticalToo() {
        for (long seed : new long[] {1, 2}) {
            assertSameWithAndWithout(stories, new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, seed), SpeculationParams.lookaheadDecoding());
        }
    }

    @Test
    void batchedLookaheadGivesTheSoloOutputs() throws Exception {
        for (int parallel : new int[] {1, 4}) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (String p : SpeculativeDecodingTest.PROMPTS) {
                reqs.add(GenerationRequest.of(p, 40, SamplingParams.greedy()).withSpeculation(SpeculationParams.lookaheadDecoding()));
                reqs.add(GenerationRequest.of(p, 30, new SamplingParams(0.7f, 40, 0.95f, 0.05f, 1f, 64, 5))
                        .withSpeculation(SpeculationParams.lookaheadDecoding().withLookahead(new SpeculationParams.Lookahead(3, 3, 4))));
            }
            reqs.add(GenerationRequest.of("Lily and Tom went to the park", 30, SamplingParams.greedy())
                    .withSpeculation(SpeculationParams.ngram()));
            // 19 rows per pass, more than --draft-max (16): the batch is sized by maxDraftRows
            reqs.add(GenerationRequest.of("Lily and Tom went to the park", 30, SamplingParams.greedy())
                    .withSpeculation(SpeculationParams.lookaheadDecoding().withLookahead(new SpeculationParams.Lookahead(15, 5, 15))));
            GenerationResult[] batched = new GenerationResult[reqs.size()];
            try (BatchScheduler s = new BatchScheduler(stories,
                    new BatchScheduler.Options(parallel, CTX, KvCache.Precision.F16, 16, 32, true))) {
                List<BatchScheduler.Handle> hs = new ArrayList<>();
                for (GenerationRequest r : reqs) {
                    hs.add(s.submit(r, new Generator(stories).tokenizePrompt(r, CTX), () -> false));
                }
                for (int i = 0; i < hs.size(); i++) {
                    batched[i] = hs.get(i).await(text -> { });
                }
                assertThat(s.stats().verifyPasses()).isPositive();
                assertThat(s.stats().acceptedDraftTokens()).isPositive();
            }
            Generator plain = new Generator(stories, KvCache.Precision.F16);
            for (int i = 0; i < reqs.size(); i++) {
                GenerationResult alone = generate(plain, reqs.get(i).withSpeculation(null));
                assertThat(batched[i].generatedTokens()).as("parallel %d, request %d", parallel, i)
                        .containsExactly(alone.generatedTokens());
            }
        }
    }

    /** Logits over a 10-token vocabulary whose greedy choice is {@code top}. */
    private static float[] peak(int top) {
        float[] l = new float[10];
        l[top] = 5f;
        return l;
    }

    @Test
    void rejectedRowsBecomeJacobiGuessesAndPoolNgrams() {
        LookaheadProposer p = new LookaheadProposer(new SpeculationParams.Lookahead(3, 3, 2), new NgramProposer(2, 4));
        int[] text = {1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0};
        int[] out = new int[5];
        // no n-gram starts with 4: the chain is five filled guesses (from the text)
        assertThat(p.propose(text, 4, 5, out)).isEqualTo(5);
        assertThat(java.util.Arrays.stream(out).boxed().toList()).allSatisfy(t -> assertThat(t).isBetween(1, 4));
        int[] draft = {7, 8, 9, 6, 5};
        // row r predicts: 0 -> 7 (accepts draft 0), 1 -> 0 (rejects 8), 2 -> 6, 3 -> 5, 4 -> 2, 5 -> 1
        int[] predictions = {7, 0, 6, 5, 2, 1};
        p.verified(draft, 5, 1, r -> peak(predictions[r]));
        // rows 2..5 gave Jacobi guesses for the tokens after the new one; n-grams (N = 3): rows 1..2 + prediction etc.
        assertThat(p.poolSize(7)).as("7 8 -> 6").isEqualTo(1);
        assertThat(p.poolSize(8)).as("8 9 -> 5").isEqualTo(1);
        assertThat(p.poolSize(9)).as("9 6 -> 2").isEqualTo(1);
        assertThat(p.poolSize(6)).as("6 5 -> 1").isEqualTo(1);
        // the sequence took 7 and 0 (no n-gram starts with 0): the next chain is the Jacobi guesses 6 5 2 1
        int[] next = {1, 2, 3, 4, 7, 0, 0, 0, 0, 0};
        assertThat(p.propose(next, 6, 5, out)).isEqualTo(5);
        assertThat(out).startsWith(6, 5, 2, 1);
        // after 8 the pool knows "9 5" (from the chain 8 9 -> 5): a text ending in 8 (one plain step later) drafts it first
        LookaheadProposer q = new LookaheadProposer(new SpeculationParams.Lookahead(2, 3, 2), null);
        q.propose(new int[] {1, 2, 3, 4}, 4, 4, out);
        q.verified(new int[] {8, 9, 1, 1}, 4, 0, r -> peak(new int[] {2, 9, 5, 3, 3}[r]));
        assertThat(q.propose(new int[] {1, 2, 3, 4, 2, 8}, 6, 4, out)).isEqualTo(4);
        assertThat(out).startsWith(9, 5);
    }

    @Test
    void theTextItselfFeedsThePool() {
        // "5 6 7" occurred: after a 5 the draft starts with 6 7 (prompt lookup through the pool)
        LookaheadProposer p = new LookaheadProposer(new SpeculationParams.Lookahead(1, 3, 4), new NgramProposer(2, 4));
        int[] out = new int[3];
        assertThat(p.propose(new int[] {1, 5, 6, 7, 2, 5}, 6, 3, out)).isEqualTo(3);
        assertThat(out).startsWith(6, 7);
        // prompt lookup goes first: "9 5" occurred before "6 7 1", while the pool's newest n-gram after 5 is "8 2"
        int[] text = {9, 5, 6, 7, 1, 5, 8, 2, 9, 5};
        assertThat(new LookaheadProposer(new SpeculationParams.Lookahead(1, 3, 4), new NgramProposer(2, 4))
                .propose(text, text.length, 3, out)).isEqualTo(3);
        assertThat(out).containsExactly(6, 7, 1);
        new LookaheadProposer(new SpeculationParams.Lookahead(1, 3, 4), null).propose(text, text.length, 3, out);
        assertThat(out).startsWith(8, 2);
    }

    @Test
    void badSettingsNameTheFlag() {
        assertThatThrownBy(() -> SpeculationParams.lookaheadDecoding().withLookahead(new SpeculationParams.Lookahead(0, 4, 8)).validate())
                .isInstanceOf(ArgonException.class).hasMessageContaining("--lookahead-window is 0");
        assertThatThrownBy(() -> SpeculationParams.lookaheadDecoding().withLookahead(new SpeculationParams.Lookahead(60, 8, 8)).validate())
                .hasMessageContaining("--lookahead-window is 60; expected 1..57");
        assertThatThrownBy(() -> SpeculationParams.lookaheadDecoding().withLookahead(new SpeculationParams.Lookahead(4, 1, 8)).validate())
                .hasMessageContaining("--lookahead-ngram is 1");
        assertThatThrownBy(() -> SpeculationParams.lookaheadDecoding().withLookahead(new SpeculationParams.Lookahead(4, 4, 0)).validate())
                .hasMessageContaining("--lookahead-guess is 0");
        assertThat(SpeculationParams.Mode.parse("Lookahead", "--spec")).isEqualTo(SpeculationParams.Mode.LOOKAHEAD);
    }
}
