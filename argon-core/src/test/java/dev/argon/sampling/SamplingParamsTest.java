package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.argon.ArgonException;
import java.util.HashMap;
import java.util.Map;
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
        rejects(new SamplingParams(0.8f, 40, -0.1f, 0.05f, 1f, 64, 1), "topP", "-0.1", "0 <= topP <= 1");
        rejects(new SamplingParams(0.8f, 40, 1.5f, 0.05f, 1f, 64, 1), "topP", "1.5", "0 <= topP <= 1");
        rejects(new SamplingParams(0.8f, 40, 0.95f, -0.05f, 1f, 64, 1), "minP", "-0.05", "0 <= minP <= 1");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 1.01f, 1f, 64, 1), "minP", "1.01", "0 <= minP <= 1");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 0f, 64, 1), "repeatPenalty", "0.0", "> 0");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 0.05f, -1f, 64, 1), "repeatPenalty", "-1.0", "> 0");
        rejects(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, -2, 1), "repeatLastN", "-2", ">= -1");
    }

    @Test
    void sevenArgumentConstructorMeansNoOpenAiSettings() {
        var old = new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, 3);
        assertThat(old).isEqualTo(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, 3, 0f, 0f, Map.of()));
        assertThat(old.presencePenalty()).isZero();
        assertThat(old.frequencyPenalty()).isZero();
        assertThat(old.logitBias()).isEmpty();
        assertThat(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, 3, 0f, 0f, null).logitBias()).isEmpty();
    }

    @Test
    void withersCopyAndKeepTheOtherFields() {
        var p = OK.withPenalties(0.5f, -1f).withLogitBias(Map.of(7, -100f));
        assertThat(p).isEqualTo(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, -1, 0.5f, -1f, Map.of(7, -100f)));
        assertThat(p.withPenalties(0f, 0f).withLogitBias(null)).isEqualTo(OK);
        assertThat(OK.presencePenalty()).isZero(); // the original is unchanged
    }

    @Test
    void logitBiasIsCopiedImmutably() {
        Map<Integer, Float> bias = new HashMap<>(Map.of(3, 1f, 1, -2f));
        var p = OK.withLogitBias(bias);
        bias.put(2, 5f);
        assertThat(p.logitBias()).containsExactly(Map.entry(1, -2f), Map.entry(3, 1f)); // ordered by id
        assertThatThrownBy(() -> p.logitBias().put(4, 1f)).isInstanceOf(UnsupportedOperationException.class);
        Map<Integer, Float> withNull = new HashMap<>();
        withNull.put(1, null);
        assertThatThrownBy(() -> OK.withLogitBias(withNull)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void openAiBoundariesAreAccepted() {
        Map<Integer, Float> bias = Map.of(0, -100f, 9, 100f, 5, 0f);
        for (float v : new float[] {-2f, 2f, 0f, -0.5f}) {
            var p = OK.withPenalties(v, -v).withLogitBias(bias);
            assertThatCode(p::validate).doesNotThrowAnyException();
            assertThatCode(() -> SamplerChain.create(p, 10)).doesNotThrowAnyException();
        }
    }

    @Test
    void rejectsBadOpenAiParameters() {
        rejects(OK.withPenalties(2.5f, 0f), "presencePenalty", "2.5", "[-2, 2]");
        rejects(OK.withPenalties(-2.01f, 0f), "presencePenalty", "-2.01", "[-2, 2]");
        rejects(OK.withPenalties(Float.NaN, 0f), "presencePenalty", "NaN");
        rejects(OK.withPenalties(0f, Float.POSITIVE_INFINITY), "frequencyPenalty", "Infinity", "[-2, 2]");
        rejects(OK.withPenalties(0f, -3f), "frequencyPenalty", "-3.0", "[-2, 2]");
        rejects(OK.withLogitBias(Map.of(4, 100.5f)), "logitBias[4]", "100.5", "[-100, 100]");
        rejects(OK.withLogitBias(Map.of(4, Float.NEGATIVE_INFINITY)), "logitBias[4]", "-Infinity", "[-100, 100]");
        rejects(OK.withLogitBias(Map.of(4, Float.NaN)), "logitBias[4]", "NaN");
        rejects(OK.withLogitBias(Map.of(-1, 1f)), "logitBias token id", "-1", ">= 0");
    }

    @Test
    void logitBiasTokensMustBeInTheVocabulary() {
        var p = OK.withLogitBias(Map.of(3, 1f, 10, -100f));
        assertThatCode(p::validate).doesNotThrowAnyException();
        assertThatThrownBy(() -> SamplerChain.create(p, 10))
                .isInstanceOf(ArgonException.class)
                .hasMessage("Invalid sampling parameter logitBias token id = 10: "
                        + "must be a token id in [0, 10) (vocabulary size 10)");
        assertThatCode(() -> SamplerChain.create(p, 11)).doesNotThrowAnyException();
    }
}
