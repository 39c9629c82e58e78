package dev.argon.grammar;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A test-side JSON Schema validator for the keywords {@link JsonSchemaGrammar} supports, written
 * from the JSON Schema 2020-12 validation spec and independent of the grammar translation.
 */
public final class SchemaCheck {
    private final JsonNode root;

    /** @param root the schema */
    public SchemaCheck(JsonNode root) {
        this.root = root;
    }

    /** @return the violations of {@code v} against the schema (empty when valid) */
    public List<String> validate(JsonNode v) {
        List<String> errors = new ArrayList<>();
        check(root, v, "$", errors);
        return errors;
    }

    private void check(JsonNode s, JsonNode v, String at, List<String> err) {
        if (s.has("$ref")) {
            String ref = s.get("$ref").asText();
            JsonNode target = ref.equals("#") ? root : root.at(ref.substring(1));
            check(target, v, at, err);
            return;
        }
        if (s.has("const") && !s.get("const").equals(v)) {
            err.add(at + ": not the const");
        }
        if (s.has("enum")) {
            boolean found = false;
            for (JsonNode e : s.get("enum")) {
                found |= e.equals(v) || (e.isNumber() && v.isNumber() && e.decimalValue().compareTo(v.decimalValue()) == 0);
            }
            if (!found) {
                err.add(at + ": not in enum");
            }
        }
        for (String k : new String[]{"anyOf", "oneOf"}) {
            if (s.has(k)) {
                int ok = 0;
                for (JsonNode sub : s.get(k)) {
                    List<String> e = new ArrayList<>();
                    check(sub, v, at, e);
                    ok += e.isEmpty() ? 1 : 0;
                }
                if (ok == 0 || (k.equals("oneOf") && ok > 1)) {
                    err.add(at + ": " + k + " matched " + ok);
                }
            }
        }
        if (s.has("type")) {
            List<String> types = new ArrayList<>();
            if (s.get("type").isArray()) {
                s.get("type").forEach(t -> types.add(t.asText()));
            } else {
                types.add(s.get("type").asText());
            }
            boolean ok = false;
            for (String t : types) {
                ok |= switch (t) {
                    case "object" -> v.isObject();
                    case "array" -> v.isArray();
                    case "string" -> v.isTextual();
                    case "integer" -> v.isIntegralNumber();
                    case "number" -> v.isNumber();
                    case "boolean" -> v.isBoolean();
                    case "null" -> v.isNull();
                    default -> false;
                };
            }
            if (!ok) {
                err.add(at + ": type is not " + types);
                return;
            }
        }
        if (v.isObject()) {
            JsonNode props = s.get("properties");
            if (s.has("required")) {
                for (JsonNode r : s.get("required")) {
                    if (!v.has(r.asText())) {
                        err.add(at + ": missing required " + r.asText());
                    }
                }
            }
            Iterator<Map.Entry<String, JsonNode>> it = v.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (props != null && props.has(e.getKey())) {
                    check(props.get(e.getKey()), e.getValue(), at + "." + e.getKey(), err);
                } else if (s.has("additionalProperties") && s.get("additionalProperties").isObject()) {
                    check(s.get("additionalProperties"), e.getValue(), at + "." + e.getKey(), err);
                } else if (s.has("additionalProperties") && s.get("additionalProperties").asBoolean(true) == false) {
                    err.add(at + ": additional property " + e.getKey());
                }
            }
        }
        if (v.isArray()) {
            if (s.has("minItems") && v.size() < s.get("minItems").asInt()) {
                err.add(at + ": fewer than minItems");
            }
            if (s.has("maxItems") && v.size() > s.get("maxItems").asInt()) {
                err.add(at + ": more than maxItems");
            }
            if (s.has("items")) {
                for (int i = 0; i < v.size(); i++) {
                    check(s.get("items"), v.get(i), at + "[" + i + "]", err);
                }
            }
        }
        if (v.isTextual()) {
            String text = v.asText();
            int len = text.codePointCount(0, text.length());
            if (s.has("minLength") && len < s.get("minLength").asInt()) {
                err.add(at + ": shorter than minLength");
            }
            if (s.has("maxLength") && len > s.get("maxLength").asInt()) {
                err.add(at + ": longer than maxLength");
            }
            if (s.has("pattern") && !java.util.regex.Pattern.compile(s.get("pattern").asText()).matcher(text).find()) {
                err.add(at + ": does not match the pattern");
            }
            if (s.has("format")) {
                // RFC 3339 syntax (section 5.6); the grammar does not check calendar days per month
                String date = "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])";
                String time = "([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d+)?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)";
                String f = s.get("format").asText();
                boolean ok = switch (f) {
                    case "date" -> text.matches(date);
                    case "time" -> text.matches(time);
                    case "date-time" -> text.matches(date + "T" + time);
                    case "uuid" -> text.matches("[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}");
                    default -> false;
                };
                if (!ok) {
                    err.add(at + ": not a " + f);
                }
            }
        }
        if (v.isNumber() && s.has("minimum") && v.asDouble() < s.get("minimum").asDouble()) {
            err.add(at + ": below minimum");
        }
    }
}
