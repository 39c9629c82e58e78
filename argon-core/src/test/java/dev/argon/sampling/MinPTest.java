package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MinPTest {
    // Probabilities 0.4, 0.1, 0.25, 0.05, 0.2 (ids 0..4); p_max = 0.4.
    private static final double[] PROBS = {0.4, 0.1, 0.25, 0.05, 0.2};

    @Test
    void keepsTokensAtLeastPTimesTheTopProbability() {
        // min-p 0.3: cut 0.12 keeps 0.4, 0.25, 0.2 and drops 0.1 and 0.05; order is preserved.
        Candidates c = Candidates.of(Ids.logitsOf(PROBS));
        new MinP(0.3f).apply(c);
        assertThat(Ids.live(c)).containsExactly(0, 2, 4);
        assertThat(c.sorted).isFalse();
    }

    @Test
    void sameResultOnSortedCandidates() {
        Candidates c = Ids.sort(Candidates.of(Ids.logitsOf(PROBS)));
        new MinP(0.3f).apply(c);
        assertThat(Ids.live(c)).containsExactly(0, 2, 4);
        // min-p 0.55: cut 0.22 keeps 0.4 and 0.25 only.
        new MinP(0.55f).apply(c);
        assertThat(Ids.live(c)).containsExactly(0, 2);
    }

    @Test
    void onlyTheMaximumSurvivesMinPOne() {
        Candidates c = Candidates.of(Ids.logitsOf(PROBS));
        new MinP(1f).apply(c);
        assertThat(Ids.live(c)).containsExactly(0);
    }

    @Test
    void zeroIsANoOp() {
        Candidates c = Candidates.of(Ids.logitsOf(PROBS));
        new MinP(0f).apply(c);
        assertThat(c.size).isEqualTo(5);
    }
}
