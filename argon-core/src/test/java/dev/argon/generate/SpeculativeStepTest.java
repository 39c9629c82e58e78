package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link SpeculativeStep}'s contract apart from the rows (those are in {@link StepPlannerTest}
 * and, verified end to end, in {@link SpeculativeDecodingTest}): what it refuses, and when it backs off.
 */
class SpeculativeStepTest {
    @Test
    void aCacheThatEvictsTokensCannotSpeculate() {
        assertThatThrownBy(() -> SpeculativeStep.create(SpeculationParams.ngram(), null, new SpeculationStats(), ContextPolicy.shift(4)))
                .isInstanceOf(ArgonException.class)
                .hasMessageContaining("context shift (keep 4)")
                .hasMessageContaining("evicting tokens would move the rows a draft is verified at");
    }

    @Test
    void aDraftModelRequestNeedsADraftModel() {
        SpeculationParams draft = SpeculationParams.ngram().withMode(SpeculationParams.Mode.DRAFT);
        assertThatThrownBy(() -> SpeculativeStep.create(draft, null, new SpeculationStats(), ContextPolicy.NONE))
                .isInstanceOf(ArgonException.class)
                .hasMessageContaining("-md/--model-draft");
    }

    @Test
    void speculationBacksOffWhenMoreSequencesDecodeThanAllowed() {
        SpeculationParams p = new SpeculationParams(SpeculationParams.Mode.NGRAM, 0, 6, 2, 4, 0.75f, 2);
        SpeculativeStep s = SpeculativeStep.create(p, null, new SpeculationStats(), ContextPolicy.NONE);
        assertThat(s.runsWith(1)).isTrue();
        assertThat(s.runsWith(2)).isTrue();
        assertThat(s.runsWith(3)).isFalse();
        assertThat(s.maxDraftRows()).isEqualTo(6);
    }
}
