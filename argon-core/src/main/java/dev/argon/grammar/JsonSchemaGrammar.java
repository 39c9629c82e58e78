package dev.argon.grammar;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Translates a JSON Schema (draft 2020-12 vocabulary, the subset OpenAI's structured outputs use)
 * into GBNF whose strings are exactly JSON texts valid against the schema, for
 * {@code --json-schema} and {@code response_format: json_schema}. The schema is given as the
 * plain Java tree a JSON parser produces ({@code Map}, {@code List}, {@code String},
 * {@code Number}, {@code Boolean}, {@code null}).
 *
 * <p>Supported: {@code type} (one or a list), {@code properties}, {@code required},
 * {@code additionalProperties} (absent or {@code false}: no other keys; a schema or {@code true}
 * on an object without {@code properties}: a map), {@code enum}, {@code const}, {@code items},
 * {@code minItems}, {@code maxItems}, {@code minLength}, {@code maxLength}, {@code pattern}
 * (regular-expression subset: literals, {@code .}, classes, {@code \d \w \s}, groups,
 * alternation, quantifiers; unanchored ends accept any text), {@code format} ({@code date},
 * {@code time}, {@code date-time}, {@code uuid}), {@code $ref} to {@code #/$defs/...},
 * {@code #/definitions/...} or {@code #}, {@code anyOf}, {@code oneOf} (as {@code anyOf}),
 * {@code allOf} with one schema, and integer {@code minimum >= 0}. Annotations ({@code title},
 * {@code description}, {@code default}, {@code examples}, {@code $schema}, {@code $id},
 * {@code $comment}, {@code strict}) are ignored. Object properties are generated in schema order,
 * required ones first. Any other keyword is an error naming it and its place.
 */
public final class JsonSchemaGrammar {
    private static final Set<String> IGNORED = Set.of("title", "description", "default", "examples", "$schema",
            "$id", "$comment", "strict", "deprecated", "readOnly", "writeOnly");
    private static final Set<String> KNOWN = Set.of("type", "properties", "required", "additionalProperties", "enum",
            "const", "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "$ref", "$defs",
            "definitions", "anyOf", "oneOf", "allOf", "minimum");

    private final Map<String, Object> root;
    private final Map<String, String> rules = new LinkedHashMap<>();
    private final Map<String, String> byBody = new LinkedHashMap<>();
    private final Map<String, String> refRules = new LinkedHashMap<>();

    private final String rootName;

    private JsonSchemaGrammar(Object root, String rootName) {
        this.root = asSchema(root, "#");
        this.rootName = rootName;
    }

    /**
     * @param schema the schema tree
     * @return GBNF text with a {@code root} rule
     * @throws GrammarException naming an unsupported keyword, a bad value or an unresolvable
     *     {@code $ref}, with its JSON pointer
     */
    public static String toGbnf(Object schema) {
        return rules(schema, "root") + JsonGrammar.VALUE_RULES;
    }

    /**
     * The rules of a schema for use inside a larger grammar: the schema's documents are rule
     * {@code name}, every other rule it defines starts with {@code name + "-"}, and it refers to
     * the rules of {@link JsonGrammar#VALUE_RULES}, which the caller appends once.
     *
     * @param name a GBNF rule name (lower-case letters, digits, '-')
     * @throws GrammarException as {@link #toGbnf}
     */
    public static String rules(Object schema, String name) {
        JsonSchemaGrammar c = new JsonSchemaGrammar(schema, name);
        String body = c.visit(schema, "#", name);
        StringBuilder sb = new StringBuilder(name).append(" ::= ").append(body).append('\n');
        c.rules.forEach((n, def) -> sb.append(n).append(" ::= ").append(def).append('\n'));
        return sb.toString();
    }

    /** @return the compiled grammar of {@link #toGbnf} */
    public static Grammar compile(Object schema) {
        String gbnf;
        try {
            gbnf = toGbnf(schema);
        } catch (StackOverflowError e) {
            throw new GrammarException("JSON schema at #: the schema nests too deeply to compile; use $defs and $ref");
        }
        return Grammar.parse(gbnf);
    }

    private static Map<String, Object> asSchema(Object o, String at) {
        if (o instanceof Boolean b && b) {
            return Map.of();
        }
        if (o instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, Object> s = (Map<String, Object>) m;
            return s;
        }
        throw new GrammarException("JSON schema at " + at + ": expected a schema object, found " + describe(o));
    }

    /** @return a GBNF expression for the schema (rules it needs are added) */
    private String visit(Object node, String at, String name) {
        Map<String, Object> s = asSchema(node, at);
        for (String k : s.keySet()) {
            if (!KNOWN.contains(k) && !IGNORED.contains(k)) {
                throw new GrammarException("JSON schema at " + at + ": keyword '" + k + "' is not supported (supported: "
                        + String.join(", ", new java.util.TreeSet<>(KNOWN)) + ")");
            }
        }
        if (s.containsKey("$ref")) {
            return ref(str(s.get("$ref"), at + "/$ref"), at);
        }
        if (s.containsKey("const")) {
            return literal(toJson(s.get("const")));
        }
        if (s.containsKey("enum")) {
            List<?> values = list(s.get("enum"), at + "/enum");
            if (values.isEmpty()) {
                throw new GrammarException("JSON schema at " + at + "/enum: the list is empty, so no value is valid");
            }
            List<String> alts = new ArrayList<>();
            for (Object v : values) {
                alts.add(literal(toJson(v)));
            }
            return "(" + String.join(" | ", alts) + ")";
        }
        for (String key : new String[]{"anyOf", "oneOf"}) {
            if (s.containsKey(key)) {
                List<?> subs = list(s.get(key), at + "/" + key);
                List<String> alts = new ArrayList<>();
                for (int i = 0; i < subs.size(); i++) {
                    alts.add(rule(name + "-" + i, visit(subs.get(i), at + "/" + key + "/" + i, name + "-" + i)));
                }
                return "(" + String.join(" | ", alts) + ")";
            }
        }
        if (s.containsKey("allOf")) {
            List<?> subs = list(s.get("allOf"), at + "/allOf");
            if (subs.size() != 1) {
                throw new GrammarException("JSON schema at " + at + "/allOf: only a single schema is supported, found " + subs.size());
            }
            return visit(subs.getFirst(), at + "/allOf/0", name);
        }
        Object type = s.get("type");
        if (type == null) {
            if (s.containsKey("properties")) {
                type = "object";
            } else if (s.containsKey("items")) {
                type = "array";
            } else {
                return "value";
            }
        }
        if (type instanceof List<?> types) {
            List<String> alts = new ArrayList<>();
            for (Object t : types) {
                alts.add(typed(s, str(t, at + "/type"), at, name));
            }
            return "(" + String.join(" | ", alts) + ")";
        }
        return typed(s, str(type, at + "/type"), at, name);
    }

    private String typed(Map<String, Object> s, String type, String at, String name) {
        return switch (type) {
            case "object" -> object(s, at, name);
            case "array" -> array(s, at, name);
            case "string" -> string(s, at, name);
            case "integer" -> {
                Object min = s.get("minimum");
                if (min != null && !(min instanceof Number)) {
                    throw new GrammarException("JSON schema at " + at + "/minimum: expected a number, found " + describe(min));
                }
                if (min != null && ((Number) min).doubleValue() > 0) {
                    throw new GrammarException("JSON schema at " + at + "/minimum: only minimum 0 (non-negative integers) is supported, found " + min);
                }
                yield min != null && ((Number) min).doubleValue() == 0 ? "(\"0\" | [1-9] [0-9]{0,15})" : "integer";
            }
            case "number" -> {
                if (s.containsKey("minimum")) {
                    throw new GrammarException("JSON schema at " + at + ": keyword 'minimum' is supported only on integers");
                }
                yield "number";
            }
            case "boolean" -> "(\"true\" | \"false\")";
            case "null" -> "\"null\"";
            default -> throw new GrammarException("JSON schema at " + at + "/type: unknown type '" + type
                    + "' (expected object, array, string, number, integer, boolean or null)");
        };
    }

    private String object(Map<String, Object> s, String at, String name) {
        Object propsObj = s.get("properties");
        Object additional = s.get("additionalProperties");
        if (propsObj == null && additional != null && !Boolean.FALSE.equals(additional)) {
            String v = Boolean.TRUE.equals(additional) ? "value"
                    : rule(name + "-value", visit(additional, at + "/additionalProperties", name + "-value"));
            String kv = "string ws \":\" ws " + v;
            return rule(name, "\"{\" ws ( " + kv + " ws ( \",\" ws " + kv + " ws )* )? \"}\"");
        }
        if (propsObj == null) {
            return rule(name, "\"{\" ws \"}\"");
        }
        Map<String, Object> props = map(propsObj, at + "/properties");
        List<String> required = new ArrayList<>();
        if (s.containsKey("required")) {
            for (Object r : list(s.get("required"), at + "/required")) {
                String key = str(r, at + "/required");
                if (!props.containsKey(key)) {
                    throw new GrammarException("JSON schema at " + at + "/required: '" + key + "' is not among the properties");
                }
                required.add(key);
            }
        }
        List<String> req = new ArrayList<>();
        List<String> opt = new ArrayList<>();
        for (String key : props.keySet()) {
            String kname = name + "-" + sanitize(key);
            String kv = literal(toJson(key)) + " ws \":\" ws "
                    + rule(kname, visit(props.get(key), at + "/properties/" + key, kname));
            (required.contains(key) ? req : opt).add(kv);
        }
        StringBuilder body = new StringBuilder("\"{\" ws ");
        if (!req.isEmpty()) {
            body.append(String.join(" ws \",\" ws ", req)).append(" ws ");
            for (String kv : opt) {
                body.append("( \",\" ws ").append(kv).append(" ws )? ");
            }
        } else if (!opt.isEmpty()) {
            List<String> starts = new ArrayList<>();
            for (int i = 0; i < opt.size(); i++) {
                StringBuilder chain = new StringBuilder(opt.get(i)).append(" ws");
                for (int j = i + 1; j < opt.size(); j++) {
                    chain.append(" ( \",\" ws ").append(opt.get(j)).append(" ws )?");
                }
                starts.add(chain.toString());
            }
            body.append("( ").append(String.join(" | ", starts)).append(" )? ");
        }
        body.append("\"}\"");
        return rule(name, body.toString());
    }

    private String array(Map<String, Object> s, String at, String name) {
        String item = s.containsKey("items") ? rule(name + "-item", visit(s.get("items"), at + "/items", name + "-item")) : "value";
        int min = count(s, "minItems", at, 0);
        int max = count(s, "maxItems", at, -1);
        if (max >= 0 && max < min) {
            throw new GrammarException("JSON schema at " + at + ": maxItems " + max + " is below minItems " + min);
        }
        String more = "\",\" ws " + item + " ws";
        String body;
        if (max == 0) {
            body = "\"[\" ws \"]\"";
        } else {
            String rest = max < 0 ? "( " + more + " )" + (min > 1 ? "{" + (min - 1) + ",}" : "*")
                    : "( " + more + " )" + "{" + Math.max(0, min - 1) + "," + (max - 1) + "}";
            String items = item + " ws " + rest;
            body = "\"[\" ws " + (min == 0 ? "( " + items + " )?" : items) + " \"]\"";
        }
        return rule(name, body);
    }

    private String string(Map<String, Object> s, String at, String name) {
        if (s.containsKey("format")) {
            String f = str(s.get("format"), at + "/format");
            String body = switch (f) {
                case "date" -> DATE;
                case "time" -> TIME;
                case "date-time" -> DATE + " \"T\" " + TIME;
                case "uuid" -> "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}";
                default -> throw new GrammarException("JSON schema at " + at + "/format: format '" + f
                        + "' is not supported (supported: date, time, date-time, uuid)");
            };
            return rule(name, "\"\\\"\" " + body + " \"\\\"\"");
        }
        if (s.containsKey("pattern")) {
            String p = str(s.get("pattern"), at + "/pattern");
            return rule(name, "\"\\\"\" " + new RegexToGbnf(p, at + "/pattern").translate() + " \"\\\"\"");
        }
        int min = count(s, "minLength", at, 0);
        int max = count(s, "maxLength", at, -1);
        if (max >= 0 && max < min) {
            throw new GrammarException("JSON schema at " + at + ": maxLength " + max + " is below minLength " + min);
        }
        if (min == 0 && max < 0) {
            return "string";
        }
        return rule(name, "\"\\\"\" char{" + min + "," + (max < 0 ? "" : max) + "} \"\\\"\"");
    }

    private static final String DATE = "[0-9]{4} \"-\" ( \"0\" [1-9] | \"1\" [0-2] ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )";
    private static final String TIME = "( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,9} )?"
            + " ( \"Z\" | [+-] ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )";

    private String ref(String ref, String at) {
        String known = refRules.get(ref);
        if (known != null) {
            return known;
        }
        Object target;
        String name;
        if (ref.equals("#")) {
            refRules.put(ref, rootName);
            return rootName;
        } else if (ref.startsWith("#/$defs/") || ref.startsWith("#/definitions/")) {
            String key = ref.substring(ref.indexOf('/', 2) + 1);
            Object defs = root.get(ref.startsWith("#/$defs/") ? "$defs" : "definitions");
            target = defs instanceof Map<?, ?> m ? m.get(key) : null;
            name = rootName + "-def-" + sanitize(key);
        } else {
            throw new GrammarException("JSON schema at " + at + "/$ref: only local references '#', '#/$defs/NAME' and"
                    + " '#/definitions/NAME' are supported, found '" + ref + "'");
        }
        if (target == null) {
            throw new GrammarException("JSON schema at " + at + "/$ref: '" + ref + "' names no definition");
        }
        while (rules.containsKey(name)) {
            name = name + "-x";
        }
        refRules.put(ref, name);
        rules.put(name, "\"\""); // placeholder so recursive references resolve
        String body = visit(target, ref, name);
        rules.put(name, body);
        return name;
    }

    /** @return a rule name standing for {@code body} (an identical body reuses its rule) */
    private String rule(String name, String body) {
        if (body.matches("[a-z][a-zA-Z0-9-]*")) {
            return body; // already a rule name
        }
        String known = byBody.get(body);
        if (known != null) {
            return known;
        }
        String n = name;
        int k = 1;
        while (rules.containsKey(n) || n.equals(rootName)) {
            n = name + "-" + (++k);
        }
        rules.put(n, body);
        byBody.put(body, n);
        return n;
    }

    private static String sanitize(String key) {
        String s = key.replaceAll("[^a-zA-Z0-9]+", "-").toLowerCase(java.util.Locale.ROOT);
        return s.isEmpty() || s.equals("-") ? "p" : s;
    }

    private static int count(Map<String, Object> s, String key, String at, int dflt) {
        Object v = s.get(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Number n) || n.doubleValue() != Math.floor(n.doubleValue()) || n.doubleValue() < 0
                || n.doubleValue() > 10_000) {
            throw new GrammarException("JSON schema at " + at + "/" + key + ": expected an integer 0..10000, found " + describe(v));
        }
        return n.intValue();
    }

    private static String str(Object o, String at) {
        if (o instanceof String s) {
            return s;
        }
        throw new GrammarException("JSON schema at " + at + ": expected a string, found " + describe(o));
    }

    private static List<?> list(Object o, String at) {
        if (o instanceof List<?> l) {
            return l;
        }
        throw new GrammarException("JSON schema at " + at + ": expected an array, found " + describe(o));
    }

    private static Map<String, Object> map(Object o, String at) {
        if (o instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) m;
            return r;
        }
        throw new GrammarException("JSON schema at " + at + ": expected an object, found " + describe(o));
    }

    private static String describe(Object o) {
        return o == null ? "null" : o instanceof String s ? "the string \"" + s + "\"" : o instanceof List ? "an array"
                : o instanceof Map ? "an object" : String.valueOf(o);
    }

    /** @return a GBNF literal matching exactly {@code text} */
    static String literal(String text) {
        StringBuilder sb = new StringBuilder("\"");
        text.codePoints().forEach(cp -> {
            switch (cp) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (cp < 0x20) {
                        sb.append(String.format("\\x%02X", cp));
                    } else {
                        sb.appendCodePoint(cp);
                    }
                }
            }
        });
        return sb.append('"').toString();
    }

    /** @return compact JSON text of a value tree (RFC 8259; strings escaped minimally) */
    static String toJson(Object v) {
        StringBuilder sb = new StringBuilder();
        writeJson(v, sb);
        return sb.toString();
    }

    private static void writeJson(Object v, StringBuilder sb) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    default -> {
                        if (c < 0x20) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                writeJson(String.valueOf(e.getKey()), sb);
                sb.append(": ");
                writeJson(e.getValue(), sb);
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                writeJson(l.get(i), sb);
            }
            sb.append(']');
        } else {
            sb.append(v); // Number, Boolean
        }
    }
}
