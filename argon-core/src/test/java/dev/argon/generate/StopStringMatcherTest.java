package dev.argon.generate;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StopStringMatcherTest {
    @Test
    void stopStringInOnePieceIsCutAndNotEmitted() {
        StopStringMatcher m = new StopStringMatcher(List.of("END"));
        assertThat(m.append("hello END world")).isEqualTo("hello ");
        assertThat(m.stopped()).isTrue();
        assertThat(m.append("more")).isEmpty();
        assertThat(m.flush()).isEmpty();
    }

    @Test
    void stopStringSplitAcrossPiecesIsHeldBackThenCut() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\nUser:"));
        assertThat(m.append("Sure.\n")).isEqualTo("Sure.");
        assertThat(m.append("\nUs")).isEmpty();
        assertThat(m.append("er: hi")).isEmpty();
        assertThat(m.stopped()).isTrue();
    }

    @Test
    void heldBackTextIsReleasedWhenItDoesNotBecomeAStop() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertThat(m.append("a ST")).isEqualTo("a ");
        assertThat(m.append("ART")).isEqualTo("START");
        assertThat(m.append("ST")).isEmpty();
        assertThat(m.flush()).isEqualTo("ST");
        assertThat(m.stopped()).isFalse();
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopStringMatcher m = new StopStringMatcher(List.of("b", "abc", ""));
        assertThat(m.append("xxabc")).isEqualTo("xx");
    }

    @Test
    void noStopsPassesEverythingThrough() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertThat(m.append("abc")).isEqualTo("abc");
        assertThat(m.flush()).isEmpty();
    }
}
