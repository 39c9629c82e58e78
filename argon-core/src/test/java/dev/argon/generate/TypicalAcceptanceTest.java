package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplerChain;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The lossy typical acceptance ({@link DraftAcceptance}, Medusa's rule p(x) > min(ε, δ·exp(−H)))
 * on hand-made logits with hand-computed probabilities and entropies: it keeps draft tokens that
 * exact verification (the same draw) rejects, counts them, and leaves everything else as exact
 * verification does.
 */
class TypicalAcceptanceTest {
    static LanguageModel stories; // only its tokenizer and vocabulary (512) are used
    static final int A = 10;
    static final int B = 20;
    static final int C = 30;
    static final int BONUS = 40;
    static final int[] PROMPT = {1, 5, 6};
    static final DraftAcceptance MEDUSA = DraftAcceptance.typical(DraftAcceptance.DEFAULT_EPSILON, DraftAcceptance.DEFAULT_DELTA);

    @BeforeAll
    static void load() {
        stories = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 1);
    }

    @AfterAll
    static void close() {
        if (stories != null) {
            stories.close();
        }
    }

    /** Logits over the 512-token vocabulary: token ids[i] has probability probs[i], every other token none. */
    static float[] logits(int[] ids, double[] probs) {
        float[] l = new float[512];
        Arrays.fill(l, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < ids.length; i++) {
            l[ids[i]] = (float) Math.log(probs[i]);
        }
        return l;
    }

    /** Row 0: p(A) = 0.5, p(B) = 0.3, p(C) = 0.2; H = 1.029653 nats, so min(0.09, 0.3·e^−H = 0.107139) = 0.09. */
    static final float[] ROW0 = logits(new int[] {A, B, C}, new double[] {0.5, 0.3, 0.2});
    /** The row after an accepted draft: the bonus token for sure. */
    static final float[] ROW1 = logits(new int[] {BONUS}, new double[] {1});

    /** A proposer that always drafts the given tokens. */
    static DraftProposer fixed(int... tokens) {
        return (history, length, max, out) -> {
            int n = Math.min(max, tokens.length);
            System.arraycopy(tokens, 0, out, 0, n);
            return n;
        };
    }

    /** One verification pass of {@code draft} over the given rows; returns the generated tokens. */
    static int[] verifyOnce(SamplingParams sampling, DraftAcceptance rule, SpeculationStats stats, int[] draft, float[]... rows) {
        GenerationRequest req = GenerationRequest.of("", 10, sampling);
        Sequence seq = new Sequence(stories, req, PROMPT, 64, text -> { });
        Speculator spec = new Speculator(SpeculationParams.ngram().withAcceptance(rule), fixed(draft), stats);
        int k = spec.draft(seq, 8);
        assertThat(k).isEqualTo(draft.length);
        spec.verify(seq, i -> rows[i]);
        int[] out = new int[seq.generatedCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = seq.generated(i);
        }
        return out;
    }

    static SamplingParams sampled(float temperature, long seed) {
        return new SamplingParams(temperature, 0, 1f, 0f, 1f, 64, seed);
    }

    @Test
    void typicalKeepsADraftTokenThatTheExactDrawRejectsAndCountsIt() {
        SpeculationStats exactStats = new SpeculationStats();
        SpeculationStats typicalStats = new SpeculationStats();
        int exactRejected = 0;
        for (long seed = 0; seed < 40; seed++) {
            int[] exact = verifyOnce(sampled(1f, seed), DraftAcceptance.EXACT, exactStats, new int[] {B}, ROW0, ROW1);
            int[] typical = verifyOnce(sampled(1f, seed), MEDUSA, typicalStats, new int[] {B}, ROW0, ROW1);
            // p(B) = 0.3 > 0.09: typical always keeps B and then takes the bonus token
            assertThat(typical).as("seed %d", seed).containsExactly(B, BONUS);
            if (exact[0] == B) {
                assertThat(exact).containsExactly(B, BONUS);
            } else {
                assertThat(exact).as("exact: the draw, A or C, ends the pass").hasSize(1);
                assertThat(exact[0]).isIn(A, C);
                exactRejected++;
            }
        }
        assertThat(exactRejected).as("with p(B) = 0.3, 40 draws reject B many times").isBetween(15, 39);
        assertThat(exactStats.lenientAccepted()).isZero();
        assertThat(exactStats.accepted()).isEqualTo(40 - exactRejected);
        assertThat(typicalStats.accepted()).isEqualTo(40);
        assertThat(typicalStats.lenientAccepted()).as("lenient = the draws exact verification rejected").isEqualTo(exactRejected);
        assertThat(typicalStats.proposed()).isEqualTo(40);
    }

    @Test
    void theEntropyTermLowersTheThresholdForFlatDistributions() {
        // 20 equally likely tokens: p(x) = 0.05 < ε = 0.09, but H = ln 20 = 2.995732, so δ·e^−H = 0.3/20 = 0.015 < 0.05
        int[] ids = new int[20];
        double[] probs = new double[20];
        for (int i = 0; i < 20; i++) {
            ids[i] = 100 + i;
            probs[i] = 0.05;
        }
        float[] flat = logits(ids, probs);
        SpeculationStats st = new SpeculationStats();
        for (long seed = 0; seed < 10; seed++) {
            assertThat(verifyOnce(sampled(1f, seed), MEDUSA, st, new int[] {105}, flat, ROW1)).containsExactly(105, BONUS);
        }
        assertThat(st.lenientAccepted()).as("the draw hits 105 with probability 0.05 only").isGreaterThanOrEqualTo(8);
        // other thresholds: ε 0.04 (below p) and δ 0.5 (0.5/20 = 0.025 below p) keep it too; for a flat distribution
        // δ·e^−H = δ·p, so with δ <= 1 only ε can stop it (p = the threshold exactly is tested in theRuleAtItsEdges)
        for (long seed = 0; seed < 10; seed++) {
            assertThat(verifyOnce(sampled(1f, seed), DraftAcceptance.typical(0.04f, 1f), new SpeculationStats(), new int[] {105},
                    flat, ROW1)).containsExactly(105, BONUS);
            assertThat(verifyOnce(sampled(1f, seed), DraftAcceptance.typical(0.09f, 0.5f), new SpeculationStats(), new int[] {105},
                    flat, ROW1)).containsExactly(105, BONUS);
            int[] exact = verifyOnce(sampled(1f, seed), DraftAcceptance.EXACT, new SpeculationStats(), new int[] {105}, flat, ROW1);
            assertThat(verifyOnce(sampled(1f, seed), DraftAcceptance.typical(0.01f, 0.1f), new SpeculationStats(), new int[] {105},
                    flat, ROW1)).as("threshold min(0.01, 0.005) < 0.05").containsExactly(105, BONUS);
            assertThat(exact[0] == 105 ? exact.length : 1).as("exact keeps 105 only when the draw is 105").isEqualTo(exact.length);
        }
    }

    @Test
    void belowTheThresholdTheDrawDecidesAsInExactVerification() {
        // p(A) = 0.95, p(B) = 0.05: H = 0.198515, threshold min(0.09, 0.3·e^−H = 0.245984) = 0.09 > 0.05
        float[] peaked = logits(new int[] {A, B}, new double[] {0.95, 0.05});
        SpeculationStats st = new SpeculationStats();
        SpeculationStats ex = new SpeculationStats();
        for (long seed = 0; seed < 30; seed++) {
            int[] exact = verifyOnce(sampled(1f, seed), DraftAcceptance.EXACT, ex, new int[] {B}, peaked, ROW1);
            assertThat(verifyOnce(sampled(1f, seed), MEDUSA, st, new int[] {B}, peaked, ROW1)).as("seed %d", seed)
                    .containsExactly(exact);
        }
        assertThat(st.lenientAccepted()).isZero();
        assertThat(st.accepted()).isEqualTo(ex.accepted());
    }

    @Test
    void greedyRequestsKeepExactVerification() {
        // temperature 0: p is the point mass at A, so B (0.3 before the argmax) is rejected as exact would
        SpeculationStats st = new SpeculationStats();
        assertThat(verifyOnce(SamplingParams.greedy(), MEDUSA, st, new int[] {B}, ROW0, ROW1)).containsExactly(A);
        assertThat(verifyOnce(SamplingParams.greedy(), MEDUSA, st, new int[] {A}, ROW0, ROW1)).containsExactly(A, BONUS);
        assertThat(st.lenientAccepted()).isZero();
        assertThat(st.accepted()).isEqualTo(1);
    }

    @Test
    void aLenientPrefixStopsAtTheFirstTokenBelowTheThreshold() {
        // draft B, A, B: row 0 keeps B (0.3), row 1 (p(A) = 0.95) keeps A, row 2 (p(B) = 0.05) takes its draw
        float[] peaked = logits(new int[] {A, B}, new double[] {0.95, 0.05});
        for (long seed = 0; seed < 10; seed++) {
            SpeculationStats st = new SpeculationStats();
            int[] out = verifyOnce(sampled(1f, seed), MEDUSA, st, new int[] {B, A, B}, ROW0, peaked, peaked, ROW1);
            assertThat(Arrays.copyOf(out, 2)).containsExactly(B, A);
            if (out[2] == B) {
                assertThat(out).as("the draw at row 2 was B: accepted as exact, then the bonus").containsExactly(B, A, B, BONUS);
            } else {
                assertThat(out).containsExactly(B, A, A);
                assertThat(st.accepted()).isEqualTo(2);
            }
            assertThat(st.lenientAccepted()).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void generatorAndSchedulerApplyTheSameRule() throws Exception {
        // the rule lives in Speculator.verify: a sampled typical request gives the same tokens alone and batched
        String story = "Sue and Ben were friends. They liked to draw pictures together. Sue drew a cat and Ben drew a dog."
                + " Once upon a time, Sue and Ben were friends. They liked to";
        SpeculationParams sp = SpeculationParams.ngram().withDraft(0, 8).withAcceptance(DraftAcceptance.typical(0.05f, 0.3f));
        Generator g = new Generator(stories, dev.argon.kv.KvCache.Precision.F16);
        java.util.List<GenerationRequest> reqs = new java.util.ArrayList<>();
        for (long seed = 1; seed <= 3; seed++) {
            reqs.add(GenerationRequest.of(story, 40, new SamplingParams(0.9f, 0, 1f, 0f, 1f, 64, seed)).withSpeculation(sp));
        }
        java.util.List<int[]> alone = new java.util.ArrayList<>();
        for (GenerationRequest r : reqs) {
            alone.add(g.generate(r, g.tokenizePrompt(r, 256), 256, t -> { }, () -> false).generatedTokens());
        }
        assertThat(g.speculationStats().lenientAccepted()).as("typical kept drafts the draws rejected").isPositive();
        try (BatchScheduler s = new BatchScheduler(stories,
                new BatchScheduler.Options(3, 256, dev.argon.kv.KvCache.Precision.F16, 8, 32, false))) {
            java.util.List<BatchScheduler.Handle> hs = new java.util.ArrayList<>();
            for (GenerationRequest r : reqs) {
                hs.add(s.submit(r, g.tokenizePrompt(r, 256), () -> false));
            }
            for (int i = 0; i < hs.size(); i++) {
                assertThat(hs.get(i).await(t -> { }).generatedTokens()).as("seed %d", i + 1).containsExactly(alone.get(i));
            }
            assertThat(s.speculationStats().lenientAccepted()).isEqualTo(g.speculationStats().lenientAccepted());
            assertThat(s.speculationStats().accepted()).isEqualTo(g.speculationStats().accepted());
        }
    }

    @Test
    void theRuleAtItsEdges() {
        DraftAcceptance r = MEDUSA;
        double eps = 0.09f; // the float default, widened
        assertThat(r.threshold(0)).as("H = 0: min(ε, δ)").isEqualTo(eps);
        assertThat(r.typicalAccepts(eps, 0)).as("p = threshold is not above it").isFalse();
        assertThat(r.typicalAccepts(Math.nextUp(eps), 0)).isTrue();
        assertThat(r.threshold(Math.log(10))).isCloseTo(0.3f / 10.0, within(1e-12));
        assertThat(r.typicalAccepts(0.029, Math.log(10))).isFalse();
        assertThat(r.typicalAccepts(0.031, Math.log(10))).isTrue();
        assertThat(DraftAcceptance.typical(0f, 0.3f).typicalAccepts(1e-9, 0)).as("ε = 0 keeps any possible token").isTrue();
        assertThat(DraftAcceptance.typical(0f, 0.3f).typicalAccepts(0, 0)).as("never an impossible one").isFalse();
        assertThat(DraftAcceptance.typical(1f, 1f).typicalAccepts(1, 0)).as("ε = δ = 1 keeps nothing by leniency").isFalse();
    }

    @Test
    void lastDrawGivesTheSampledDistribution() {
        // temperature 0.5 squares the probabilities: (0.25, 0.09, 0.04)/0.38 = 0.657895, 0.236842, 0.105263; H = 0.853584
        SamplerChain t = SamplerChain.create(sampled(0.5f, 3), 512);
        t.sample(ROW0);
        assertThat(t.lastDraw(B).probability()).isCloseTo(0.236842, within(1e-6));
        assertThat(t.lastDraw(B).entropy()).isCloseTo(0.853584, within(1e-5));
        assertThat(t.lastDraw(BONUS).probability()).isZero();
        // top-k 2 drops C: 0.625, 0.375, H = 0.661563
        SamplerChain k = SamplerChain.create(new SamplingParams(1f, 2, 1f, 0f, 1f, 64, 3), 512);
        k.sample(ROW0);
        assertThat(k.lastDraw(A).probability()).isCloseTo(0.625, within(1e-6));
        assertThat(k.lastDraw(C).probability()).isZero();
        assertThat(k.lastDraw(C).entropy()).isCloseTo(0.661563, within(1e-5));
        SamplerChain g = SamplerChain.create(SamplingParams.greedy(), 512);
        assertThat(g.draws()).isFalse();
        assertThatThrownBy(() -> g.lastDraw(A)).isInstanceOf(IllegalStateException.class);
        g.sample(ROW0);
        assertThat(g.lastDraw(A)).isEqualTo(new SamplerChain.Draw(1, 0));
        assertThat(g.lastDraw(B)).isEqualTo(new SamplerChain.Draw(0, 0));
    }

    @Test
    void badSettingsAreClearErrors() {
        assertThatThrownBy(() -> DraftAcceptance.typical(-0.1f, 0.3f).validate()).isInstanceOf(ArgonException.class)
                .hasMessage("--spec-typical-epsilon is -0.1; expected 0..1 (a probability)");
        assertThatThrownBy(() -> DraftAcceptance.typical(0.09f, 1.5f).validate())
                .hasMessage("--spec-typical-delta is 1.5; expected 0..1");
        assertThatThrownBy(() -> DraftAcceptance.typical(Float.NaN, 0.3f).validate()).hasMessageContaining("--spec-typical-epsilon is NaN");
        assertThatThrownBy(() -> DraftAcceptance.Rule.parse("judge", "--spec-accept"))
                .hasMessage("--spec-accept is 'judge'; expected exact or typical");
        assertThat(DraftAcceptance.Rule.parse(" Typical ", "x")).isEqualTo(DraftAcceptance.Rule.TYPICAL);
        assertThatThrownBy(() -> SpeculationParams.ngram().withAcceptance(DraftAcceptance.typical(0.09f, 2f)).validate())
                .hasMessageContaining("--spec-typical-delta is 2.0");
        assertThatThrownBy(() -> SpeculationParams.ngram().withAcceptance(null).validate()).hasMessageContaining("--spec-accept");
    }
}
