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
    private static String refusedParam(String json, SpeculationParams defaults) {
        try {
            SpeculationFields.apply(body(json), REQ, defaults);
        } catch (ApiException e) {
            assertThat(e.status()).isEqualTo(400);
            return e.param() + ": " + e.getMessage();
        }
        return "accepted";
    }

    /** As the CLI refuses a flag it would ignore: a field for another kind of speculation, or for none, is a 400 naming it. */
    @Test
    void fieldsThatWouldBeIgnoredAre400s() {
        assertThat(refusedParam("{\"speculative.n_max\":8}", SpeculationParams.NONE)).isEqualTo("speculative.n_max: 'speculative.n_max'"
                + " needs speculation, which this request does not use: set 'speculative.type' (ngram, draft, lookahead) or start the"
                + " server with --spec");
        assertThat(refusedParam("{\"speculative.type\":\"none\",\"speculative.lookahead_guess\":2}", SpeculationParams.ngram()))
                .startsWith("speculative.lookahead_guess: ");
        assertThat(refusedParam("{\"speculative.type\":\"ngram\",\"speculative.lookahead_window\":6}", SpeculationParams.NONE))
                .isEqualTo("speculative.lookahead_window: 'speculative.lookahead_window' applies to 'speculative.type': 'lookahead',"
                        + " but this request uses 'ngram'");
        assertThat(refusedParam("{\"speculative.lookahead_ngram\":3}", SpeculationParams.ngram()))
                .as("the server's kind counts when the request names none").startsWith("speculative.lookahead_ngram: ");
        assertThat(refusedParam("{\"speculative.type\":\"ngram\",\"speculative.p_min\":0.5}", SpeculationParams.NONE))
                .isEqualTo("speculative.p_min: 'speculative.p_min' applies to 'speculative.type': 'draft', but this request uses 'ngram'");
        assertThat(refusedParam("{\"speculative.type\":\"draft\",\"speculative.ngram_max\":3}", SpeculationParams.NONE))
                .startsWith("speculative.ngram_max: 'speculative.ngram_max' applies to 'speculative.type': 'ngram'");
        // what each kind reads is accepted
        assertThat(refusedParam("{\"speculative.type\":\"lookahead\",\"speculative.lookahead_window\":3,\"speculative.n_max\":8}",
                SpeculationParams.NONE)).isEqualTo("accepted");
        assertThat(refusedParam("{\"speculative.ngram_min\":1,\"speculative.n_min\":2}", SpeculationParams.ngram())).isEqualTo("accepted");
        assertThat(refusedParam("{\"speculative.type\":\"draft\",\"speculative.p_min\":0.5}", SpeculationParams.NONE)).isEqualTo("accepted");
        assertThat(refusedParam("{\"speculative.type\":\"none\"}", SpeculationParams.ngram())).isEqualTo("accepted");
    }

    /** Speculation a request asks for cannot go with guidance or banned strings (the scheduler would skip it); the server's default simply does not apply. */
    @Test
    void requestedSpeculationWithGuidanceOrBacktrackingIsA400() {
        GenerationRequest guided = REQ.withGuidance(new dev.argon.generate.Guidance(2f, dev.argon.tokenizer.PromptText.plain("sad")));
        GenerationRequest banning = REQ.withBacktracking(dev.argon.generate.Backtracking.banning(List.of("dog")));
        for (GenerationRequest r : List.of(guided, banning)) {
            var b = body("{\"speculative.type\":\"ngram\"}");
            GenerationRequest asked = SpeculationFields.apply(b, r, SpeculationParams.NONE);
            assertThatThrownBy(() -> SpeculationFields.checkCombinations(b, asked)).isInstanceOf(ApiException.class)
                    .hasMessageStartingWith("speculative decoding ('speculative.type') cannot be combined with "
                            + (r == guided ? "classifier-free guidance ('guidance_scale')" : "'banned_strings' / 'backspace_token'"));
            var tuned = body("{\"speculative.n_max\":4}");
            GenerationRequest t = SpeculationFields.apply(tuned, r, SpeculationParams.ngram());
            assertThatThrownBy(() -> SpeculationFields.checkCombinations(tuned, t)).isInstanceOf(ApiException.class)
                    .extracting(e -> ((ApiException) e).param()).isEqualTo("speculative.n_max");
            var none = body("{}");
            SpeculationFields.checkCombinations(none, SpeculationFields.apply(none, r, SpeculationParams.ngram())); // server default: no error
            var off = body("{\"speculative.type\":\"none\"}");
            SpeculationFields.checkCombinations(off, SpeculationFields.apply(off, r, SpeculationParams.ngram()));
        }
    }
}
