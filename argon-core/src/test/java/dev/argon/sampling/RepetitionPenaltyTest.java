package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RepetitionPenaltyTest {
    private static final float[] LOGITS = {4f, -2f, 3f, -1f, 0f, 6f};

    private static float[] apply(Penalties penalty) {
        Candidates c = Candidates.of(LOGITS);
        penalty.apply(c);
        return java.util.Arrays.copyOf(c.logits, c.size);
    }

    @Test
    void dividesPositiveAndMultipliesNegativeLogits() {
        var penalty = Penalties.repetition(2f, 64, LOGITS.length);
        penalty.accept(0);
        penalty.accept(1);
        penalty.accept(4);
        assertThat(apply(penalty)).containsExactly(2f, -4f, 3f, -1f, 0f, 6f);
    }

    @Test
    void aRepeatedTokenIsPenalisedOnce() {
        var penalty = Penalties.repetition(2f, 64, LOGITS.length);
        for (int i = 0; i < 5; i++) {
            penalty.accept(2);
        }
        assertThat(apply(penalty)).containsExactly(4f, -2f, 1.5f, -1f, 0f, 6f);
    }

    @Test
    void onlyTheLastNTokensCount() {
        var penalty = Penalties.repetition(2f, 3, LOGITS.length);
        penalty.accept(0); // falls out of the window below
        penalty.accept(5);
        penalty.accept(1);
        penalty.accept(5);
        // window: 5, 1, 5
        assertThat(apply(penalty)).containsExactly(4f, -4f, 3f, -1f, 0f, 3f);
        penalty.accept(3);
        penalty.accept(3);
        // window: 5, 3, 3 -> token 1 left the window
        assertThat(apply(penalty)).containsExactly(4f, -2f, 3f, -2f, 0f, 3f);
        penalty.accept(2);
        // window: 3, 3, 2 -> token 5 left, its count drops to zero even though it was seen twice
        assertThat(apply(penalty)).containsExactly(4f, -2f, 1.5f, -2f, 0f, 6f);
    }

    @Test
    void lastNMinusOneRemembersEverything() {
        var penalty = Penalties.repetition(2f, -1, LOGITS.length);
        for (int i = 0; i < 1000; i++) {
            penalty.accept(i == 0 ? 0 : 4);
        }
        assertThat(apply(penalty)).containsExactly(2f, -2f, 3f, -1f, 0f, 6f);
    }

    @Test
    void chainAppliesThePenaltyBeforeSelecting() {
        var params = new SamplingParams(0f, 0, 1f, 0f, 1.5f, 2, 0);
        SamplerChain chain = SamplerChain.create(params, LOGITS.length);
        chain.accept(5); // 6 / 1.5 = 4; ties with token 0 at 4, lowest id wins
        assertThat(chain.sample(LOGITS)).isEqualTo(0);
        chain.accept(0);
        chain.accept(2); // window 0, 2: token 5 no longer penalised
        assertThat(chain.sample(LOGITS)).isEqualTo(5);
    }
}
