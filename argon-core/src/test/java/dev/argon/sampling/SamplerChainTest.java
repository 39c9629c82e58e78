package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerChainTest {
    private static int[] draws(long seed, float[] logits, int n) {
        var params = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed);
        SamplerChain chain = SamplerChain.create(params, logits.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = chain.sample(logits);
        }
        return out;
    }

    @Test
    void sameSeedSameSequenceDifferentSeedDifferentSequence() {
        float[] flat = new float[1000];
        int[] a = draws(42, flat, 200);
        assertThat(draws(42, flat, 200)).containsExactly(a);
        assertThat(draws(43, flat, 200)).isNotEqualTo(a);
        assertThat(Arrays.stream(a).distinct().count()).isGreaterThan(150); // it is actually random
    }

    @Test
    void randomSeedIsPickedAndReported() {
        var params = SamplingParams.defaults();
        SamplerChain c1 = SamplerChain.create(params, 10);
        SamplerChain c2 = SamplerChain.create(params, 10);
        assertThat(c1.seed()).isNotEqualTo(SamplingParams.RANDOM_SEED).isNotEqualTo(c2.seed());
        var replay = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, c1.seed());
        assertThat(SamplerChain.create(replay, 10).seed()).isEqualTo(c1.seed());
    }

    @Test
    void sampleDoesNotModifyTheCallersLogits() {
        var params = new SamplingParams(0.7f, 3, 0.9f, 0.05f, 1.3f, 8, 3);
        SamplerChain chain = SamplerChain.create(params, 6);
        for (int t : new int[] {0, 1, 2, 3}) {
            chain.accept(t);
        }
        float[] logits = {2f, -1f, 0.5f, 3f, 1f, -4f};
        float[] copy = logits.clone();
        for (int i = 0; i < 50; i++) {
            chain.sample(logits);
        }
        assertThat(logits).containsExactly(copy);
        SamplerChain.create(SamplingParams.greedy(), 6).sample(logits);
        assertThat(logits).containsExactly(copy);
    }

    @Test
    void defaultChainOnlyDrawsFromTheFilteredSet() {
        // probabilities 0.5, 0.3, 0.15, 0.04, 0.01: top-k 3 keeps {0,1,2}; top-p 0.7 over their
        // renormalised mass (0.526, 0.316, 0.158) keeps {0,1}; min-p 0.05 keeps both.
        var params = new SamplingParams(0.8f, 3, 0.7f, 0.05f, 1f, 64, 9);
        SamplerChain chain = SamplerChain.create(params, 5);
        float[] logits = Ids.logitsOf(0.5, 0.3, 0.15, 0.04, 0.01);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            seen.add(chain.sample(logits));
        }
        assertThat(seen).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void rejectsWrongLengthsAndTokens() {
        SamplerChain chain = SamplerChain.create(SamplingParams.defaults(), 4);
        assertThatThrownBy(() -> chain.sample(new float[5])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> chain.accept(4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> chain.accept(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void seedsStayReproducibleWithBiasAndPenalties() {
        var params = new SamplingParams(1.2f, 0, 1f, 0f, 1.1f, 16, 77)
                .withPenalties(0.4f, 0.3f)
                .withLogitBias(Map.of(3, 1.5f, 8, -100f));
        float[] logits = new float[50];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (i % 7) * 0.3f;
        }
        int[] a = run(params, logits);
        assertThat(run(params, logits)).containsExactly(a);
        assertThat(run(params.withPenalties(0f, 0f), logits)).isNotEqualTo(a);
        assertThat(a).doesNotContain(8);
    }

    /** 300 draws, each accepted into the penalty window. */
    private static int[] run(SamplingParams params, float[] logits) {
        SamplerChain chain = SamplerChain.create(params, logits.length);
        int[] out = new int[300];
        for (int i = 0; i < out.length; i++) {
            out[i] = chain.sample(logits);
            chain.accept(out[i]);
        }
        return out;
    }
}
