package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.argon.ArgonException;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {
    private static final SamplingParams OK = SamplingParams.defaults();

    @Test
    void defaultsAreLlamaCpps() {
        assertThat(OK).isEqualTo(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, -1));
        assertThat(SamplingParams.greedy().temperature()).isZero();
        assertThatCode(OK::validate).doesNotThrowAnyException();
        assertThatCode(SamplingParams.greedy()::validate).doesNotThrowAnyException();
    }

    @Test
    void boundaryValuesAreAccepted() {
        assertThatCode(new SamplingParams(0f, 0, 1f, 0f, 0.01f, -1, 5)::validate).doesNotThrowAnyException();
        assertThatCode(new SamplingParams(5f, 100000, 1e-6f, 1f, 10f, 0, -7)::validate).doesNotThrowAnyException();
    }

    private static void rejects(SamplingParams p, String... parts) {
        assertThatThrownBy(p::validate).isInstanceOf(ArgonException.class).hasMessageContainingAll(parts);
        assertThatThrownBy(() -> SamplerChain.create(p, 10)).isInstanceOf(ArgonException.class);
    }

    @Test
    void rejectsEachBadParameterNamingItsValueAndRange() {
        rejects(new SamplingParams(-0.1f, 40, 0.95f, 0.05f, 1f, 64, 1), "temperature", "-0.1", ">= 0");
        rejects(new SamplingParams(Float.NaN, 40, 0.95f, 0.05f, 1f, 64, 1), "temperature", "NaN");
        rejects(new SamplingParams(Float.POSITIVE_INFINITY, 40, 0.95f, 0.05f, 1f, 64, 1), "temperature", "Infinity");
        rejects(new SamplingParams(0.8f, -1, 0.95f, 0.05f, 1f, 64, 1), "topK", "-1", ">= 0");
        rejects(new SamplingParams(0.8f, 40, 0f, 0.05f, 1f, 64, 1), "topP", "0.0", "0 < topP <= 1");
        rejects(new SamplingParams(0.8f, 40, 1.5f, 0.05f, 1f, 64, 1), "topP", "1.5", "0 < topP <= 1");
        rejects(new SamplingParams(0.8f, 40, 0.95f, -0.05f, 1f, 64, 1), "minP", "-0.05", "0 <= minP <= 1");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 1.01f, 1f, 64, 1), "minP", "1.01", "0 <= minP <= 1");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 0f, 64, 1), "repeatPenalty", "0.0", "> 0");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 0.05f, -1f, 64, 1), "repeatPenalty", "-1.0", "> 0");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, -2, 1), "repeatLastN", "-2", ">= -1");
    }
}
