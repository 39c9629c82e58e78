package dev.argon.watermark;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplerChain;
import dev.argon.sampling.SamplerStep;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * SynthID-style tournament watermark: the step's distribution equals an explicit tournament over
 * 2^m drawn candidates, watermarked stories260K texts score z &ge; 4 and unmarked ones do not, and
 * the null distribution of the mean g-value score holds its nominal false-positive rate.
 */
class TournamentWatermarkTest {
    static LanguageModel model;

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

    @Test
    void theStepSamplesExactlyAnExplicitTournamentOverDrawnCandidates() {
        float[] logits = {1.0f, 0.2f, -0.5f, 0.8f, 0.0f, -1.5f};
        int v = logits.length;
        TournamentScheme scheme = new TournamentScheme(WatermarkScheme.keyOf("k"), 3, 1);
        int context = 4;
        long seed = scheme.contextSeed(new int[] {context}, 1);
        double[] p = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp(logits[i]);
            sum += p[i];
        }
        // the explicit tournament: 2^3 independent draws from p, pairs meet layer by layer, higher g wins, ties at random
        SplittableRandom rnd = new SplittableRandom(1);
        int trials = 100_000;
        double[] tournament = new double[v];
        int[] cand = new int[8];
        for (int t = 0; t < trials; t++) {
            for (int j = 0; j < 8; j++) {
                double u = rnd.nextDouble() * sum;
                int k = 0;
                while (k < v - 1 && (u -= p[k]) >= 0) {
                    k++;
                }
                cand[j] = k;
            }
            int alive = 8;
            for (int l = 0; l < 3; l++) {
                for (int j = 0; j < alive / 2; j++) {
                    int a = cand[2 * j];
                    int b = cand[2 * j + 1];
                    long ga = scheme.gValues(seed, a) >>> l & 1;
                    long gb = scheme.gValues(seed, b) >>> l & 1;
                    cand[j] = ga > gb ? a : gb > ga ? b : rnd.nextBoolean() ? a : b;
                }
                alive /= 2;
            }
            tournament[cand[0]]++;
        }
        SamplerChain chain = SamplerChain.of(v, 7, List.of(new TournamentWatermark(scheme), SamplerStep.distribution(7, v)));
        chain.accept(context);
        double[] step = new double[v];
        for (int t = 0; t < trials; t++) {
            step[chain.sample(logits)]++;
        }
        double moved = 0;
        for (int i = 0; i < v; i++) {
            // each frequency has sd <= 0.0016 over 100,000 trials; the difference of two, <= 0.0023: 5 sd
            assertThat(step[i] / trials).as("token %d", i).isCloseTo(tournament[i] / trials, org.assertj.core.data.Offset.offset(0.012));
            moved = Math.max(moved, Math.abs(step[i] / trials - p[i] / sum));
        }
        assertThat(moved).as("the tournament moves probability away from softmax(logits)").isGreaterThan(0.05);
    }

    private static int[] generate(long seed, SamplerStep step, int n) {
        SamplingParams p = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed);
        GenerationRequest req = GenerationRequest.of("Once upon a time", n, p);
        if (step != null) {
            req = req.withSteps(List.of(step));
        }
        GenerationResult r = new Generator(model).generate(req, 512, s -> { });
        return model.tokenizer().encode(r.text(), false, false);
    }

    @Test
    void watermarkedTextScoresHighAndUnmarkedTextDoesNot() {
        TournamentScheme key = TournamentScheme.of("synthid key");
        TournamentDetector d = new TournamentDetector(key);
        for (int seed = 0; seed < 4; seed++) {
            TournamentDetector.Score m = d.detect(generate(seed, new TournamentWatermark(key), 200));
            assertThat(m.z()).as("seed %d with the key: %s", seed, m).isGreaterThanOrEqualTo(4);
            assertThat(m.meanG()).isGreaterThan(0.5);
            assertThat(d.detect(generate(seed, new TournamentWatermark(TournamentScheme.of("another")), 200)).z())
                    .as("seed %d, another key", seed).isLessThan(4);
            assertThat(d.detect(generate(seed, null, 200)).z()).as("seed %d, plain", seed).isLessThan(4);
        }
        // without a key the output is unchanged: the step is only there when asked for
        assertThat(generate(3, null, 40)).containsExactly(generate(3, null, 40));
    }

    @Test
    void theMeanScoreOfUnmarkedTextHoldsTheNominalFalsePositiveRate() {
        // random 200-token texts (independent of any key) against 2,000 keys
        SplittableRandom rnd = new SplittableRandom(3);
        int over4 = 0;
        int over1645 = 0;
        int tests = 2000;
        for (int k = 0; k < tests; k++) {
            int[] text = new int[200];
            for (int i = 0; i < text.length; i++) {
                text[i] = rnd.nextInt(32000);
            }
            TournamentDetector.Score s = new TournamentDetector(TournamentScheme.of("key " + k)).detect(text);
            assertThat(s.scored()).isEqualTo(196);
            over4 += s.z() > 4 ? 1 : 0;
            over1645 += s.z() > 1.645 ? 1 : 0;
        }
        assertThat(over4).as("z > 4 of %d (nominal 0.003%%)", tests).isLessThanOrEqualTo(tests / 100);
        // nominal 5%: 100 expected, sd 9.7; the bound is 3 sd either way
        assertThat(over1645).as("z > 1.645 of %d (nominal 5%%)", tests).isBetween(71, 129);
    }

    @Test
    void badParametersAndLifecycle() {
        assertThatThrownBy(() -> new TournamentScheme(1, 0, 4)).isInstanceOf(ArgonException.class).hasMessageContaining("layers");
        assertThatThrownBy(() -> new TournamentScheme(1, 30, 9)).isInstanceOf(ArgonException.class).hasMessageContaining("context");
        TournamentScheme s = new TournamentScheme(5, 64, 1);
        assertThat(Long.bitCount(s.gValues(s.contextSeed(new int[] {1}, 1), 2))).isBetween(1, 63);
        TournamentWatermark w = new TournamentWatermark(TournamentScheme.of("k"));
        for (int t : new int[] {1, 2, 3, 4}) {
            w.accept(t);
        }
        SamplerChain a = SamplerChain.of(6, 1, List.of(w, SamplerStep.distribution(1, 6)));
        SamplerChain b = a.copy();
        float[] logits = {0.1f, 0.5f, 0.2f, 0.9f, 0f, 0.3f};
        for (int i = 0; i < 20; i++) {
            int x = a.sample(logits);
            assertThat(b.sample(logits)).isEqualTo(x);
            a.accept(x);
            b.accept(x);
        }
        assertThat(w.name()).isEqualTo("synthid");
    }
}
