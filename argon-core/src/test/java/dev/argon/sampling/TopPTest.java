package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Hand-computed: probabilities 0.05, 0.5, 0.15, 0.3 (ids 0..3); descending: 1, 3, 2, 0. */
class TopPTest {
    private static final double[] PROBS = {0.05, 0.5, 0.15, 0.3};

    private static int[] keep(float p, boolean presorted) {
        Candidates c = Candidates.of(Ids.logitsOf(PROBS));
        if (presorted) {
            Ids.sort(c);
        }
        new TopP(p, 0f, PROBS.length).apply(c);
        assertThat(c.sorted).isEqualTo(presorted);
        return presorted ? Ids.live(c) : Ids.liveSorted(c);
    }

    @Test
    void keepsTheSmallestPrefixReachingP() {
        for (boolean presorted : new boolean[] {false, true}) {
            assertThat(keep(0.4f, presorted)).containsExactlyInAnyOrder(1); // 0.5 >= 0.4
            assertThat(keep(0.75f, presorted)).containsExactlyInAnyOrder(1, 3); // 0.8 >= 0.75
            assertThat(keep(0.9f, presorted)).containsExactlyInAnyOrder(1, 3, 2); // 0.95 >= 0.9
            assertThat(keep(0.99f, presorted)).containsExactlyInAnyOrder(1, 3, 2, 0);
        }
    }

    @Test
    void zeroKeepsExactlyTheMostLikelyToken() {
        for (boolean presorted : new boolean[] {false, true}) {
            assertThat(keep(0f, presorted)).containsExactly(1);
        }
        // ties go to the lower id, as everywhere
        Candidates c = Candidates.of(new float[] {1f, 3f, 2f, 3f});
        new TopP(0f, 0f, 4).apply(c);
        assertThat(c.size).isEqualTo(1);
        assertThat(c.ids[0]).isEqualTo(1);
    }

    @Test
    void alwaysKeepsAtLeastOne() {
        assertThat(keep(1e-6f, false)).containsExactly(1);
    }

    @Test
    void tiesAtTheBoundaryGoToLowerIds() {
        // Eight equal tokens, 1/8 each: p 0.3 needs three of them, and takes ids 0, 1, 2.
        Candidates c = Candidates.of(new float[8]);
        new TopP(0.3f, 0f, 8).apply(c);
        assertThat(Ids.liveSorted(c)).containsExactly(0, 1, 2);
    }

    @Test
    void pOfOneIsANoOp() {
        Candidates c = Candidates.of(Ids.logitsOf(PROBS));
        new TopP(1f, 0f, 4).apply(c);
        assertThat(c.size).isEqualTo(4);
        assertThat(Ids.live(c)).containsExactly(0, 1, 2, 3);
    }

    @Test
    void minPHintGivesTheSameResultAsTopPThenMinP() {
        // min-p 0.4: cut at 0.4 * 0.5 = 0.2 drops ids 2 (0.15) and 0 (0.05).
        // Top-p 0.9 alone keeps {1, 3, 2}; normalisation still uses all four tokens.
        Candidates hinted = Candidates.of(Ids.logitsOf(PROBS));
        new TopP(0.9f, 0.4f, 4).apply(hinted);
        Candidates plain = Candidates.of(Ids.logitsOf(PROBS));
        new TopP(0.9f, 0f, 4).apply(plain);
        new MinP(0.4f).apply(plain);
        assertThat(Ids.liveSorted(hinted)).containsExactly(1, 3).containsExactly(Ids.liveSorted(plain));
        // With top-p 0.6 the nucleus {1, 3} is what top-p alone would keep too.
        Candidates small = Candidates.of(Ids.logitsOf(PROBS));
        new TopP(0.6f, 0.01f, 4).apply(small);
        assertThat(Ids.liveSorted(small)).containsExactly(1, 3);
    }
}
