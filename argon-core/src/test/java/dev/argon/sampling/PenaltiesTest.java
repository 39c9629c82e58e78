package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** OpenAI presence/frequency penalties, alone and combined with the repetition penalty. */
class PenaltiesTest {
    private static final float[] LOGITS = {4f, -2f, 3f, -1f, 0f, 6f};

    private static float[] apply(Penalties penalties) {
        Candidates c = Candidates.of(LOGITS);
        penalties.apply(c);
        return Arrays.copyOf(c.logits, c.size);
    }

    private static void acceptAll(Penalties p, int... tokens) {
        for (int t : tokens) {
            p.accept(t);
        }
    }

    @Test
    void subtractsFrequencyTimesCountPlusPresenceOnce() {
        var p = new Penalties(1f, 0.25f, 0.5f, 64, LOGITS.length);
        acceptAll(p, 0, 0, 2, 5, 0); // counts: token 0 x3, token 2 x1, token 5 x1
        assertThat(p.count(0)).isEqualTo(3);
        // 0: 4 - (3*0.25 + 0.5) = 2.75; 2: 3 - (0.25 + 0.5) = 2.25; 5: 6 - 0.75 = 5.25
        assertThat(apply(p)).containsExactly(2.75f, -2f, 2.25f, -1f, 0f, 5.25f);
    }

    @Test
    void presenceAloneDoesNotGrowWithTheCount() {
        var p = new Penalties(1f, 0f, 1.5f, 64, LOGITS.length);
        acceptAll(p, 3, 3, 3, 3, 4);
        // 3: -1 - 1.5 = -2.5; 4: 0 - 1.5 = -1.5
        assertThat(apply(p)).containsExactly(4f, -2f, 3f, -2.5f, -1.5f, 6f);
    }

    @Test
    void frequencyAloneGrowsLinearly() {
        var p = new Penalties(1f, 0.75f, 0f, 64, LOGITS.length);
        acceptAll(p, 5, 5, 5, 5, 1);
        // 5: 6 - 4*0.75 = 3; 1: -2 - 0.75 = -2.75
        assertThat(apply(p)).containsExactly(4f, -2.75f, 3f, -1f, 0f, 3f);
    }

    @Test
    void negativeValuesEncourageRepetition() {
        var p = new Penalties(1f, -0.5f, -1f, 64, LOGITS.length);
        acceptAll(p, 0, 0, 0);
        // 4 - (3*-0.5 + -1) = 4 + 2.5 = 6.5
        assertThat(apply(p)).containsExactly(6.5f, -2f, 3f, -1f, 0f, 6f);
    }

    @Test
    void repetitionPenaltyComesFirstThenFrequencyAndPresence() {
        var p = new Penalties(2f, 0.25f, 0.5f, 64, LOGITS.length);
        acceptAll(p, 0, 0, 0, 2, 5, 1, 1);
        // 0: 4/2 - (0.75 + 0.5) = 0.75; 1: -2*2 - (0.5 + 0.5) = -5;
        // 2: 3/2 - 0.75 = 0.75;         5: 6/2 - 0.75 = 2.25
        assertThat(apply(p)).containsExactly(0.75f, -5f, 0.75f, -1f, 0f, 2.25f);
    }

    @Test
    void countsOnlyTheLastNTokens() {
        var p = new Penalties(1f, 0.5f, 1f, 3, LOGITS.length);
        acceptAll(p, 0, 0, 5, 5, 5); // window 5, 5, 5: both 0s have left
        assertThat(p.count(0)).isZero();
        assertThat(p.count(5)).isEqualTo(3);
        // 5: 6 - (1.5 + 1) = 3.5
        assertThat(apply(p)).containsExactly(4f, -2f, 3f, -1f, 0f, 3.5f);
        p.accept(0); // window 5, 5, 0
        // 0: 4 - (0.5 + 1) = 2.5; 5: 6 - (1 + 1) = 4
        assertThat(apply(p)).containsExactly(2.5f, -2f, 3f, -1f, 0f, 4f);
        acceptAll(p, 2, 2); // window 0, 2, 2
        // 0: 2.5; 2: 3 - (1 + 1) = 1; 5 back to 6
        assertThat(apply(p)).containsExactly(2.5f, -2f, 1f, -1f, 0f, 6f);
    }

    @Test
    void lastNMinusOneCountsEverything() {
        var p = new Penalties(1f, 0.5f, 0f, -1, LOGITS.length);
        for (int i = 0; i < 1000; i++) {
            p.accept(i % 10 == 0 ? 4 : 3); // 100 x token 4, 900 x token 3
        }
        // 4: 0 - 50 = -50; 3: -1 - 450 = -451
        assertThat(apply(p)).containsExactly(4f, -2f, 3f, -451f, -50f, 6f);
    }

    @Test
    void activeOnlyWhenSomethingChanges() {
        assertThat(Penalties.active(1f, 0f, 0f, 64)).isFalse();
        assertThat(Penalties.active(1.1f, 0.5f, 0.5f, 0)).isFalse();
        assertThat(Penalties.active(1f, 0f, 0.1f, 64)).isTrue();
        assertThat(Penalties.active(1f, -0.1f, 0f, -1)).isTrue();
        assertThat(Penalties.active(1.1f, 0f, 0f, 1)).isTrue();
    }

    @Test
    void greedyChainAppliesFrequencyAndPresence() {
        var params = SamplingParams.greedy().withPenalties(0f, 2f);
        SamplerChain chain = SamplerChain.create(params, LOGITS.length);
        assertThat(chain.sample(LOGITS)).isEqualTo(5);
        chain.accept(5); // 6 - 2 = 4 ties with token 0 at 4: lowest id wins
        assertThat(chain.sample(LOGITS)).isEqualTo(0);
        chain.accept(0); // 0: 4 - 2 = 2, 5: 4, 2: 3
        assertThat(chain.sample(LOGITS)).isEqualTo(5);
        chain.accept(5); // 5: 6 - 4 = 2, 2: 3
        assertThat(chain.sample(LOGITS)).isEqualTo(2);

        var presence = SamplingParams.greedy().withPenalties(1.5f, 0f);
        SamplerChain p = SamplerChain.create(presence, LOGITS.length);
        for (int i = 0; i < 10; i++) {
            p.accept(0); // only present: 4 - 1.5 = 2.5 however often it occurs
        }
        assertThat(Arrays.copyOf(p.filter(LOGITS).logits, LOGITS.length))
                .containsExactly(2.5f, -2f, 3f, -1f, 0f, 6f);
    }

    @Test
    void chainWindowIsTheRepeatLastNWindow() {
        var params = new SamplingParams(0f, 0, 1f, 0f, 1f, 2, 0).withPenalties(0.5f, 1f);
        SamplerChain chain = SamplerChain.create(params, LOGITS.length);
        chain.accept(5);
        chain.accept(5); // window 5, 5: 6 - (2 + 0.5) = 3.5 < 4
        assertThat(chain.sample(LOGITS)).isEqualTo(0);
        chain.accept(1);
        chain.accept(1); // window 1, 1: token 5 is free again
        assertThat(chain.sample(LOGITS)).isEqualTo(5);
        assertThat(Arrays.copyOf(chain.filter(LOGITS).logits, LOGITS.length))
                .containsExactly(4f, -4.5f, 3f, -1f, 0f, 6f);
    }

    @Test
    void lookBackZeroDisablesEveryPenalty() {
        var params = new SamplingParams(0f, 0, 1f, 0f, 2f, 0, 0).withPenalties(2f, 2f);
        SamplerChain chain = SamplerChain.create(params, LOGITS.length);
        for (int i = 0; i < 5; i++) {
            chain.accept(5);
        }
        assertThat(chain.sample(LOGITS)).isEqualTo(5);
        assertThat(Arrays.copyOf(chain.filter(LOGITS).logits, LOGITS.length)).containsExactly(LOGITS);
    }
}
