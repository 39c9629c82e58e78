package dev.argon.watermark;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class WatermarkTest {
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
    void normalUpperTailMatchesTabulatedValues() {
        assertThat(WatermarkDetector.upperTail(0)).isCloseTo(0.5, within(1e-15));
        assertThat(WatermarkDetector.upperTail(1)).isCloseTo(0.15865525393145707, within(1e-13));
        assertThat(WatermarkDetector.upperTail(-1)).isCloseTo(0.8413447460685429, within(1e-13));
        assertThat(WatermarkDetector.upperTail(2.5)).isCloseTo(0.006209665325776132, within(1e-14));
        // tails: relative accuracy (values from the exact erfc)
        assertThat(WatermarkDetector.upperTail(4) / 3.1671241833119863e-05).isCloseTo(1, within(1e-9));
        assertThat(WatermarkDetector.upperTail(6) / 9.865876450376946e-10).isCloseTo(1, within(1e-9));
        assertThat(WatermarkDetector.upperTail(10) / 7.619853024160525e-24).isCloseTo(1, within(1e-9));
    }

    @Test
    void eachContextMakesAboutGammaOfTheVocabularyGreen() {
        WatermarkScheme s = new WatermarkScheme(WatermarkScheme.keyOf("k"), 0.25, 2, 1);
        WatermarkScheme other = new WatermarkScheme(WatermarkScheme.keyOf("other"), 0.25, 2, 1);
        int vocab = 32000;
        for (int prev = 0; prev < 20; prev++) {
            long seed = s.contextSeed(new int[] {prev}, 1);
            long seed2 = other.contextSeed(new int[] {prev}, 1);
            int green = 0;
            int both = 0;
            for (int t = 0; t < vocab; t++) {
                boolean g = s.green(seed, t);
                green += g ? 1 : 0;
                both += g && other.green(seed2, t) ? 1 : 0;
            }
            // binomial(32000, 0.25): sd 77.5; 5 sd
            assertThat(green).isBetween(8000 - 390, 8000 + 390);
            // another key's list is independent: overlap ~ gamma^2 (sd ~ 42)
            assertThat(both).isBetween(2000 - 220, 2000 + 220);
        }
        assertThat(new WatermarkScheme(1, 0.75, 2, 1).green(5, 7) || true).isTrue();
        int g75 = 0;
        WatermarkScheme s75 = new WatermarkScheme(1, 0.75, 2, 1);
        for (int t = 0; t < vocab; t++) {
            g75 += s75.green(s75.contextSeed(new int[] {3}, 1), t) ? 1 : 0;
        }
        assertThat(g75).isBetween(24000 - 390, 24000 + 390);
    }

    @Test
    void badParametersAreNamed() {
        assertThatThrownBy(() -> new WatermarkScheme(1, 1.0, 2, 1)).isInstanceOf(ArgonException.class).hasMessageContaining("gamma");
        assertThatThrownBy(() -> new WatermarkScheme(1, 0.25, 0, 1)).isInstanceOf(ArgonException.class).hasMessageContaining("delta");
        assertThatThrownBy(() -> new WatermarkScheme(1, 0.25, 2, 0)).isInstanceOf(ArgonException.class).hasMessageContaining("context");
        assertThatThrownBy(() -> WatermarkScheme.keyOf("")).isInstanceOf(ArgonException.class).hasMessageContaining("key");
    }

    private static int[] generate(long seed, WatermarkScheme scheme, int n) {
        SamplingParams p = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed);
        GenerationRequest req = GenerationRequest.of("Once upon a time", n, p);
        if (scheme != null) {
            req = req.withSteps(List.of(new Watermark(scheme)));
        }
        GenerationResult r = new Generator(model).generate(req, 512, s -> { });
        return model.tokenizer().encode(r.text(), false, false);
    }

    /** Fixed seeds 0..7 at temperature 1, 200 tokens each: with the key, with another key, and plain. */
    @Test
    void watermarkedTextScoresHighAndPlainTextDoesNot() {
        WatermarkScheme key = WatermarkScheme.of("secret");
        WatermarkDetector d = new WatermarkDetector(key);
        double sum = 0;
        int[][] unmarked = new int[16][];
        for (int seed = 0; seed < 8; seed++) {
            int[] marked = generate(seed, key, 200);
            int[] otherKey = generate(seed, WatermarkScheme.of("another"), 200);
            int[] plain = generate(seed, null, 200);
            WatermarkDetector.Score m = d.detect(marked);
            assertThat(m.scored()).isGreaterThan(140);
            assertThat(m.z()).as("seed %d with the key", seed).isGreaterThanOrEqualTo(4);
            assertThat(m.pValue()).isLessThan(3.2e-5);
            assertThat(d.detect(otherKey).z()).as("seed %d, another key", seed).isLessThan(4);
            assertThat(d.detect(plain).z()).as("seed %d, plain", seed).isLessThan(4);
            sum += m.z();
            unmarked[2 * seed] = plain;
            unmarked[2 * seed + 1] = otherKey;
        }
        assertThat(sum / 8).isGreaterThan(5.5);
        // false positives: the 16 unmarked texts against 75 keys each = 1200 tests of the null hypothesis
        int over4 = 0;
        int over1645 = 0;
        for (int k = 0; k < 75; k++) {
            WatermarkDetector dk = new WatermarkDetector(WatermarkScheme.of("key " + k));
            for (int[] t : unmarked) {
                double z = dk.detect(t).z();
                over4 += z > 4 ? 1 : 0;
                over1645 += z > 1.645 ? 1 : 0;
            }
        }
        assertThat(over4).as("z > 4 (nominal 3e-5)").isLessThanOrEqualTo(12); // <= 1%
        // nominal 5%: 60 of 1200 expected, sd 7.5; the bound is 3 sd above
        assertThat(over1645).as("z > 1.645 (nominal 5%%)").isLessThanOrEqualTo(83);
    }

    @Test
    void windowsFindTheWatermarkedPartOfAMixedText() {
        WatermarkScheme key = WatermarkScheme.of("secret");
        int[] plain = generate(100, null, 150);
        int[] marked = generate(101, key, 150);
        int[] mixed = new int[plain.length + marked.length];
        System.arraycopy(plain, 0, mixed, 0, plain.length);
        System.arraycopy(marked, 0, mixed, plain.length, marked.length);
        List<WatermarkDetector.Score> w = new WatermarkDetector(key).windows(mixed, 100);
        assertThat(w.getFirst().start()).isZero();
        assertThat(w.getFirst().z()).isLessThan(4);
        assertThat(w.getLast().start() + 100).isEqualTo(mixed.length);
        assertThat(w.getLast().z()).isGreaterThan(3);
    }

    @Test
    void theStepFollowsTheChainLifecycle() {
        WatermarkScheme key = new WatermarkScheme(9, 0.5, 3, 2);
        var chain = dev.argon.sampling.SamplerChain.create(new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 4), 64, List.of(new Watermark(key)));
        float[] flat = new float[64];
        chain.accept(1);
        // one token accepted, context width 2: nothing is green yet, then a copy and the original agree
        int[] a = new int[40];
        chain.accept(2);
        var copy = chain.copy();
        int[] b = new int[40];
        for (int i = 0; i < 40; i++) {
            a[i] = chain.sample(flat);
            chain.accept(a[i]);
            b[i] = copy.sample(flat);
            copy.accept(b[i]);
        }
        assertThat(b).containsExactly(a);
        int[] withContext = new int[42];
        withContext[0] = 1;
        withContext[1] = 2;
        System.arraycopy(a, 0, withContext, 2, 40);
        // on flat logits with delta 3 and gamma 0.5, green tokens are drawn with probability e^3/(1+e^3) = 0.95
        assertThat(new WatermarkDetector(key).detect(withContext).greenFraction()).isGreaterThan(0.8);
    }
}
