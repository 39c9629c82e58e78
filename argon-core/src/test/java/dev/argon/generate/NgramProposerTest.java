package dev.argon.generate;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class NgramProposerTest {
    private static int[] propose(NgramProposer p, int max, int... tokens) {
        int[] out = new int[max];
        int n = p.propose(tokens, tokens.length, max, out);
        return Arrays.copyOf(out, n);
    }

    @Test
    void continuesTheMostRecentEarlierOccurrenceOfTheNewestNgram() {
        NgramProposer p = new NgramProposer(2, 3);
        // "5 6" occurs at 0 (followed by 7 8) and at 4 (followed by 9 1); the most recent wins
        assertThat(propose(p, 2, 5, 6, 7, 8, 5, 6, 9, 1, 3, 5, 6)).containsExactly(9, 1);
        // a longer n-gram is preferred: "2 5 6" only at 3, followed by 0
        assertThat(propose(p, 3, 1, 1, 1, 2, 5, 6, 0, 5, 6, 4, 4, 2, 5, 6)).containsExactly(0, 5, 6);
    }

    @Test
    void aLoopContinuesWithItsPeriodPastTheEnd() {
        NgramProposer p = new NgramProposer(2, 4);
        // period 3: 1 2 3 1 2 3 1 2 -> 3 1 2 3 1 2 3
        assertThat(propose(p, 7, 1, 2, 3, 1, 2, 3, 1, 2)).containsExactly(3, 1, 2, 3, 1, 2, 3);
        // a run of one token
        assertThat(propose(new NgramProposer(1, 2), 4, 9, 9, 9)).containsExactly(9, 9, 9, 9);
    }

    @Test
    void noMatchNoDraft() {
        NgramProposer p = new NgramProposer(2, 4);
        assertThat(propose(p, 4, 1, 2, 3, 4, 5)).isEmpty();
        assertThat(propose(p, 4, 7)).isEmpty();
        // a single repeated token is no 2-gram match
        assertThat(propose(p, 4, 1, 2, 3, 2)).isEmpty();
        assertThat(propose(new NgramProposer(1, 4), 2, 1, 2, 3, 2)).containsExactly(3, 2);
    }
}
