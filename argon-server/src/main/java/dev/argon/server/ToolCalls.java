package dev.argon.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.TokenConstraint;
import dev.argon.grammar.Grammar;
import dev.argon.grammar.GrammarConstraint;
import dev.argon.grammar.GrammarException;
import dev.argon.grammar.JsonGrammar;
import dev.argon.grammar.JsonSchemaGrammar;
import dev.argon.grammar.LazyGrammarConstraint;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI tool calling for one chat request: the {@code tools}, {@code tool_choice} and
 * {@code parallel_tool_calls} fields, how the tools reach the prompt, the grammar that forces a
 * call, and how the model's output is parsed back into {@code tool_calls}.
 *
 * <p>The call syntax follows the chat template ({@link Format#of}): Hermes/Qwen
 * {@code <tool_call>{"name": ..., "arguments": ...}</tool_call>}, Llama 3.x
 * {@code {"name": ..., "parameters": ...}}, Mistral {@code [TOOL_CALLS] [{"name": ...,
 * "arguments": ...}]}. Templates that know no tools get the tools in a system message
 * ({@link #GENERIC_PROMPT}) and answer {@code {"tool_calls": [{"name": ..., "arguments": ...}]}}.
 * With {@code tool_choice} {@code required} or a named function the output is constrained by a
 * grammar to well-formed calls whose arguments match each function's {@code parameters} schema;
 * with {@code auto} the model writes freely until it starts a call (the template's trigger:
 * {@code <tool_call>}, {@code {"name"} or {@code <|python_tag|>}, {@code [TOOL_CALLS]},
 * {@code {"tool_calls"}), from where a lazy grammar ({@link LazyGrammarConstraint}) makes the
 * call well-formed with schema-valid arguments.
 */
final class ToolCalls {
    /** The call syntax the model is asked for. */
    enum Format {
        HERMES, LLAMA3, MISTRAL, GENERIC;

        /** @return the syntax the template's own tool rendering uses, or GENERIC when it renders no tools */
        static Format of(ChatTemplate template) {
            String src = template.source();
            if (!src.contains("tools")) {
                return GENERIC;
            }
            if (src.contains("<tool_call>")) {
                return HERMES;
            }
            if (src.contains("[TOOL_CALLS]")) {
                return MISTRAL;
            }
            if (src.contains("<|start_header_id|>")) {
                return LLAMA3;
            }
            return GENERIC;
        }
    }

    /** The system text that describes tools to a template without tool support (the tools' JSON follows it). */
    static final String GENERIC_PROMPT = "You can call the following tools (functions). Each is described by its name,"
            + " its description and the JSON Schema of its arguments:\n";
    static final String GENERIC_INSTRUCTION = "\nTo call tools, answer with only a JSON object of the form"
            + " {\"tool_calls\": [{\"name\": \"<tool name>\", \"arguments\": {<arguments>}}]}; otherwise answer normally.";

    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    final Format format;
    final List<Map<String, Object>> tools;
    final List<String> names;
    /** "none", "auto", "required", or a function name. */
    final String choice;
    final boolean parallel;
    private final List<Object> schemas;

    private ToolCalls(Format format, List<Map<String, Object>> tools, List<String> names, List<Object> schemas,
                      String choice, boolean parallel) {
        this.format = format;
        this.tools = tools;
        this.names = names;
        this.schemas = schemas;
        this.choice = choice;
        this.parallel = parallel;
    }

    /**
     * @return the request's tool calling, or null when it has no tools
     * @throws ApiException 400 naming the field for malformed tools or choices
     */
    static ToolCalls parse(JsonNode body, boolean chat, ChatTemplate template) {
        JsonNode t = body.get("tools");
        JsonNode c = body.get("tool_choice");
        for (String legacy : List.of("functions", "function_call")) {
            JsonNode v = body.get(legacy);
            if (v != null && !v.isNull()) {
                throw ApiException.badRequest(legacy, "'" + legacy + "' (deprecated) is not supported; use 'tools' and 'tool_choice'");
            }
        }
        boolean hasTools = t != null && !t.isNull() && !(t.isArray() && t.isEmpty());
        if (!hasTools) {
            if (c != null && !c.isNull() && !(c.isTextual() && (c.asText().equals("none") || c.asText().equals("auto")))) {
                throw ApiException.badRequest("tool_choice", "'tool_choice' needs 'tools'");
            }
            return null;
        }
        if (!chat) {
            throw ApiException.badRequest("tools", "'tools' is only supported on /v1/chat/completions");
        }
        if (!t.isArray()) {
            throw ApiException.badRequest("tools", "'tools' must be an array of {\"type\": \"function\", \"function\": {...}}");
        }
        List<Map<String, Object>> tools = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Object> schemas = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            String at = "tools[" + i + "]";
            JsonNode tool = t.get(i);
            if (!tool.isObject() || !"function".equals(tool.path("type").asText()) || !tool.path("function").isObject()) {
                throw ApiException.badRequest(at, at + " must be {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": ...}}");
            }
            JsonNode f = tool.get("function");
            String name = f.path("name").asText("");
            if (!NAME.matcher(name).matches()) {
                throw ApiException.badRequest(at + ".function.name", at + ".function.name must be 1 to 64 letters, digits, '_' or '-'");
            }
            if (names.contains(name)) {
                throw ApiException.badRequest(at + ".function.name", "two tools are named '" + name + "'");
            }
            JsonNode params = f.get("parameters");
            if (params != null && !params.isNull() && !params.isObject()) {
                throw ApiException.badRequest(at + ".function.parameters", at + ".function.parameters must be a JSON Schema object");
            }
            Object schema = params == null || params.isNull() ? Map.of("type", "object", "properties", Map.of())
                    : Json.MAPPER.convertValue(params, Object.class);
            try {
                JsonSchemaGrammar.rules(schema, "check");
            } catch (GrammarException e) {
                throw ApiException.badRequest(at + ".function.parameters", at + ".function.parameters: " + e.getMessage());
            }
            names.add(name);
            schemas.add(schema);
            @SuppressWarnings("unchecked")
            Map<String, Object> map = Json.MAPPER.convertValue(tool, LinkedHashMap.class);
            tools.add(map);
        }
        String choice = "auto";
        if (c != null && !c.isNull()) {
            if (c.isTextual() && List.of("none", "auto", "required").contains(c.asText())) {
                choice = c.asText();
            } else if (c.isObject() && "function".equals(c.path("type").asText()) && c.path("function").path("name").isTextual()) {
                choice = c.get("function").get("name").asText();
                if (!names.contains(choice)) {
                    throw ApiException.badRequest("tool_choice", "'tool_choice' names the function '" + choice + "', which is not among the tools");
                }
            } else {
                throw ApiException.badRequest("tool_choice", "'tool_choice' must be none, auto, required or"
                        + " {\"type\": \"function\", \"function\": {\"name\": ...}}");
            }
        }
        boolean parallel = Json.bool(body, "parallel_tool_calls", true);
        return new ToolCalls(Format.of(template), tools, names, schemas, choice, parallel);
    }

    /** @return the tools to pass to the template, or null when the template renders none (GENERIC) or no call may be made */
    List<Map<String, Object>> templateTools() {
        return format == Format.GENERIC || !callsPossible() ? null : tools;
    }

    /** @return whether the model may call a tool ({@code tool_choice} is not {@code none}) */
    boolean callsPossible() {
        return !choice.equals("none");
    }

    /** @return the system text describing the tools for a template without tool support */
    String genericSystemText() {
        StringBuilder sb = new StringBuilder(GENERIC_PROMPT);
        for (Map<String, Object> tool : tools) {
            try {
                sb.append(Json.MAPPER.writeValueAsString(tool.get("function"))).append('\n');
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        return sb.append(GENERIC_INSTRUCTION).toString();
    }

    /** @return the grammar forcing a call ({@code required} or a named function), or null for {@code auto} */
    TokenConstraint.Factory constraint() {
        if (choice.equals("auto") || choice.equals("none")) {
            return null;
        }
        return GrammarConstraint.factory(Grammar.parse(gbnf()));
    }

    /**
     * @return for {@code tool_choice: auto}, the grammar that applies once the model starts a call
     *     (its trigger words and tokens per format, as llama.cpp's lazy grammars); null otherwise
     */
    TokenConstraint.Factory lazyConstraint() {
        if (!choice.equals("auto")) {
            return null;
        }
        List<String> words = switch (format) {
            case HERMES -> List.of("<tool_call>");
            case LLAMA3 -> List.of("{\"name\"", "{ \"name\"");
            case MISTRAL -> List.of("[TOOL_CALLS]");
            case GENERIC -> List.of("{\"tool_calls\"", "{ \"tool_calls\"");
        };
        List<String> tokens = switch (format) {
            case HERMES -> List.of("<tool_call>");
            case LLAMA3 -> List.of("<|python_tag|>");
            case MISTRAL -> List.of("[TOOL_CALLS]");
            case GENERIC -> List.of();
        };
        return LazyGrammarConstraint.factory(Grammar.parse(gbnf(true)), words, tokens);
    }

    /** @return the GBNF text of the forced call(s); visible for tests */
    String gbnf() {
        return gbnf(false);
    }

    /**
     * @param lazy the grammar of {@link #lazyConstraint}: every function, whitespace as JSON allows
     *     between the call's parts, and the trigger token optional at the start (it is absent when
     *     it was a control token)
     * @return the GBNF text of the call(s)
     */
    String gbnf(boolean lazy) {
        StringBuilder rules = new StringBuilder();
        List<String> calls = new ArrayList<>();
        String argsKey = format == Format.LLAMA3 ? "parameters" : "arguments";
        for (int i = 0; i < names.size(); i++) {
            if (!lazy && !choice.equals("required") && !choice.equals(names.get(i))) {
                continue;
            }
            String args = "tool" + i + "-args";
            rules.append(JsonSchemaGrammar.rules(schemas.get(i), args));
            String call = "tool" + i + "-call";
            if (lazy) {
                rules.append(call).append(" ::= \"{\" ws \"\\\"name\\\"\" ws \":\" ws \"\\\"").append(names.get(i))
                        .append("\\\"\" ws \",\" ws \"\\\"").append(argsKey).append("\\\"\" ws \":\" ws ").append(args)
                        .append(" ws \"}\"\n");
            } else {
                rules.append(call).append(" ::= \"{\\\"name\\\": \\\"").append(names.get(i)).append("\\\", \\\"").append(argsKey)
                        .append("\\\": \" ").append(args).append(" \"}\"\n");
            }
            calls.add(call);
        }
        rules.append("call ::= ").append(String.join(" | ", calls)).append('\n');
        boolean many = parallel && format != Format.LLAMA3;
        String root = lazy ? switch (format) {
            case HERMES -> "\"<tool_call>\"? ws call ws \"</tool_call>\"" + (many ? " ( ws \"<tool_call>\" ws call ws \"</tool_call>\" )*" : "");
            case LLAMA3 -> "call";
            case MISTRAL -> "\"[TOOL_CALLS]\"? ws \"[\" ws call " + (many ? "( ws \",\" ws call )* " : "") + "ws \"]\"";
            case GENERIC -> "\"{\" ws \"\\\"tool_calls\\\"\" ws \":\" ws \"[\" ws call " + (many ? "( ws \",\" ws call )* " : "")
                    + "ws \"]\" ws \"}\"";
        } : switch (format) {
            case HERMES -> "\"<tool_call>\\n\" call \"\\n</tool_call>\"" + (many ? " ( \"\\n<tool_call>\\n\" call \"\\n</tool_call>\" )*" : "");
            case LLAMA3 -> "call";
            case MISTRAL -> "\"[\" call " + (many ? "( \", \" call )* " : "") + "\"]\"";
            case GENERIC -> "\"{\\\"tool_calls\\\": [\" call " + (many ? "( \", \" call )* " : "") + "\"]}\"";
        };
        return "root ::= " + root + "\n" + rules + JsonGrammar.VALUE_RULES;
    }

    /**
     * The model's answer split into text and calls.
     *
     * @param content the text outside the calls, or null when there is none
     * @param calls OpenAI {@code tool_calls} entries ({@code id}, {@code type}, {@code function.name},
     *     {@code function.arguments} as a JSON string); empty when the answer holds no call
     */
    record Parsed(String content, ArrayNode calls) {
    }

    /** Parses a finished answer; text that is not a well-formed call of a known tool stays content. */
    Parsed parseOutput(String text) {
        ArrayNode calls = Json.MAPPER.createArrayNode();
        String rest = text;
        switch (format) {
            case HERMES -> {
                Matcher m = Pattern.compile("<tool_call>\\s*(.*?)\\s*(</tool_call>|$)", Pattern.DOTALL).matcher(text);
                StringBuilder outside = new StringBuilder();
                int last = 0;
                while (m.find()) {
                    if (add(calls, m.group(1), "arguments")) {
                        outside.append(text, last, m.start());
                        last = m.end();
                    }
                }
                rest = outside.append(text.substring(last)).toString();
            }
            case LLAMA3 -> {
                // the call may follow some text (tool_choice auto starts its grammar at the trigger)
                int at = -1;
                for (String trigger : List.of("<|python_tag|>", "{\"name\"", "{ \"name\"")) {
                    int i = text.indexOf(trigger);
                    if (i >= 0 && (at < 0 || i < at)) {
                        at = i;
                    }
                }
                String before = at > 0 ? text.substring(0, at) : "";
                String s = (at >= 0 ? text.substring(at) : text).strip();
                if (s.startsWith("<|python_tag|>")) {
                    s = s.substring("<|python_tag|>".length()).strip();
                }
                for (String part : s.split(";\\s*(?=\\{)")) {
                    if (!add(calls, part, "parameters") && !add(calls, part, "arguments")) {
                        calls.removeAll();
                        break;
                    }
                }
                if (!calls.isEmpty()) {
                    rest = before;
                }
            }
            case MISTRAL -> {
                int at = text.indexOf("[TOOL_CALLS]");
                String s = at >= 0 ? text.substring(at + "[TOOL_CALLS]".length()).strip() : text.strip();
                if (addArray(calls, s)) {
                    rest = at >= 0 ? text.substring(0, at) : "";
                }
            }
            case GENERIC -> {
                int at = text.indexOf("{\"tool_calls\"");
                int spaced = text.indexOf("{ \"tool_calls\"");
                at = at < 0 || (spaced >= 0 && spaced < at) ? spaced : at;
                String before = at > 0 ? text.substring(0, at) : "";
                try {
                    JsonNode doc = Json.MAPPER.readTree((at >= 0 ? text.substring(at) : text).strip());
                    if (doc != null && doc.path("tool_calls").isArray()) {
                        for (JsonNode call : doc.get("tool_calls")) {
                            if (!add(calls, call, "arguments")) {
                                calls.removeAll();
                                break;
                            }
                        }
                        if (!calls.isEmpty()) {
                            rest = before;
                        }
                    }
                } catch (JsonProcessingException e) {
                    // not JSON: an ordinary answer
                }
            }
        }
        if (calls.isEmpty()) {
            return new Parsed(text, calls);
        }
        String content = rest.strip();
        return new Parsed(content.isEmpty() ? null : content, calls);
    }

    private boolean addArray(ArrayNode calls, String s) {
        try {
            JsonNode doc = Json.MAPPER.readTree(s);
            if (doc == null || !doc.isArray() || doc.isEmpty()) {
                return false;
            }
            for (JsonNode call : doc) {
                if (!add(calls, call, "arguments")) {
                    calls.removeAll();
                    return false;
                }
            }
            return true;
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    private boolean add(ArrayNode calls, String json, String argsKey) {
        try {
            JsonNode doc = Json.MAPPER.readTree(json.strip());
            return doc != null && add(calls, doc, argsKey);
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    /** @return an OpenAI-style call id, {@code call_} and 24 random hex digits */
    private static String callId() {
        byte[] random = new byte[12];
        ThreadLocalRandom.current().nextBytes(random);
        return "call_" + HexFormat.of().formatHex(random);
    }

    /** @return a call id as Mistral's templates require it: 9 random alphanumeric characters (else they raise an error) */
    private static String mistralId() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder id = new StringBuilder(9);
        for (int i = 0; i < 9; i++) {
            id.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
        }
        return id.toString();
    }

    private boolean add(ArrayNode calls, JsonNode call, String argsKey) {
        if (!call.isObject() || !call.path("name").isTextual() || !names.contains(call.get("name").asText())) {
            return false;
        }
        JsonNode args = call.get(argsKey);
        if (args == null || !(args.isObject() || args.isTextual())) {
            return false;
        }
        ObjectNode entry = calls.addObject();
        entry.put("id", format == Format.MISTRAL ? mistralId() : callId());
        entry.put("type", "function");
        ObjectNode f = entry.putObject("function");
        f.put("name", call.get("name").asText());
        f.put("arguments", args.isTextual() ? args.asText() : Json.write(args));
        return true;
    }
}
