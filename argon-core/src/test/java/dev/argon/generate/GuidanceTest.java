package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.Candidates;
import dev.argon.sampling.SamplerStep;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Classifier-free guidance on stories260K: the mix of two sequences run as paired rows. */
class GuidanceTest {
    static LanguageModel model;
    static final int CTX = 256;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    /** Records the logits the chain receives (it is the first step of a greedy chain without bias or penalties). */
    static final class Recorder implements SamplerStep {
        final List<float[]> seen = new ArrayList<>();

        @Override
        public void apply(Candidates c) {
            float[] l = new float[c.size()];
            for (int i = 0; i < l.length; i++) {
                l[i] = c.logit(i);
            }
            seen.add(l);
        }
    }

    private static GenerationRequest request(String prompt, int n, SamplingParams p) {
        return GenerationRequest.of(prompt, n, p);
    }

    @Test
    void scaleOneIsPlainGenerationTokenForToken() {
        var p = new SamplingParams(1f, 40, 0.95f, 0.05f, 1.1f, 64, 9);
        GenerationResult plain = new Generator(model).generate(request("Once upon a time", 60, p), CTX, s -> { });
        GenerationResult one = new Generator(model).generate(request("Once upon a time", 60, p)
                .withGuidance(new Guidance(1f, PromptText.plain("The dog"))), CTX, s -> { });
        assertThat(one.generatedTokens()).containsExactly(plain.generatedTokens());
        assertThat(one.text()).isEqualTo(plain.text());
    }

    @Test
    void mixedLogitsFollowTheFormulaOverTwoSeparateRuns() {
        float scale = 2.5f;
        Recorder rec = new Recorder();
        GenerationRequest req = request("Once upon a time", 24, SamplingParams.greedy())
                .withGuidance(new Guidance(scale, PromptText.plain("The sad dragon")))
                .withSteps(List.of(rec));
        GenerationResult guided = new Generator(model).generate(req, CTX, s -> { });
        int[] gen = guided.generatedTokens();
        assertThat(rec.seen).hasSize(gen.length);
        // two separate runs, one per prompt, fed the same generated tokens
        int[] condPrompt = guided.promptTokens();
        int[] uncondPrompt = model.tokenizer().encode("The sad dragon", true, false);
        InferenceState c = model.newState(CTX);
        InferenceState u = model.newState(CTX);
        float[] lc = model.prefill(c, condPrompt, 0).clone();
        float[] lu = model.prefill(u, uncondPrompt, 0).clone();
        float maxDiff = 0;
        int differs = 0;
        for (int t = 0; t < gen.length; t++) {
            double zc = Guidance.logSumExp(lc);
            double zu = Guidance.logSumExp(lu);
            float[] got = rec.seen.get(t);
            int cArgmax = 0;
            for (int i = 0; i < lc.length; i++) {
                double expect = (lu[i] - zu) + scale * ((lc[i] - zc) - (lu[i] - zu));
                maxDiff = Math.max(maxDiff, (float) Math.abs(got[i] - expect));
                cArgmax = lc[i] > lc[cArgmax] ? i : cArgmax;
            }
            differs += cArgmax != gen[t] ? 1 : 0;
            lc = model.forward(c, gen[t], condPrompt.length + t, true).clone();
            lu = model.forward(u, gen[t], uncondPrompt.length + t, true).clone();
        }
        assertThat(maxDiff).isLessThan(1e-4f);
        assertThat(differs).as("guidance changed some greedy choices").isPositive();
    }

    @Test
    void scaleZeroSamplesTheNegativePromptsDistribution() {
        GenerationResult zero = new Generator(model).generate(request("Once upon a time", 30, SamplingParams.greedy())
                .withGuidance(new Guidance(0f, PromptText.plain("The dog"))), CTX, s -> { });
        GenerationResult neg = new Generator(model).generate(request("The dog", 30, SamplingParams.greedy()), CTX, s -> { });
        assertThat(zero.generatedTokens()).containsExactly(neg.generatedTokens());
    }

    @Test
    void badScaleIsNamed() {
        assertThatThrownBy(() -> new Guidance(-1f, null)).isInstanceOf(ArgonException.class).hasMessageContaining("--cfg-scale");
        assertThatThrownBy(() -> new Guidance(Float.NaN, null)).isInstanceOf(ArgonException.class);
    }

    @Test
    void theSchedulerRunsGuidedRequestsAsPairedRowsWithTheSameOutput() throws Exception {
        GenerationRequest guided = request("Once upon a time", 30, new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 17))
                .withGuidance(new Guidance(2f, PromptText.plain("The little dog was very sad and he cried all day")));
        GenerationRequest shortNegative = request("Lily went to the park with her mom and", 20, SamplingParams.greedy())
                .withGuidance(new Guidance(1.5f, PromptText.plain("")));
        GenerationRequest plain = request("Tim wanted to", 25, SamplingParams.greedy());
        Generator g = new Generator(model);
        GenerationResult[] solo = {g.generate(guided, CTX, s -> { }), g.generate(shortNegative, CTX, s -> { }), g.generate(plain, CTX, s -> { })};
        GenerationRequest[] reqs = {guided, shortNegative, plain};
        BatchScheduler.Options contiguous = new BatchScheduler.Options(4, CTX, dev.argon.kv.KvCache.Precision.F32, 8, 4, true);
        for (BatchScheduler.Options o : List.of(contiguous, contiguous.paged(8, 0))) { // per-slot caches, then the paged pool
        try (BatchScheduler s = new BatchScheduler(model, o)) {
            List<BatchScheduler.Handle> handles = new ArrayList<>();
            for (GenerationRequest r : reqs) {
                handles.add(s.submit(r, g.tokenizePrompt(r, CTX), () -> false));
            }
            for (int i = 0; i < reqs.length; i++) {
                GenerationResult r = handles.get(i).await(text -> { });
                assertThat(r.generatedTokens()).as("request %d", i).containsExactly(solo[i].generatedTokens());
                assertThat(r.text()).isEqualTo(solo[i].text());
            }
            assertThat(s.stats().active()).isZero();
        }
        }
        try (BatchScheduler one = new BatchScheduler(model, new BatchScheduler.Options(1, CTX, dev.argon.kv.KvCache.Precision.F32, 8, 4, true))) {
            assertThatThrownBy(() -> one.submit(guided, g.tokenizePrompt(guided, CTX), () -> false))
                    .isInstanceOf(ArgonException.class).hasMessageContaining("at least 2 slots");
        }
    }
}
