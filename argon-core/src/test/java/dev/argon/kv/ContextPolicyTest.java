package dev.argon.kv;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.generate.BatchScheduler;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.argon.synth.ModelShape;
import dev.argon.synth.ModelSynthesizer;
import dev.argon.synth.SynthOptions;
import dev.argon.synth.SynthType;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Context shift and attention sinks + window. In a one-layer model a cached key or value depends
 * only on its token and position, so after evictions the logits must equal those of a fresh cache
 * that holds only the kept tokens at consecutive positions (llama.cpp's shifted positions,
 * StreamingLLM's in-cache positions): RoPE scores depend on relative positions only. Differences
 * come from float rounding of rotations at other absolute positions. (In deeper models the kept
 * tokens' cached states also saw the evicted ones, so no rebuilt cache equals them.)
 */
class ContextPolicyTest {
    @TempDir
    static Path tmp;
    static LanguageModel model;
    static LanguageModel oneLayer;
    static int[] text;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
        ModelShape shape = new ModelShape("one-layer", 1, 64, 128, 4, 2, 512, 512, 10000f, 1e-5f, false);
        Path file = tmp.resolve("one-layer.gguf");
        new ModelSynthesizer(shape, SynthType.F32, SynthOptions.defaults().withStd(0.3f, 0.3f, 0.1f)).write(file, 7, 2, null);
        oneLayer = Models.load(file, 2);
        text = new int[48];
        java.util.Random r = new java.util.Random(11);
        for (int i = 0; i < text.length; i++) {
            text[i] = 3 + r.nextInt(500);
        }
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
        if (oneLayer != null) {
            oneLayer.close();
        }
    }

    /** Feeds {@code text} one token at a time and compares with rebuilt caches after every eviction. */
    private static double maxDifference(ContextPolicy policy, int ctx, KvCache.Precision type) {
        LanguageModel model = oneLayer;
        InferenceState s = model.newState(ctx, type, type, policy);
        List<Integer> kept = new ArrayList<>();
        double worst = 0;
        int compared = 0;
        for (int pos = 0; pos < text.length; pos++) {
            if (kept.size() == policy.limit(ctx)) {
                int d = policy.discard(kept.size());
                kept.subList(policy.keep(), policy.keep() + d).clear();
            }
            kept.add(text[pos]);
            float[] logits = model.forward(s, text[pos], pos, true).clone();
            if (s.evicted() == 0) {
                continue;
            }
            assertThat(s.evicted()).isEqualTo(pos + 1 - kept.size());
            InferenceState fresh = model.newState(ctx, type);
            float[] ref = null;
            for (int i = 0; i < kept.size(); i++) {
                ref = model.forward(fresh, kept.get(i), i, true);
            }
            worst = Math.max(worst, difference(logits, ref));
            if (compared == 0) {
                // the comparison resolves order: two kept tokens swapped give other logits
                InferenceState swapped = model.newState(ctx, type);
                List<Integer> order = new ArrayList<>(kept);
                java.util.Collections.swap(order, order.size() - 3, order.size() - 2);
                float[] other = null;
                for (int i = 0; i < order.size(); i++) {
                    other = model.forward(swapped, order.get(i), i, true);
                }
                assertThat(difference(logits, other)).isGreaterThan(1e-3);
            }
            compared++;
        }
        assertThat(compared).isGreaterThan(10);
        return worst;
    }

    private static double difference(float[] a, float[] b) {
        double d = 0;
        for (int v = 0; v < a.length; v++) {
            d = Math.max(d, Math.abs(a[v] - b[v]));
        }
        return d;
    }

    @Test
    void sinksAndWindowEqualARebuiltCache() {
        assertThat(maxDifference(ContextPolicy.streaming(4, 12), 16, KvCache.Precision.F32)).isLessThan(5e-5);
        assertThat(maxDifference(ContextPolicy.streaming(0, 16), 16, KvCache.Precision.F32)).isLessThan(5e-5);
    }

    @Test
    void contextShiftEqualsARebuiltCache() {
        assertThat(maxDifference(ContextPolicy.shift(3), 16, KvCache.Precision.F32)).isLessThan(5e-5);
    }

    @Test
    void quantizedAndRotatedCachesShiftWithoutDrift() {
        // The sinks are re-rotated from an exact copy at each eviction and the other rows are moved
        // as stored bytes, so a quantized cache's error against the exact rebuilt cache stays at the
        // size of its error without evictions (measured on the same tokens), instead of growing.
        for (KvCache.Precision type : new KvCache.Precision[]{KvCache.Precision.Q8_0, KvCache.Precision.Q4_1H}) {
            double[] shifted = errors(ContextPolicy.streaming(4, 12), 16, type);
            double[] plain = errors(ContextPolicy.NONE, 64, type);
            double late = 0;
            for (int i = shifted.length - 10; i < shifted.length; i++) {
                late = Math.max(late, shifted[i]);
            }
            assertThat(late).as(type + ": error after %d evictions vs without", shifted.length).isLessThan(3 * max(plain) + 0.05);
        }
    }

    /** Per position from 16 on: max logit difference of a {@code type} cache against the exact F32 rebuilt cache. */
    private static double[] errors(ContextPolicy policy, int ctx, KvCache.Precision type) {
        LanguageModel model = oneLayer;
        InferenceState s = model.newState(ctx, type, type, policy);
        List<Integer> kept = new ArrayList<>();
        double[] out = new double[text.length - 16];
        for (int pos = 0; pos < text.length; pos++) {
            if (kept.size() == policy.limit(ctx) && policy.unbounded()) {
                kept.subList(policy.keep(), policy.keep() + policy.discard(kept.size())).clear();
            }
            kept.add(text[pos]);
            float[] logits = model.forward(s, text[pos], pos, true).clone();
            if (pos < 16) {
                continue;
            }
            InferenceState fresh = model.newState(ctx, KvCache.Precision.F32);
            float[] ref = null;
            for (int i = 0; i < kept.size(); i++) {
                ref = model.forward(fresh, kept.get(i), i, true);
            }
            out[pos - 16] = difference(logits, ref);
        }
        return out;
    }

    private static double max(double[] a) {
        return java.util.Arrays.stream(a).max().orElseThrow();
    }

    @Test
    void generationRunsPastTheContextAndTheSchedulerAgrees() throws Exception {
        GenerationRequest req = GenerationRequest.of("Once upon a time", 200, SamplingParams.greedy());
        ContextPolicy policy = ContextPolicy.streaming(4, 28);
        GenerationResult alone = new Generator(model, KvCache.Precision.F16, policy).generate(req, 32, t -> { });
        assertThat(alone.generatedTokens().length).isLessThanOrEqualTo(200);
        if (alone.finishReason() != FinishReason.END_OF_SEQUENCE) {
            assertThat(alone.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(alone.generatedTokens()).hasSize(200);
        }
        assertThat(alone.generatedTokens().length + alone.promptTokens().length).isGreaterThan(32);
        GenerationResult bounded = new Generator(model, KvCache.Precision.F16).generate(req, 32, t -> { });
        assertThat(bounded.finishReason()).isEqualTo(FinishReason.CONTEXT_FULL);
        assertThat(Arrays.copyOf(alone.generatedTokens(), bounded.generatedTokens().length)).containsExactly(bounded.generatedTokens());

        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(2, 32, KvCache.Precision.F16, 4, 16, true, policy))) {
            var handles = new ArrayList<BatchScheduler.Handle>();
            for (int i = 0; i < 3; i++) {
                handles.add(s.submit(req, alone.promptTokens(), () -> false));
            }
            for (var h : handles) {
                GenerationResult r = h.await(t -> { });
                assertThat(r.generatedTokens()).containsExactly(alone.generatedTokens());
                assertThat(r.finishReason()).isEqualTo(alone.finishReason());
            }
        }
    }

    @Test
    void policiesThatDoNotFitAreRefused() {
        assertThatThrownBy(() -> model.newState(16, KvCache.Precision.F32, KvCache.Precision.F32, ContextPolicy.streaming(4, 13)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("do not fit in the context of 16");
        assertThatThrownBy(() -> model.newState(16, KvCache.Precision.F32, KvCache.Precision.F32, ContextPolicy.shift(15)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("--keep");
    }

    @Test
    void heavyHittersEvictTheLeastAttendedRowOutsideTheWindow() {
        KvCache c = new KvCache(1, 8, 2, 2, KvCache.Precision.F32, KvCache.Precision.F32);
        c.trackAttention(2);
        for (int r = 0; r < 6; r++) {
            c.store(0, r, new float[]{r, -r}, 0, new float[]{10 * r, 0}, 0);
        }
        float[] received = {5, 1, 3, 0.5f, 9, 0.1f}; // row 5 is least attended but inside the window
        for (int r = 0; r < 6; r++) {
            c.attentionMass(0)[r] = received[r] / 2;
            c.attentionMass(1)[r] = received[r] / 2;
        }
        assertThat(c.evictLeastAttended(6, 2)).isEqualTo(3);
        float[] k = c.copyKeys(0, 0, 5);
        assertThat(k).containsExactly(0, 0, 1, -1, 2, -2, 4, -4, 5, -5);
        assertThat(c.attentionReceived(3)).isEqualTo(9.0);
        assertThat(c.evictLeastAttended(5, 2)).isEqualTo(1);
        assertThat(c.copyKeys(0, 0, 4)).containsExactly(0, 0, 2, -2, 4, -4, 5, -5);
    }

    @Test
    void heavyHittersSumTheAttentionEveryRowReceivesAndGenerateBeyondTheContext() {
        // before any eviction, every query's softmax adds 1 per head and layer
        InferenceState s = model.newState(32, KvCache.Precision.F32, KvCache.Precision.F32, ContextPolicy.heavyHitters(8, 8));
        for (int pos = 0; pos < 16; pos++) {
            model.forward(s, text[pos], pos, true);
        }
        double total = 0;
        for (int r = 0; r < 16; r++) {
            total += s.kvCache().attentionReceived(r);
        }
        assertThat(total).isCloseTo(16.0 * model.config().nLayers() * model.config().nHeads(), org.assertj.core.data.Offset.offset(1e-3));
        assertThat(s.kvCache().attentionReceived(0)).as("the first token collects attention (a sink)").isGreaterThan(total / 16);

        GenerationRequest req = GenerationRequest.of("Once upon a time", 120, SamplingParams.greedy());
        GenerationResult r = new Generator(model, KvCache.Precision.F16, ContextPolicy.heavyHitters(8, 24)).generate(req, 32, t -> { });
        GenerationResult bounded = new Generator(model, KvCache.Precision.F16).generate(req, 32, t -> { });
        assertThat(r.generatedTokens().length + r.promptTokens().length).isGreaterThan(32);
        assertThat(Arrays.copyOf(r.generatedTokens(), bounded.generatedTokens().length)).containsExactly(bounded.generatedTokens());
    }
}
