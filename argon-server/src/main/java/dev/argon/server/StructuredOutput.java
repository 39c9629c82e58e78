package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.argon.generate.TokenConstraint;
import dev.argon.grammar.Grammar;
import dev.argon.grammar.GrammarConstraint;
import dev.argon.grammar.GrammarException;
import dev.argon.grammar.JsonGrammar;
import dev.argon.grammar.JsonSchemaGrammar;
import dev.argon.grammar.LazyGrammarConstraint;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

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
        JsonNode lazy = body.get("grammar_lazy");
        if (lazy != null && !lazy.isNull() && !lazy.isBoolean()) {
            throw ApiException.badRequest("grammar_lazy", "'grammar_lazy' must be a boolean");
        }
        if (lazy != null && lazy.asBoolean(false)) {
            if (g == null) {
                throw ApiException.badRequest("grammar_lazy", "'grammar_lazy' needs a 'grammar' or 'json_schema' to apply");
            }
            return lazy(g, body.get("grammar_triggers"));
        }
        return g == null ? null : GrammarConstraint.factory(g);
    }

    /**
     * llama.cpp server's lazy grammar: {@code grammar_triggers} items {@code {"type", "value"}} with
     * type 0 or {@code "token"} (a token's text), 1 or {@code "word"}, 2 or {@code "pattern"}
     * (a regular expression searched for in the output), 3 or {@code "pattern_full"} (one the whole
     * output must match); see {@link LazyGrammarConstraint}.
     */
    private static TokenConstraint.Factory lazy(Grammar g, JsonNode triggers) {
        if (triggers == null || !triggers.isArray() || triggers.isEmpty()) {
            throw ApiException.badRequest("grammar_triggers", "'grammar_lazy' needs 'grammar_triggers': a non-empty array of"
                    + " {\"type\", \"value\"} (type token, word, pattern or pattern_full)");
        }
        List<String> words = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        List<Pattern> patterns = new ArrayList<>();
        for (int i = 0; i < triggers.size(); i++) {
            String param = "grammar_triggers[" + i + "]";
            JsonNode t = triggers.get(i);
            JsonNode type = t.path("type");
            JsonNode value = t.path("value");
            if (!t.isObject() || !value.isTextual() || value.asText().isEmpty()) {
                throw ApiException.badRequest(param, "'" + param + "' must be an object with a non-empty string 'value'");
            }
            String kind = type.isInt() && type.asInt() >= 0 && type.asInt() <= 3
                    ? List.of("token", "word", "pattern", "pattern_full").get(type.asInt()) : type.asText("");
            String v = value.asText();
            switch (kind) {
                case "token" -> {
                    tokens.add(v);
                    words.add(v); // a text that is no single control token of this model triggers as a word
                }
                case "word" -> {
                    words.add(v);
                    tokens.add(v);
                }
                case "pattern", "pattern_full" -> {
                    String src = kind.equals("pattern") ? v : (v.startsWith("^") ? "" : "^") + v + (v.endsWith("$") ? "" : "$");
                    try {
                        patterns.add(Pattern.compile(src));
                    } catch (PatternSyntaxException e) {
                        throw ApiException.badRequest(param + ".value", "'" + param + ".value' is not a regular expression: "
                                + e.getDescription() + " at index " + e.getIndex());
                    }
                }
                default -> throw ApiException.badRequest(param + ".type", "'" + param + ".type' is " + type
                        + "; expected 0/token, 1/word, 2/pattern or 3/pattern_full");
            }
        }
        return LazyGrammarConstraint.factory(g, words, tokens, patterns);
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
