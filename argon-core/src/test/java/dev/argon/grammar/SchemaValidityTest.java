package dev.argon.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Validity of sampled structured output (issue 17's check): generations at temperature 1 on
 * TinyLLama-v0 (Q4_0, 32,000-token SentencePiece vocabulary) under five JSON schemas (flat object,
 * nested objects, arrays, enums, anyOf), every output parsed by Jackson and validated by the
 * independent {@link SchemaCheck}. Every string and array is bounded, so every document ends
 * within the token budget and none may be skipped. {@code -Dargon.validity.samples=N} sets the
 * generations per schema (default 3 in the test suite; 200 gives the 1,000 of the issue, see
 * docs/structured-output.md).
 */
public class SchemaValidityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** {name, schema} pairs; also used by the server's validity check. */
    public static final String[][] SCHEMAS = {
        {"flat", """
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 16}, "age": {"type": "integer"},
             "ok": {"type": "boolean"}, "score": {"type": "number"}}, "required": ["name", "age", "ok"],
             "additionalProperties": false}"""},
        {"nested", """
            {"type": "object", "properties": {"user": {"type": "object", "properties": {
               "id": {"type": "integer", "minimum": 0}, "address": {"type": "object", "properties": {
                 "city": {"type": "string", "maxLength": 12}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
               "required": ["city", "zip"], "additionalProperties": false}}, "required": ["id", "address"],
               "additionalProperties": false}}, "required": ["user"], "additionalProperties": false}"""},
        {"array", """
            {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": 8},
               "minItems": 1, "maxItems": 4}, "points": {"type": "array", "items": {"type": "array",
               "items": {"type": "integer"}, "maxItems": 3}, "maxItems": 3}}, "required": ["tags", "points"],
             "additionalProperties": false}"""},
        {"enum", """
            {"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]},
               "size": {"enum": ["S", "M", "L", 42, null]}, "kind": {"const": "shirt"}},
             "required": ["color", "size", "kind"], "additionalProperties": false}"""},
        {"anyOf", """
            {"type": "object", "properties": {"value": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 10},
               {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"], "additionalProperties": false}]},
               "when": {"type": "string", "format": "date"}}, "required": ["value", "when"], "additionalProperties": false}"""},
    };

    @Test
    void sampledDocumentsAllParseAndValidate() throws Exception {
        int perSchema = Integer.getInteger("argon.validity.samples", 3);
        List<String> invalid = new ArrayList<>();
        int valid = 0;
        try (LanguageModel model = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 1)) {
            Generator gen = new Generator(model);
            for (String[] named : SCHEMAS) {
                SchemaCheck check = new SchemaCheck(JSON.readTree(named[1]));
                Grammar g = JsonSchemaGrammar.compile(JSON.readValue(named[1], Object.class));
                for (int seed = 1; seed <= perSchema; seed++) {
                    GenerationRequest req = GenerationRequest.of("Once upon a time", 600, new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed))
                            .withConstraint(GrammarConstraint.factory(g));
                    GenerationResult r = gen.generate(req, 1024, s -> { });
                    String what = named[0] + " seed " + seed + ": " + r.finishReason() + " " + r.text();
                    if (r.finishReason() != FinishReason.END_OF_SEQUENCE) {
                        invalid.add(what);
                        continue;
                    }
                    JsonNode doc;
                    try {
                        doc = JSON.readTree(r.text());
                    } catch (Exception e) {
                        invalid.add(what + " (does not parse: " + e.getMessage() + ")");
                        continue;
                    }
                    List<String> errors = check.validate(doc);
                    if (errors.isEmpty()) {
                        valid++;
                    } else {
                        invalid.add(what + " " + errors);
                    }
                }
            }
        }
        System.out.println("SchemaValidityTest: " + valid + " of " + perSchema * SCHEMAS.length + " sampled documents valid");
        assertThat(invalid).isEmpty();
        assertThat(valid).isEqualTo(perSchema * SCHEMAS.length);
    }
}
