package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.argon.ArgonException;
import org.junit.jupiter.api.Test;

class GreedyTest {
    @Test
    void picksTheArgmax() {
        SamplerChain chain = SamplerChain.create(SamplingParams.greedy(), 5);
        assertThat(chain.sample(new float[] {0.1f, -2f, 3.5f, 3.4f, 0f})).isEqualTo(2);
        assertThat(chain.sample(new float[] {-9f, -8f, -7f, -6f, -5.5f})).isEqualTo(4);
    }

    @Test
    void tiesGoToTheLowestId() {
        SamplerChain chain = SamplerChain.create(SamplingParams.greedy(), 6);
        assertThat(chain.sample(new float[] {1f, 7f, 2f, 7f, 7f, 0f})).isEqualTo(1);
        assertThat(chain.sample(new float[] {4f, 4f, 4f, 4f, 4f, 4f})).isEqualTo(0);
    }

    @Test
    void temperatureZeroIgnoresTheFiltersButNotThePenalty() {
        var p = new SamplingParams(0f, 1, 0.1f, 0.9f, 2f, 4, 7);
        SamplerChain chain = SamplerChain.create(p, 3);
        float[] logits = {3f, 2f, 1f};
        assertThat(chain.sample(logits)).isEqualTo(0);
        chain.accept(0); // 3 / 2 = 1.5 < 2
        assertThat(chain.sample(logits)).isEqualTo(1);
    }

    @Test
    void nanMaximumIsReported() {
        SamplerChain chain = SamplerChain.create(SamplingParams.greedy(), 3);
        assertThatThrownBy(() -> chain.sample(new float[] {Float.NaN, Float.NaN, Float.NaN}))
                .isInstanceOf(ArgonException.class)
                .hasMessageContaining("NaN");
        assertThat(chain.sample(new float[] {Float.NaN, 1f, 2f})).isEqualTo(2);
    }
}
