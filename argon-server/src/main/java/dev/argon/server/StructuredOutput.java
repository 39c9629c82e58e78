package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.argon.generate.TokenConstraint;
import dev.argon.grammar.Grammar;
import dev.argon.grammar.GrammarConstraint;
import dev.argon.grammar.GrammarException;
import dev.argon.grammar.JsonGrammar;
import dev.argon.grammar.JsonSchemaGrammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads a request's output constraint: OpenAI's {@code response_format} ({@code text},
 * {@code json_object}, {@code json_schema} with {@code json_schema.schema} and {@code strict}) and
 * llama.cpp server's {@code grammar} (GBNF text) and {@code json_schema} (a schema object; also
 * accepted as {@code response_format.schema} with {@code json_object}, as llama.cpp does).
 * Structured output is always strict here: the grammar admits only valid documents whatever
 * {@code strict} says.
 */
final class StructuredOutput {
    private StructuredOutput() {
    }

    /**
     * @return the constraint factory, or null when the output is free text
     * @throws ApiException 400 naming the field for a malformed field, an invalid grammar or
     *     schema (with its place), or more than one constraint
     */
    static TokenConstraint.Factory parse(JsonNode body) {
        List<String> given = new ArrayList<>();
        Grammar g = null;
        JsonNode format = body.get("response_format");
        if (format != null && !format.isNull()) {
            if (!format.isObject() || !format.path("type").isTextual()) {
                throw ApiException.badRequest("response_format", "'response_format' must be an object with a string 'type'"
                        + " (text, json_object or json_schema)");
            }
            String type = format.get("type").asText();
            switch (type) {
                case "text" -> { }
                case "json_object" -> {
                    JsonNode schema = format.get("schema");
                    g = schema == null || schema.isNull() ? JsonGrammar.object() : schema(schema, "response_format.schema");
                    given.add("response_format");
                }
                case "json_schema" -> {
                    JsonNode spec = format.get("json_schema");
                    if (spec == null || !spec.isObject()) {
                        throw ApiException.badRequest("response_format.json_schema",
                                "'response_format.json_schema' must be an object with the 'schema' (and 'name', 'strict')");
                    }
                    JsonNode strict = spec.get("strict");
                    if (strict != null && !strict.isNull() && !strict.isBoolean()) {
                        throw ApiException.badRequest("response_format.json_schema.strict", "'strict' must be a boolean");
                    }
                    JsonNode schema = spec.get("schema");
                    g = schema == null || schema.isNull() ? JsonGrammar.object() : schema(schema, "response_format.json_schema.schema");
                    given.add("response_format");
                }
                default -> throw ApiException.badRequest("response_format.type", "'response_format.type' is '" + type
                        + "'; expected text, json_object or json_schema");
            }
        }
        JsonNode grammar = body.get("grammar");
        if (grammar != null && !grammar.isNull()) {
            if (!grammar.isTextual()) {
                throw ApiException.badRequest("grammar", "'grammar' must be a string of GBNF rules");
            }
            try {
                g = Grammar.parse(grammar.asText());
            } catch (GrammarException e) {
                throw ApiException.badRequest("grammar", "'grammar': " + e.getMessage());
            }
            given.add("grammar");
        }
        JsonNode jsonSchema = body.get("json_schema");
        if (jsonSchema != null && !jsonSchema.isNull()) {
            g = schema(jsonSchema, "json_schema");
            given.add("json_schema");
        }
        if (given.size() > 1) {
            throw ApiException.badRequest(given.get(1), "give only one of 'response_format' (json), 'grammar' and 'json_schema'; found "
                    + String.join(" and ", given));
        }
        return g == null ? null : GrammarConstraint.factory(g);
    }

    private static Grammar schema(JsonNode schema, String field) {
        if (!schema.isObject() && !schema.isBoolean()) {
            throw ApiException.badRequest(field, "'" + field + "' must be a JSON Schema object");
        }
        try {
            return JsonSchemaGrammar.compile(Json.MAPPER.convertValue(schema, Object.class));
        } catch (GrammarException e) {
            throw ApiException.badRequest(field, "'" + field + "': " + e.getMessage());
        }
    }
}
