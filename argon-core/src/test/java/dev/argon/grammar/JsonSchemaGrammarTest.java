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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonSchemaGrammarTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static final String FLAT = """
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
              "age": {"type": "integer", "minimum": 0}, "member": {"type": "boolean"}},
             "required": ["name", "age"], "additionalProperties": false}""";
    static final String NESTED = """
            {"type": "object", "properties": {
               "owner": {"$ref": "#/$defs/person"},
               "pets": {"type": "array", "items": {"$ref": "#/$defs/pet"}, "minItems": 1, "maxItems": 3}},
             "required": ["owner", "pets"],
             "$defs": {
               "person": {"type": "object", "properties": {"first": {"type": "string", "pattern": "^[A-Z][a-z]{1,8}$"},
                 "born": {"type": "string", "format": "date"}}, "required": ["first", "born"]},
               "pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog", 3, null]},
                 "id": {"type": "string", "format": "uuid"}}, "required": ["kind"]}}}""";
    static final String ANY_OF = """
            {"type": "object", "properties": {
               "value": {"anyOf": [{"type": "number"}, {"type": "string", "minLength": 2, "maxLength": 4}, {"type": "null"}]},
               "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 2},
               "version": {"const": "v1"}},
             "required": ["value", "version"]}""";
    static final String OPTIONAL_ONLY = """
            {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"], "maxLength": 3},
               "c": {"type": "object", "additionalProperties": {"type": "boolean"}}}}""";

    static LanguageModel model;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 1);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static Grammar grammar(String schema) throws Exception {
        return JsonSchemaGrammar.compile(JSON.readValue(schema, Object.class));
    }

    @Test
    void acceptsValidAndRejectsInvalidDocuments() throws Exception {
        Grammar flat = grammar(FLAT);
        assertThat(flat.matches("{\"name\": \"Ann\", \"age\": 31}")).isTrue();
        assertThat(flat.matches("{\"name\": \"Ann\", \"age\": 31, \"member\": true}")).isTrue();
        assertThat(flat.matches("{\"name\": \"Ann\"}")).as("missing required").isFalse();
        assertThat(flat.matches("{\"name\": \"Ann\", \"age\": -1}")).as("minimum 0").isFalse();
        assertThat(flat.matches("{\"name\": \"Annabelle Smith\", \"age\": 1}")).as("maxLength").isFalse();
        assertThat(flat.matches("{\"name\": \"Ann\", \"age\": 1, \"x\": 1}")).as("additional").isFalse();
        Grammar nested = grammar(NESTED);
        assertThat(nested.matches("{\"owner\": {\"first\": \"Bo\", \"born\": \"2001-02-03\"}, \"pets\": [{\"kind\": 3},"
                + " {\"kind\": null, \"id\": \"123e4567-e89b-12d3-a456-426614174000\"}]}")).isTrue();
        assertThat(nested.matches("{\"owner\": {\"first\": \"bo\", \"born\": \"2001-02-03\"}, \"pets\": [{\"kind\": 3}]}"))
                .as("pattern").isFalse();
        assertThat(nested.matches("{\"owner\": {\"first\": \"Bo\", \"born\": \"2001-13-03\"}, \"pets\": [{\"kind\": 3}]}"))
                .as("date").isFalse();
        assertThat(nested.matches("{\"owner\": {\"first\": \"Bo\", \"born\": \"2001-02-03\"}, \"pets\": []}")).as("minItems").isFalse();
        Grammar anyOf = grammar(ANY_OF);
        assertThat(anyOf.matches("{\"value\": null, \"version\": \"v1\"}")).isTrue();
        assertThat(anyOf.matches("{\"value\": \"ab\", \"tags\": [\"x\", \"y\"], \"version\": \"v1\"}")).isFalse(); // schema order
        assertThat(anyOf.matches("{\"value\": \"ab\", \"version\": \"v1\", \"tags\": [\"x\", \"y\"]}")).isTrue();
        assertThat(anyOf.matches("{\"value\": \"a\", \"version\": \"v1\"}")).isFalse();
        assertThat(anyOf.matches("{\"value\": 2, \"version\": \"v2\"}")).isFalse();
        Grammar opt = grammar(OPTIONAL_ONLY);
        assertThat(opt.matches("{}")).isTrue();
        assertThat(opt.matches("{\"b\": null}")).isTrue();
        assertThat(opt.matches("{\"a\": 1, \"c\": {\"k\": true}}")).isTrue();
        assertThat(opt.matches("{, \"b\": null}")).isFalse();
        assertThat(opt.matches("{\"c\": {\"k\": 1}}")).isFalse();
        // recursion through "#"
        Grammar tree = grammar("{\"type\": \"object\", \"properties\": {\"kids\": {\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}}, \"required\": [\"kids\"]}");
        assertThat(tree.matches("{\"kids\": [{\"kids\": []}, {\"kids\": [{\"kids\": []}]}]}")).isTrue();
        assertThat(tree.matches("{\"kids\": [{}]}")).isFalse();
    }

    @Test
    void unsupportedKeywordsAndBadValuesAreNamed() {
        assertThatThrownBy(() -> grammar("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"number\", \"multipleOf\": 3}}}"))
                .isInstanceOf(GrammarException.class)
                .hasMessageStartingWith("JSON schema at #/properties/a: keyword 'multipleOf' is not supported (supported: ");
        assertThatThrownBy(() -> grammar("{\"type\": \"strin\"}"))
                .hasMessageStartingWith("JSON schema at #/type: unknown type 'strin'");
        assertThatThrownBy(() -> grammar("{\"$ref\": \"#/$defs/missing\"}"))
                .hasMessage("JSON schema at #/$ref: '#/$defs/missing' names no definition");
        assertThatThrownBy(() -> grammar("{\"type\": \"string\", \"format\": \"email\"}"))
                .hasMessage("JSON schema at #/format: format 'email' is not supported (supported: date, time, date-time, uuid)");
        assertThatThrownBy(() -> grammar("{\"type\": \"string\", \"pattern\": \"(?=a)b\"}"))
                .hasMessageContaining("lookaround");
        assertThatThrownBy(() -> grammar("{\"type\": \"array\", \"minItems\": 3, \"maxItems\": 1}"))
                .hasMessage("JSON schema at #: maxItems 1 is below minItems 3");
        assertThatThrownBy(() -> grammar("{\"type\": \"object\", \"properties\": {}, \"required\": [\"x\"]}"))
                .hasMessage("JSON schema at #/required: 'x' is not among the properties");
    }

    @Test
    void sampledOutputsAtTemperatureOneAllValidate() throws Exception {
        String[] schemas = {FLAT, NESTED, ANY_OF, OPTIONAL_ONLY};
        int total = 0;
        for (String schema : schemas) {
            JsonNode schemaNode = JSON.readTree(schema);
            SchemaCheck check = new SchemaCheck(schemaNode);
            Grammar g = JsonSchemaGrammar.compile(JSON.readValue(schema, Object.class));
            for (int seed = 1; seed <= 6; seed++) {
                GenerationRequest req = GenerationRequest.of("Once upon a time", 400, new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed))
                        .withConstraint(GrammarConstraint.factory(g));
                GenerationResult r = new Generator(model).generate(req, 512, s -> { });
                if (r.finishReason() == FinishReason.LENGTH) {
                    continue; // an unfinished document (free strings can run on); the rest must all be valid
                }
                assertThat(r.finishReason()).as(r.text()).isEqualTo(FinishReason.END_OF_SEQUENCE);
                JsonNode doc = JSON.readTree(r.text());
                assertThat(check.validate(doc)).as("seed %d: %s", seed, r.text()).isEmpty();
                total++;
            }
        }
        // how many of the 24 sampled documents end within 400 tokens depends on the draws (18-24 seen);
        // half keeps the test from passing on a handful of documents
        assertThat(total).as("finished documents").isGreaterThanOrEqualTo(12);
    }
}
