package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** GenARM on stories260K, with its Q8_0 copy as a second (different) model over the same vocabulary. */
class RewardGuidanceTest {
    static LanguageModel base;
    static LanguageModel q8;
    static final int CTX = 256;

    @BeforeAll
    static void load() {
        base = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
        q8 = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K-q8_0.ggufv2.gguf"), 2);
    }

    @AfterAll
    static void close() {
        if (base != null) {
            base.close();
        }
        if (q8 != null) {
            q8.close();
        }
    }

    private static RewardGuidance rewards(float beta, Object... modelsAndWeights) {
        List<RewardGuidance.Reward> rs = new java.util.ArrayList<>();
        for (int i = 0; i < modelsAndWeights.length; i += 2) {
            rs.add(new RewardGuidance.Reward("r" + i, (LanguageModel) modelsAndWeights[i], (Float) modelsAndWeights[i + 1]));
        }
        return new RewardGuidance(rs, beta);
    }

    @Test
    void mixedLogitsFollowTheFormulaOverSeparateRuns() {
        float beta = 0.5f;
        GuidanceTest.Recorder rec = new GuidanceTest.Recorder();
        GenerationRequest req = GenerationRequest.of("Once upon a time", 20, SamplingParams.greedy()).withSteps(List.of(rec));
        // two objectives: the Q8_0 model (w 1) and the base itself (w 0.5)
        GenerationResult r = new Generator(base).withRewards(rewards(beta, q8, 1f, base, 0.5f)).generate(req, CTX, s -> { });
        int[] gen = r.generatedTokens();
        int[] prompt = r.promptTokens();
        assertThat(rec.seen).hasSize(gen.length);
        InferenceState sb = base.newState(CTX);
        InferenceState sq = q8.newState(CTX);
        float[] lb = base.prefill(sb, prompt, 0).clone();
        float[] lq = q8.prefill(sq, prompt, 0).clone();
        double maxDiff = 0;
        double maxQ8Gap = 0;
        for (int t = 0; t < gen.length; t++) {
            double zb = Guidance.logSumExp(lb);
            double zq = Guidance.logSumExp(lq);
            for (int v = 0; v < lb.length; v++) {
                double lpb = lb[v] - zb;
                double lpq = lq[v] - zq;
                double expect = lpb + (1 / beta) * lpq + (0.5 / beta) * lpb;
                maxDiff = Math.max(maxDiff, Math.abs(rec.seen.get(t)[v] - expect));
                maxQ8Gap = Math.max(maxQ8Gap, Math.abs(lpq - lpb));
            }
            lb = base.forward(sb, gen[t], prompt.length + t, true).clone();
            lq = q8.forward(sq, gen[t], prompt.length + t, true).clone();
        }
        assertThat(maxDiff).isLessThan(1e-4);
        assertThat(maxQ8Gap).as("the Q8_0 model is a different model").isGreaterThan(1e-3);
    }

    @Test
    void zeroWeightIsTheBaseModelBitForBit() {
        var p = new SamplingParams(1f, 40, 0.95f, 0.05f, 1f, 64, 21);
        GenerationRequest req = GenerationRequest.of("Once upon a time", 50, p);
        GenerationResult plain = new Generator(base).generate(req, CTX, s -> { });
        GenerationResult zero = new Generator(base).withRewards(rewards(0.1f, q8, 0f)).generate(req, CTX, s -> { });
        GenerationResult steered = new Generator(base).withRewards(rewards(0.1f, q8, 1f)).generate(req, CTX, s -> { });
        assertThat(zero.generatedTokens()).containsExactly(plain.generatedTokens());
        assertThat(steered.generatedTokens()).isNotEqualTo(plain.generatedTokens());
    }

    @Test
    void aDifferentVocabularyIsAClearError() {
        try (LanguageModel tiny = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 2)) {
            assertThatThrownBy(() -> new Generator(base).withRewards(rewards(1f, tiny, 1f)))
                    .isInstanceOf(ArgonException.class)
                    .hasMessageContaining("vocabulary of 32000 tokens but the base model has 512");
        }
        assertThatThrownBy(() -> rewards(0f, q8, 1f)).isInstanceOf(ArgonException.class).hasMessageContaining("--reward-beta");
        assertThatThrownBy(() -> rewards(1f, q8, Float.NaN)).isInstanceOf(ArgonException.class).hasMessageContaining("--reward-weight");
    }

    /**
     * A reward model preferring the tokens whose piece contains 'a' (logit 1 there, 0 elsewhere):
     * the class's share of 20 sampled 80-token texts rises with every step down in beta.
     */
    @Test
    void thePreferredClassGrowsAsBetaFalls() {
        boolean[] hasA = new boolean[base.config().vocabSize()];
        for (int i = 0; i < hasA.length; i++) {
            hasA[i] = base.tokenizer().piece(i).contains("a");
        }
        LanguageModel reward = new ClassRewardModel(q8, hasA, 1f);
        double last = -1;
        StringBuilder table = new StringBuilder();
        for (float beta : new float[] {Float.POSITIVE_INFINITY, 2f, 1f, 0.5f}) {
            Generator g = Float.isInfinite(beta) ? new Generator(base) : new Generator(base).withRewards(rewards(beta, reward, 1f));
            int inClass = 0;
            int total = 0;
            for (int seed = 0; seed < 20; seed++) {
                var p = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed);
                for (int t : g.generate(GenerationRequest.of("Once upon a time", 80, p), CTX, s -> { }).generatedTokens()) {
                    inClass += hasA[t] ? 1 : 0;
                    total++;
                }
            }
            double share = (double) inClass / total;
            table.append(String.format(java.util.Locale.ROOT, "beta %s: %.3f%n", beta, share));
            assertThat(share).as(table.toString()).isGreaterThan(last);
            last = share;
        }
        System.out.print(table);
    }
}
