package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufWriter;
import dev.argon.kv.KvCache;
import dev.argon.synth.ModelShape;
import dev.argon.synth.ModelSynthesizer;
import dev.argon.synth.SynthArch;
import dev.argon.synth.SynthOptions;
import dev.argon.synth.SynthType;
import dev.argon.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The building blocks of {@link DecoderModel} and the registry, checked by hand. */
class BuildingBlocksTest {
    @TempDir
    Path tmp;

    @Test
    void unknownArchitectureNamesEverySupportedOne() {
        Path p = tmp.resolve("mamba.gguf");
        new GgufWriter().putString("general.architecture", "mamba")
                .addTensor("token_embd.weight", GgmlType.F32, new long[]{4, 4}, MemorySegment.ofArray(new float[16])).write(p);
        assertThat(Models.supportedArchitectures()).isEqualTo("bert, gemma2, gemma3, gpt2, llama, phi3, qwen2, qwen3");
        assertThatThrownBy(() -> Models.load(p, 1)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("architecture 'mamba' is not supported (supported: bert, gemma2, gemma3, gpt2, llama, phi3, qwen2, qwen3)");
    }

    @Test
    void ropeLayouts() {
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8};
        float[] normal = x.clone();
        float[] neox = x.clone();
        new Rope(RopeConfig.plain(RopeConfig.Style.NORMAL, 8, 10000f), 4).apply(normal, 0, 1, 8, 3);
        new Rope(RopeConfig.plain(RopeConfig.Style.NEOX, 8, 10000f), 4).apply(neox, 0, 1, 8, 3);
        for (int i = 0; i < 4; i++) {
            double angle = 3 * Math.pow(10000, -2.0 * i / 8);
            double c = Math.cos(angle);
            double s = Math.sin(angle);
            // NORMAL rotates (2i, 2i+1), NEOX rotates (i, i+4)
            assertThat((double) normal[2 * i]).isCloseTo(x[2 * i] * c - x[2 * i + 1] * s, within(1e-5));
            assertThat((double) normal[2 * i + 1]).isCloseTo(x[2 * i] * s + x[2 * i + 1] * c, within(1e-5));
            assertThat((double) neox[i]).isCloseTo(x[i] * c - x[i + 4] * s, within(1e-5));
            assertThat((double) neox[i + 4]).isCloseTo(x[i] * s + x[i + 4] * c, within(1e-5));
        }
        // the legacy constructor is the NORMAL layout
        float[] legacy = x.clone();
        new Rope(8, 10000f, 4).apply(legacy, 0, 1, 8, 3);
        assertThat(legacy).containsExactly(normal);
    }

    @Test
    void ropeScalingAndFrequencyFactors() {
        double[] a = new double[2];
        double[] b = new double[2];
        RopeConfig plain = RopeConfig.plain(RopeConfig.Style.NEOX, 8, 10000f);
        RopeConfig linear = new RopeConfig(RopeConfig.Style.NEOX, 8, 10000f, 0.25f, 1f, null, null, null, 64);
        linear.angle(12, 1, 64, a);
        plain.angle(3, 1, 64, b);
        assertThat(a).containsExactly(b); // position interpolation: 12 / 4 = 3
        RopeConfig factors = new RopeConfig(RopeConfig.Style.NORMAL, 8, 10000f, 1f, 1f, null, new float[]{1, 2, 4, 8}, null, 64);
        factors.angle(8, 2, 64, a);
        plain.angle(2, 2, 64, b);
        assertThat(a[0]).isCloseTo(b[0], within(1e-12)); // angle of pair 2 divided by 4
        // YaRN: pair 0 (high frequency) extrapolates, the lowest pair interpolates; both scaled by 1 + 0.1 ln 4
        RopeConfig yarn = new RopeConfig(RopeConfig.Style.NEOX, 64, 10000f, 0.25f, 1f, new RopeConfig.Yarn(1f, 32f, 1f), null, null, 64);
        double m = 1 + 0.1 * Math.log(4);
        yarn.angle(5, 0, 256, a);
        assertThat(a[0]).isCloseTo(Math.cos(5) * m, within(1e-12));
        yarn.angle(5, 31, 256, a);
        assertThat(a[0]).isCloseTo(Math.cos(5 * Math.pow(10000, -62.0 / 64) / 4) * m, within(1e-12));
    }

    @Test
    void layerNormMatchesTheDefinition() {
        float[] x = {1, -2, 3, 0.5f, 7, -1};
        float[] w = {1, 2, 0.5f, 1, 1, 3};
        float[] b = {0, 1, 0, -1, 0, 0.25f};
        float[] out = new float[6];
        new Norm.Layer(w, b, 1e-5f).apply(out, 0, x, 0);
        double mean = Arrays.stream(new double[]{1, -2, 3, 0.5, 7, -1}).average().orElseThrow();
        double var = 0;
        for (float v : x) {
            var += (v - mean) * (v - mean) / 6;
        }
        for (int i = 0; i < 6; i++) {
            assertThat((double) out[i]).isCloseTo((x[i] - mean) / Math.sqrt(var + 1e-5) * w[i] + b[i], within(1e-5));
        }
        new Norm.Layer(w, b, 1e-5f).apply(x, 0, x, 0); // in place
        assertThat(x).containsExactly(out);
    }

    @Test
    void geluFollowsGgmlsF16Table() {
        for (float x : new float[]{-12f, -3.3f, -0.7f, 0f, 0.001f, 0.5f, 1.234567f, 4f, 9.99f, 11f}) {
            float exact = Activation.GELU_TANH.apply(x, false);
            assertThat((double) exact).isCloseTo(0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))), within(1e-6));
            float table = Activation.GELU_TANH.apply(x, true);
            float expected = x <= -10 ? 0f : x >= 10 ? x
                    : Float.float16ToFloat(Float.floatToFloat16(Activation.gelu(Float.float16ToFloat(Float.floatToFloat16(x)))));
            assertThat(table).as("gelu(%s)", x).isEqualTo(expected);
        }
        assertThat(Activation.SILU.apply(2f, true)).isEqualTo(2f / (1f + (float) Math.exp(-2f)));
    }

    /** One layer, window 4: the last position sees positions p-3..p only, so a token at p-4 cannot change its logits. */
    @Test
    void slidingWindowHidesOlderPositions() {
        ModelShape shape = new ModelShape("w", 1, 64, 128, 4, 2, 300, 64, 10000f, 1e-5f, false);
        float[][] logits = new float[2][];
        for (int window : new int[]{0, 4}) {
            SynthOptions o = SynthOptions.of(SynthArch.MISTRAL).withStd(0.08f, 0.3f, 0f).withSlidingWindow(window);
            Path p = tmp.resolve("w" + window + ".gguf");
            new ModelSynthesizer(shape, SynthType.F32, o).write(p, 3, 1, null);
            try (LanguageModel m = Models.load(p, 1)) {
                int[] base = {1, 50, 60, 70, 80, 90, 100, 110};
                float[] ref = last(m, base);
                int[] far = base.clone();
                far[3] = 200; // position 3 = 7 - 4: outside a window of 4
                int[] near = base.clone();
                near[4] = 200; // position 4 = 7 - 3: inside
                float[] farLogits = last(m, far);
                if (window == 4) {
                    assertThat(farLogits).containsExactly(ref);
                } else {
                    assertThat(farLogits).isNotEqualTo(ref);
                }
                assertThat(last(m, near)).isNotEqualTo(ref);
                logits[window == 0 ? 0 : 1] = ref;
            }
        }
        assertThat(logits[0]).isNotEqualTo(logits[1]);
    }

    private static float[] last(LanguageModel m, int[] tokens) {
        InferenceState s = m.newState(16, KvCache.Precision.F32);
        return m.prefill(s, tokens, 0).clone();
    }

    /** Prefill in one batch and token-by-token decoding give the same logits, for every architecture. */
    @Test
    void batchedPrefillEqualsStepwiseDecoding() {
        ModelShape shape = new ModelShape("p", 2, 64, 128, 4, 2, 300, 96, 10000f, 1e-5f, false, 32);
        for (SynthArch arch : SynthArch.values()) {
            if (arch.encoder()) {
                continue; // no next-token logits (BertModelTest)
            }
            ModelShape s = arch == SynthArch.QWEN3 || arch == SynthArch.GEMMA2 || arch == SynthArch.GEMMA3 ? shape
                    : new ModelShape("p", 2, 64, 128, 4, arch == SynthArch.GPT2 ? 4 : 2, 300, 96, 10000f, 1e-5f, false);
            SynthOptions o = SynthOptions.of(arch).withStd(0.08f, 0.3f, 0.1f).withSlidingWindow(arch.hasSlidingWindow() ? 3 : -1);
            Path p = tmp.resolve(arch.cliName() + ".gguf");
            new ModelSynthesizer(s, SynthType.F32, o).write(p, 5, 1, null);
            try (LanguageModel m = Models.load(p, 2)) {
                int[] tokens = {1, 20, 30, 40, 50, 60, 70};
                float[] batched = last(m, tokens);
                InferenceState st = m.newState(16, KvCache.Precision.F32);
                float[] stepwise = null;
                for (int i = 0; i < tokens.length; i++) {
                    stepwise = m.forward(st, tokens[i], i, true);
                }
                for (int i = 0; i < batched.length; i++) {
                    assertThat((double) stepwise[i]).as("%s logit %d", arch, i).isCloseTo(batched[i], within(1e-4));
                }
            }
        }
    }
}
