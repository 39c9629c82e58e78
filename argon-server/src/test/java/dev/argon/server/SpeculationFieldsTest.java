package dev.argon.server;

import dev.argon.generate.GenerationRequest;
import dev.argon.generate.SpeculationParams;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Per-request speculation fields: llama.cpp's flat keys are read; a nested object is refused rather than ignored. */
class SpeculationFieldsTest {
    private static final GenerationRequest REQ = new GenerationRequest("hi", 4, SamplingParams.defaults(), List.of(), true, false);

    private static com.fasterxml.jackson.databind.node.ObjectNode body(String json) {
        return Json.parseObject(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void flatKeysAreReadAndANestedObjectIsRefused() {
        GenerationRequest r = SpeculationFields.apply(body("{\"speculative.type\":\"ngram\",\"speculative.n_max\":5}"), REQ,
                SpeculationParams.NONE);
        assertThat(r.speculation().mode()).isEqualTo(SpeculationParams.Mode.NGRAM);
        assertThat(r.speculation().draftMax()).isEqualTo(5);
        GenerationRequest t = SpeculationFields.apply(body("{\"speculative.type\":\"ngram\",\"speculative.accept\":\"typical\","
                + "\"speculative.typical_delta\":0.5}"), REQ, SpeculationParams.NONE);
        assertThat(t.speculation().acceptance()).isEqualTo(dev.argon.generate.DraftAcceptance.typical(0.09f, 0.5f));
        assertThat(r.speculation().acceptance()).isEqualTo(dev.argon.generate.DraftAcceptance.EXACT);
        GenerationRequest e = SpeculationFields.apply(body("{\"speculative.accept\":\"exact\"}"), REQ,
                SpeculationParams.ngram().withAcceptance(dev.argon.generate.DraftAcceptance.typical(0.1f, 0.2f)));
        assertThat(e.speculation().acceptance().typical()).as("a request turns the server's typical default off").isFalse();
        assertThatThrownBy(() -> SpeculationFields.apply(body("{\"speculative.accept\":\"typical\",\"speculative.typical_delta\":2}"),
                REQ, SpeculationParams.NONE)).isInstanceOf(ApiException.class)
                .hasMessage("'speculative.typical_delta' is 2; it must be a number between 0 and 1");
        assertThatThrownBy(() -> SpeculationFields.apply(body("{\"speculative.accept\":\"typical\"}"), REQ, SpeculationParams.NONE))
                .isInstanceOf(ApiException.class).hasMessageContaining("needs speculation");
        assertThatThrownBy(() -> SpeculationFields.apply(body("{\"speculative.type\":\"none\",\"speculative.accept\":\"typical\"}"),
                REQ, SpeculationParams.ngram())).isInstanceOf(ApiException.class).hasMessageContaining("needs speculation");
        assertThatThrownBy(() -> SpeculationFields.apply(body("{\"speculative\":{\"n_max\":100}}"), REQ, SpeculationParams.NONE))
                .isInstanceOf(ApiException.class).hasMessageStartingWith("'speculative' is not a field; use the flat fields 'speculative.type'");
    }
}
