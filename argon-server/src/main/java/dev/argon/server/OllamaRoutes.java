package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.TokenLogprobs;
import io.javalin.http.Context;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Ollama's API (its {@code docs/api.md}) over the same engine as the OpenAI routes:
 * {@code POST /api/chat} and {@code POST /api/generate} (newline-delimited JSON streaming, the
 * default, or one object with {@code "stream": false}), {@code GET /api/tags},
 * {@code POST /api/show}, {@code GET /api/version}. Requests are translated into the OpenAI form
 * and checked by the same {@link RequestParser} (so templates, stop strings, limits and sampling
 * defaults are the same); {@code options} carries {@code temperature}, {@code top_k},
 * {@code top_p}, {@code min_p}, {@code seed}, {@code num_predict}, {@code stop},
 * {@code repeat_penalty}, {@code repeat_last_n}, {@code presence_penalty},
 * {@code frequency_penalty}; {@code num_ctx}, {@code keep_alive} and {@code think} are accepted
 * and ignored. The OpenAI routes' {@code speculative.*} fields work here too, at the top level or in
 * {@code options}. Errors are Ollama's {@code {"error": "..."}} with the HTTP status.
 */
final class OllamaRoutes {
    /** The Ollama API version {@code /api/version} reports: the release whose documented API these routes follow. */
    static final String API_VERSION = "0.12.0";

    /** Ollama option names → the OpenAI/llama.cpp request fields they set. */
    private static final Map<String, String> OPTIONS = Map.ofEntries(
            Map.entry("temperature", "temperature"), Map.entry("top_k", "top_k"), Map.entry("top_p", "top_p"),
            Map.entry("min_p", "min_p"), Map.entry("seed", "seed"), Map.entry("stop", "stop"),
            Map.entry("repeat_penalty", "repeat_penalty"), Map.entry("repeat_last_n", "repeat_last_n"),
            Map.entry("presence_penalty", "presence_penalty"), Map.entry("frequency_penalty", "frequency_penalty"));

    private final ModelRoutes routes;
    private final ServerConfig config;
    private final String architecture;
    private final long parameters;
    private final long sizeBytes;
    private final BooleanSupplier aborting;
    private final Instant modified;

    /**
     * @param architecture the model's architecture ({@code details.family})
     * @param parameters its parameter count
     * @param sizeBytes the model file's size ({@code size}), or its weights' bytes when the file is not known
     */
    OllamaRoutes(ModelRoutes routes, ServerConfig config, String architecture, long parameters, long sizeBytes, BooleanSupplier aborting) {
        this.routes = routes;
        this.config = config;
        this.architecture = architecture;
        this.parameters = parameters;
        this.sizeBytes = sizeBytes;
        this.aborting = aborting;
        this.modified = Instant.now();
    }

    /** {@code GET /api/version}. */
    static ObjectNode version() {
        return Json.object().put("version", API_VERSION);
    }

    /** {@code GET /api/tags}: the served model under each of its names, with Ollama's default tag. */
    ObjectNode tags() {
        ObjectNode out = Json.object();
        ArrayNode models = out.putArray("models");
        for (String name : config.modelNames()) {
            String tagged = name.contains(":") ? name : name + ":latest";
            ObjectNode m = models.addObject().put("name", tagged).put("model", tagged).put("modified_at", modified.toString())
                    .put("size", sizeBytes).put("digest", "");
            m.set("details", details());
        }
        return out;
    }

    /** {@code POST /api/show} ({@code model}, or the older {@code name}). */
    ObjectNode show(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        String name = Json.string(body, "model", Json.string(body, "name", null));
        if (name == null) {
            throw ApiException.badRequest("model", "'model' is required");
        }
        RequestParser.checkModel(Json.object().put("model", name), config.modelNames());
        ObjectNode out = Json.object().put("modelfile", "").put("parameters", "").put("template", routes.template().source());
        out.set("details", details());
        out.putObject("model_info").put("general.architecture", architecture).put("general.parameter_count", parameters)
                .put(architecture + ".context_length", routes.engine().contextLength());
        out.putArray("capabilities").add("completion");
        out.put("modified_at", modified.toString());
        return out;
    }

    private ObjectNode details() {
        ObjectNode d = Json.object().put("parent_model", "").put("format", "gguf").put("family", architecture);
        d.putArray("families").add(architecture);
        d.put("parameter_size", parameterSize(parameters));
        return d;
    }

    /** Ollama's size label: {@code 260K}, {@code 135M}, {@code 1.2B}. */
    static String parameterSize(long n) {
        if (n >= 1_000_000_000L) {
            return String.format(java.util.Locale.ROOT, "%.1fB", n / 1e9);
        }
        if (n >= 1_000_000L) {
            return String.format(java.util.Locale.ROOT, "%.0fM", n / 1e6);
        }
        return String.format(java.util.Locale.ROOT, "%.0fK", n / 1e3);
    }

    /** {@code POST /api/chat}. */
    void chat(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        ObjectNode openAi = common(body);
        JsonNode messages = body.get("messages");
        if (messages != null && messages.isArray()) {
            ArrayNode copy = openAi.putArray("messages");
            for (int i = 0; i < messages.size(); i++) {
                JsonNode m = messages.get(i);
                if (m.isObject() && m.has("images") && !m.get("images").isNull() && !(m.get("images").isArray() && m.get("images").isEmpty())) {
                    throw ApiException.badRequest("messages", "messages[" + i + "].images: images are not supported (the model reads text only)");
                }
                if (m.isObject()) {
                    ObjectNode c = ((ObjectNode) m).deepCopy();
                    c.remove("images");
                    c.remove("thinking");
                    if (c.path("tool_calls").isArray() && c.path("tool_calls").isEmpty()) {
                        c.remove("tool_calls");
                    }
                    copy.add(c);
                } else {
                    copy.add(m);
                }
            }
        } else if (messages != null) {
            openAi.set("messages", messages);
        }
        copyTools(body, openAi);
        run(ctx, routes.parser().parse(openAi, true), true);
    }

    /**
     * {@code POST /api/generate}: the prompt as a user message in the chat template (with
     * {@code system} before it), or exactly as given with {@code raw: true}; an empty prompt only
     * loads the model, as Ollama does, and answers {@code done_reason: "load"}.
     */
    void generate(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        ObjectNode openAi = common(body);
        String prompt = Json.string(body, "prompt", "");
        String system = Json.string(body, "system", null);
        for (String unsupported : List.of("suffix", "template", "images", "context")) {
            JsonNode v = body.get(unsupported);
            if (v != null && !v.isNull() && !(v.isTextual() && v.textValue().isEmpty()) && !(v.isArray() && v.isEmpty())) {
                throw ApiException.badRequest(unsupported, "'" + unsupported + "' is not supported by this server");
            }
        }
        if (prompt.isEmpty() && system == null) {
            Json.send(ctx, 200, Json.object().put("model", config.modelId()).put("created_at", Instant.now().toString())
                    .put("response", "").put("done", true).put("done_reason", "load"));
            return;
        }
        boolean raw = Json.bool(body, "raw", false);
        if (raw) {
            openAi.put("prompt", prompt);
        } else {
            ArrayNode messages = openAi.putArray("messages");
            if (system != null) {
                messages.addObject().put("role", "system").put("content", system);
            }
            messages.addObject().put("role", "user").put("content", prompt);
        }
        run(ctx, routes.parser().parse(openAi, !raw), false);
    }

    /** The fields both routes share: {@code model}, {@code stream} (default true), {@code format}, {@code options}. */
    private ObjectNode common(JsonNode body) {
        ObjectNode out = Json.object();
        String model = Json.string(body, "model", null);
        if (model == null) {
            throw ApiException.badRequest("model", "'model' is required");
        }
        out.put("model", model);
        out.put("stream", Json.bool(body, "stream", true));
        JsonNode format = body.get("format");
        if (format != null && !format.isNull() && !(format.isTextual() && format.textValue().isEmpty())) {
            // Ollama's structured output: "json" (any JSON object) or a JSON schema, as OpenAI's response_format
            if (format.isObject()) {
                out.putObject("response_format").put("type", "json_object").set("schema", format);
            } else if (format.isTextual() && format.textValue().equals("json")) {
                out.putObject("response_format").put("type", "json_object");
            } else {
                throw ApiException.badRequest("format", "'format' is " + format + "; expected \"json\" or a JSON schema object");
            }
        }
        JsonNode options = body.get("options");
        if (options != null && !options.isNull()) {
            if (!options.isObject()) {
                throw ApiException.badRequest("options", "'options' must be an object");
            }
            for (Map.Entry<String, JsonNode> e : options.properties()) {
                String field = OPTIONS.get(e.getKey());
                if (field != null && !e.getValue().isNull()) {
                    out.set(field, e.getValue());
                }
            }
            JsonNode n = options.get("num_predict");
            if (n != null && !n.isNull()) {
                if (!n.isIntegralNumber()) {
                    throw ApiException.badRequest("options.num_predict", "options.num_predict must be an integer (-1: no limit)");
                }
                if (n.longValue() > 0) {
                    out.put("max_tokens", n.longValue());
                } else if (n.longValue() == 0) {
                    throw ApiException.badRequest("options.num_predict", "options.num_predict is 0; expected at least 1, or -1 for no limit");
                }
            }
        }
        copySpeculation(body, options, out);
        if (!out.has("max_tokens")) {
            out.put("max_tokens", routes.engine().contextLength()); // no limit: generation ends at the full context
        }
        return out;
    }

    /**
     * Speculative decoding: the OpenAI routes' flat {@code speculative.*} fields ({@link SpeculationFields}), at the top
     * level or in {@code options} (Ollama has none of its own), checked the same way.
     *
     * @throws ApiException 400 when a field is given in both places
     */
    private static void copySpeculation(JsonNode body, JsonNode options, ObjectNode out) {
        for (Map.Entry<String, JsonNode> e : body.properties()) {
            if (isSpeculative(e.getKey())) {
                out.set(e.getKey(), e.getValue());
            }
        }
        if (options != null && options.isObject()) {
            for (Map.Entry<String, JsonNode> e : options.properties()) {
                if (isSpeculative(e.getKey())) {
                    if (out.has(e.getKey())) {
                        throw ApiException.badRequest("options." + e.getKey(), "'" + e.getKey() + "' is given both at the top level"
                                + " and in 'options'; give it once");
                    }
                    out.set(e.getKey(), e.getValue());
                }
            }
        }
    }

    private static boolean isSpeculative(String field) {
        return field.equals("speculative") || field.startsWith("speculative.");
    }

    private static void copyTools(JsonNode body, ObjectNode openAi) {
        JsonNode tools = body.get("tools");
        if (tools != null && !tools.isNull()) {
            openAi.set("tools", tools); // refused by the parser unless empty, with a message naming 'tools'
        }
    }

    /** Runs the request and answers in Ollama's form: NDJSON lines, or one object. */
    private void run(Context ctx, CompletionRequest req, boolean chat) {
        long start = System.nanoTime();
        if (!req.stream()) {
            ConnectionProbe client = ConnectionProbe.of(ctx);
            GenerationResult r = routes.engine().run(req.generation(), req.promptIds(), listener(t -> { }, () -> !client.gone(), client::gone),
                    () -> client.knownGone() || aborting.getAsBoolean());
            ctx.attribute(OpenAiServer.TOKENS_ATTRIBUTE, ModelRoutes.tokens(List.of(r)));
            if (client.knownGone()) {
                return;
            }
            Json.send(ctx, 200, last(r, chat, r.text(), System.nanoTime() - start));
            return;
        }
        NdjsonStream out = new NdjsonStream(ctx);
        ConnectionProbe client = ConnectionProbe.of(ctx);
        GenerationResult r;
        try {
            r = routes.engine().run(req.generation(), req.promptIds(),
                    listener(text -> out.send(piece(chat, text)), () -> !out.gone() && !client.gone(), () -> out.gone() || client.gone()),
                    () -> out.gone() || client.knownGone() || aborting.getAsBoolean());
        } catch (ApiException e) {
            if (!out.started()) {
                throw e;
            }
            out.send(Json.object().put("error", e.getMessage()));
            return;
        }
        ctx.attribute(OpenAiServer.TOKENS_ATTRIBUTE, ModelRoutes.tokens(List.of(r)));
        if (!out.gone()) {
            out.send(last(r, chat, "", System.nanoTime() - start));
        }
    }

    /** A listener passing text to {@code onText}; {@code probe} runs after each step (it finds a client that left). */
    private static GenerationListener listener(java.util.function.Consumer<String> onText, BooleanSupplier wanted, BooleanSupplier probe) {
        return new GenerationListener() {
            @Override
            public void onText(String text) {
                onText.accept(text);
            }

            @Override
            public void onToken(int token, TokenLogprobs lp) {
            }

            @Override
            public void onPause() {
                probe.getAsBoolean();
            }

            @Override
            public boolean stillWanted() {
                return wanted.getAsBoolean();
            }
        };
    }

    private ObjectNode piece(boolean chat, String text) {
        ObjectNode o = Json.object().put("model", config.modelId()).put("created_at", Instant.now().toString());
        if (chat) {
            o.putObject("message").put("role", "assistant").put("content", text);
        } else {
            o.put("response", text);
        }
        return o.put("done", false);
    }

    /** The last object: the whole text (non-streaming) or "" (streaming), the done reason and Ollama's counters in nanoseconds. */
    private ObjectNode last(GenerationResult r, boolean chat, String text, long totalNanos) {
        ObjectNode o = Json.object().put("model", config.modelId()).put("created_at", Instant.now().toString());
        if (chat) {
            o.putObject("message").put("role", "assistant").put("content", text);
        } else {
            o.put("response", text);
        }
        o.put("done", true);
        o.put("done_reason", r.finishReason() == FinishReason.END_OF_SEQUENCE || r.finishReason() == FinishReason.STOP_STRING ? "stop" : "length");
        o.put("total_duration", totalNanos);
        o.put("load_duration", 0);
        o.put("prompt_eval_count", r.promptTokens().length);
        o.put("prompt_eval_duration", (long) (r.prefillSeconds() * 1e9));
        o.put("eval_count", r.generatedTokens().length);
        o.put("eval_duration", (long) (r.decodeSeconds() * 1e9));
        return o;
    }
}
