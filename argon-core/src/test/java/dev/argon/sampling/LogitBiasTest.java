package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LogitBiasTest {
    private static final float[] LOGITS = {1f, 2f, 3f, 0f};

    private static float[] filtered(SamplingParams p, float[] logits, int... history) {
        SamplerChain chain = SamplerChain.create(p, logits.length);
        for (int t : history) {
            chain.accept(t);
        }
        return Arrays.copyOf(chain.filter(logits).logits, logits.length);
    }

    @Test
    void addsTheBiasToEachListedToken() {
        Candidates c = Candidates.of(LOGITS);
        new LogitBias(Map.of(3, 0.5f, 0, -1.25f)).apply(c);
        assertThat(c.logits).containsExactly(-0.25f, 2f, 3f, 0.5f);
        assertThat(c.sorted).isFalse();
    }

    @Test
    void biasChangesTheArgmax() {
        var p = SamplingParams.greedy();
        assertThat(SamplerChain.create(p, 4).sample(LOGITS)).isEqualTo(2);
        // 1 + 2.5 = 3.5 > 3
        assertThat(SamplerChain.create(p.withLogitBias(Map.of(0, 2.5f)), 4).sample(LOGITS)).isEqualTo(0);
        // 0 + 3 = 3 ties with token 2: the lower id wins
        assertThat(SamplerChain.create(p.withLogitBias(Map.of(3, 3f)), 4).sample(LOGITS)).isEqualTo(2);
        // 0 + 3.5 = 3.5
        assertThat(SamplerChain.create(p.withLogitBias(Map.of(3, 3.5f)), 4).sample(LOGITS)).isEqualTo(3);
    }

    @Test
    void minusOneHundredBans() {
        // Greedy: 50 - 100 = -50 falls below every other token.
        var greedy = SamplingParams.greedy().withLogitBias(Map.of(1, -100f));
        assertThat(SamplerChain.create(greedy, 3).sample(new float[] {0f, 50f, -10f})).isEqualTo(0);
        // Sampling with no filters: the banned token has probability about e^-100 and never comes.
        var sampled = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 7).withLogitBias(Map.of(1, -100f));
        SamplerChain chain = SamplerChain.create(sampled, 4);
        float[] flat = new float[4];
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 5000; i++) {
            seen.add(chain.sample(flat));
        }
        assertThat(seen).containsExactlyInAnyOrder(0, 2, 3);
    }

    @Test
    void plusOneHundredForces() {
        var p = SamplingParams.defaults().withLogitBias(Map.of(3, 100f));
        SamplerChain chain = SamplerChain.create(p, 4);
        for (int i = 0; i < 2000; i++) {
            assertThat(chain.sample(new float[] {5f, 8f, 6f, -10f})).isEqualTo(3);
        }
    }

    @Test
    void biasComesBeforeThePenalties() {
        // Token 0: (1 + 3) / 2 - (0.25 + 0.5) = 1.25, not 1 / 2 + 3 - 0.75 = 2.75.
        var p = new SamplingParams(0f, 0, 1f, 0f, 2f, 64, 0)
                .withPenalties(0.5f, 0.25f)
                .withLogitBias(Map.of(0, 3f, 3, -0.5f));
        assertThat(filtered(p, LOGITS, 0, 3)).containsExactly(1.25f, 2f, 3f, -1.75f); // 3: -0.5 * 2 - 0.75
    }

    @Test
    void emptyBiasAddsNoStep() {
        assertThat(filtered(SamplingParams.greedy().withLogitBias(Map.of()), LOGITS)).containsExactly(LOGITS);
    }
}
