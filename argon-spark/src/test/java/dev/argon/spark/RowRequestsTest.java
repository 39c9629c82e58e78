package dev.argon.spark;

import dev.argon.ArgonException;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The per-row JSON columns of {@link ArgonCompletion}: requests and results survive the trip to the executors unchanged. */
class RowRequestsTest {
    private static final GenerationRequest DEFAULTS = GenerationRequest.of("p", 256, SamplingParams.defaults());

    @Test
    void aRequestSurvivesEncodeAndDecode() {
        SamplingParams p = new SamplingParams(0.7f, 12, 0.9f, 0.1f, 1.1f, 32, 1234567890123L, 0.5f, -0.25f, Map.of(5, -100f, 17, 2.5f));
        GenerationRequest r = new GenerationRequest("Once", 33, p, List.of(".", "\n\n"), true, false);
        GenerationRequest back = RowRequests.decode(RowRequests.encode(r), DEFAULTS);
        assertThat(back.sampling()).isEqualTo(p);
        assertThat(back.maxTokens()).isEqualTo(33);
        assertThat(back.stop()).containsExactly(".", "\n\n");
        assertThat(back.logprobs()).isEqualTo(-1);
        // missing fields take the transformer's params
        GenerationRequest partial = RowRequests.decode("{\"max_tokens\": 5}", DEFAULTS);
        assertThat(partial.maxTokens()).isEqualTo(5);
        assertThat(partial.sampling()).isEqualTo(DEFAULTS.sampling());
        assertThat(RowRequests.decode(null, DEFAULTS)).isSameAs(DEFAULTS);
        // an empty prompt text is carried with the token ids (it changes how the first word is decoded)
        assertThat(RowRequests.tokenIdsPrompt(RowRequests.encode(GenerationRequest.of("", 4, p)))).isEmpty();
        assertThat(RowRequests.tokenIdsPrompt(RowRequests.encode(r))).isEqualTo(RowRequests.TOKEN_IDS_PROMPT);
    }

    @Test
    void badRequestTextNamesTheField() {
        assertThatThrownBy(() -> RowRequests.decode("{\"temprature\": 1}", DEFAULTS)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("unknown field 'temprature'");
        assertThatThrownBy(() -> RowRequests.decode("{\"top_k\": 1.5}", DEFAULTS)).hasMessageContaining("'top_k' must be an integer");
        assertThatThrownBy(() -> RowRequests.decode("{\"stop\": [1]}", DEFAULTS)).hasMessageContaining("'stop' must be an array of strings");
        assertThatThrownBy(() -> RowRequests.decode("{\"top_p\": 3}", DEFAULTS)).hasMessageContaining("top");
        assertThatThrownBy(() -> RowRequests.decode("[1]", DEFAULTS)).hasMessageContaining("must be a JSON object");
        assertThatThrownBy(() -> RowRequests.decode("{", DEFAULTS)).hasMessageContaining("not valid JSON");
    }

    @Test
    void aResultSurvivesTheDetailColumn() {
        GenerationResult r = new GenerationResult(" a cat.", new int[]{1, 50, 60}, new int[]{7, 8, 9}, FinishReason.STOP_STRING,
                0.5, 0.7, 99L, 2);
        GenerationResult back = RowRequests.result(r.text(), RowRequests.detail(r), r.promptTokens());
        assertThat(back.text()).isEqualTo(" a cat.");
        assertThat(back.generatedTokens()).containsExactly(7, 8, 9);
        assertThat(back.promptTokens()).containsExactly(1, 50, 60);
        assertThat(back.finishReason()).isEqualTo(FinishReason.STOP_STRING);
        assertThat(back.seed()).isEqualTo(99L);
        assertThat(back.cachedPromptTokens()).isEqualTo(2);
    }
}
