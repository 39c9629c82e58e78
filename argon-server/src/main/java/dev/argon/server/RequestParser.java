package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.argon.ArgonException;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.TokenConstraint;
import dev.argon.generate.Guidance;
import dev.argon.sampling.Logprobs;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns OpenAI request bodies into {@link CompletionRequest}s: checks every field it reads,
 * refuses what Argon does not support, renders chat messages with the model's template and
 * tokenizes the prompt. Every problem is an {@link ApiException} naming the request field.
 */
final class RequestParser {
    /** Library parameter names (in {@link SamplingParams} messages) → the API's names. */
    private static final Map<String, String> PARAM_NAMES = Map.of(
            "temperature", "temperature", "topK", "top_k", "topP", "top_p", "minP", "min_p",
            "repeatPenalty", "repeat_penalty", "repeatLastN", "repeat_last_n", "seed", "seed",
            "presencePenalty", "presence_penalty", "frequencyPenalty", "frequency_penalty", "logitBias", "logit_bias");
    private static final Pattern SAMPLING_ERROR = Pattern.compile("sampling parameter (\\w+)");

    /** OpenAI's ranges: {@code temperature} 0..2, penalties -2..2, {@code logit_bias} values -100..100, at most 4 stop sequences. */
    static final double MAX_TEMPERATURE = 2;
    static final double MAX_PENALTY = 2;
    static final double MAX_LOGIT_BIAS = 100;
    static final int MAX_STOP_SEQUENCES = 4;
    /** The message roles a request may use ({@code developer} is sent to the template as {@code system}). */
    static final List<String> ROLES = List.of("system", "user", "assistant", "tool", "developer");

    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final String modelId;
    private final List<String> modelNames;
    private final SamplingParams defaults;
    private final int contextLength;
    private final boolean tokenizerAddsBos;
    /** Speculative decoding of requests without {@code speculative.*} fields (the server's flags). */
    private dev.argon.generate.SpeculationParams speculation = dev.argon.generate.SpeculationParams.NONE;
    /** The most bytes of prompt text one token can stand for (its bytes, or its written form for special tokens). */
    private final int maxTokenBytes;

    /**
     * @param modelId the served model's id, as {@code /v1/models} lists it
     * @param contextLength tokens one request may hold; prompts must be shorter
     */
    RequestParser(Tokenizer tokenizer, ChatTemplate template, String modelId, int contextLength) {
        this(tokenizer, template, List.of(modelId), contextLength, SamplingParams.defaults());
    }

    /**
     * @param modelNames the names a request's {@code model} may give: the served id first, then aliases
     * @param defaults the sampling for every field a request omits (the server's flags)
     */
    RequestParser(Tokenizer tokenizer, ChatTemplate template, List<String> modelNames, int contextLength, SamplingParams defaults) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.modelId = modelNames.getFirst();
        this.modelNames = List.copyOf(modelNames);
        this.defaults = defaults;
        this.contextLength = contextLength;
        int longest = 1;
        for (int i = 0; i < tokenizer.vocabSize(); i++) {
            longest = Math.max(longest, Math.max(tokenizer.tokenBytes(i).length,
                    tokenizer.piece(i).getBytes(java.nio.charset.StandardCharsets.UTF_8).length));
        }
        this.maxTokenBytes = longest;
        int[] ids = tokenizer.encode("", true, false);
        this.tokenizerAddsBos = tokenizer.bos() >= 0 && ids.length > 0 && ids[0] == tokenizer.bos();
    }

    /** @return this parser, giving requests without {@code speculative.*} fields {@code defaults} */
    RequestParser withSpeculation(dev.argon.generate.SpeculationParams defaults) {
        this.speculation = defaults;
        return this;
    }

    /**
     * Checks the {@code model} field: absent, null, the served id or its file name (with
     * {@code .gguf}) are fine.
     *
     * @throws ApiException 404 {@code model_not_found} for any other id, 400 for a non-string
     */
    static void checkModel(JsonNode body, String modelId) {
        checkModel(body, List.of(modelId));
    }

    /**
     * Checks the {@code model} field against the served names (the id, then {@code --alias}es):
     * absent, null, one of them, with {@code .gguf} or with Ollama's default tag {@code :latest} are fine.
     *
     * @throws ApiException 404 {@code model_not_found} for any other name, 400 for a non-string
     */
    static void checkModel(JsonNode body, List<String> names) {
        String m = Json.string(body, "model", null);
        if (m != null && !serves(names, m)) {
            throw new ApiException(404, "invalid_request_error", "model", "model_not_found",
                    "The model '" + m + "' does not exist; this server serves '" + String.join("', '", names) + "' (see GET /v1/models)");
        }
    }

    /** @return whether {@code name} is one of {@code names}, possibly with {@code .gguf} or {@code :latest} */
    static boolean serves(List<String> names, String name) {
        for (String n : names) {
            if (name.equals(n) || name.equalsIgnoreCase(n + ".gguf") || name.equals(n + ":latest")) {
                return true;
            }
        }
        return false;
    }

    /** @return the names this parser accepts in {@code model}, the served id first */
    List<String> modelNames() {
        return modelNames;
    }

    /** Parses a completion ({@code chat} false) or chat completion request. */
    CompletionRequest parse(JsonNode body, boolean chat) {
        checkModel(body, modelNames);
        refuseUnsupported(body, chat);
        boolean stream = Json.bool(body, "stream", false);
        JsonNode streamOptions = body.get("stream_options");
        if (streamOptions != null && !streamOptions.isNull() && !streamOptions.isObject()) {
            throw ApiException.badRequest("stream_options", "'stream_options' must be an object");
        }
        if (streamOptions != null && !streamOptions.isNull() && !stream) {
            throw ApiException.badRequest("stream_options", "'stream_options' is only allowed when 'stream' is true");
        }
        boolean includeUsage = stream && streamOptions != null && streamOptions.isObject()
                && Json.bool(streamOptions, "include_usage", false);
        int maxTokens = maxTokens(body, chat);
        SamplingParams sampling = sampling(body);
        List<String> stops = new ArrayList<>(stopStrings(body));
        ToolCalls tools = ToolCalls.parse(body, chat, template);
        PromptText prompt;
        if (chat) {
            prompt = withoutWrittenBos(chatPrompt(body, tools));
            stops.addAll(template.stopStrings());
        } else {
            prompt = PromptText.parsed(promptText(body));
        }
        GenerationRequest req = new GenerationRequest(prompt, maxTokens, sampling, List.copyOf(stops), true, -1);
        try {
            req.validate();
        } catch (ArgonException e) {
            throw coreError(e);
        }
        int logprobs = logprobs(body, chat);
        if (logprobs >= 0) {
            req = req.withLogprobs(logprobs);
        }
        TokenConstraint.Factory constraint = StructuredOutput.parse(body);
        TokenConstraint.Factory forcedCall = tools == null ? null : tools.constraint();
        if (constraint != null && forcedCall != null) {
            throw ApiException.badRequest("tool_choice", "a required tool call cannot be combined with 'response_format',"
                    + " 'grammar' or 'json_schema'");
        }
        // tool_choice auto: a lazy grammar from the template's call trigger on, unless the output is otherwise constrained
        TokenConstraint.Factory lazyCall = tools == null || constraint != null ? null : tools.lazyConstraint();
        TokenConstraint.Factory chosen = forcedCall != null ? forcedCall : constraint != null ? constraint : lazyCall;
        if (chosen != null) {
            try {
                chosen.create(tokenizer); // a new grammar's masks are built here, on the request's thread, not the scheduler's
            } catch (dev.argon.grammar.GrammarException e) {
                String param = chosen != constraint ? "tools" : body.has("grammar") ? "grammar" : body.has("json_schema") ? "json_schema"
                        : "response_format";
                throw ApiException.badRequest(param, e.getMessage());
            }
        }
        req = req.withConstraint(chosen);
        req = WatermarkFields.apply(body, req);
        req = guidance(body, req);
        req = SpeculationFields.apply(body, req, speculation);
        req = BacktrackingFields.apply(body, req, tokenizer.vocabSize());
        SpeculationFields.checkCombinations(body, req);
        return new CompletionRequest(chat, stream, includeUsage, req, tokenize(prompt, chat ? "messages" : "prompt"),
                choices(body), tools);
    }

    /**
     * Classifier-free guidance (Argon extension, the names of diffusers and text-generation
     * pipelines): {@code guidance_scale} (0..100, 1 = off) and {@code negative_prompt} (plain text,
     * never parsed for control tokens, with BOS as the model says; default empty).
     */
    private GenerationRequest guidance(JsonNode body, GenerationRequest req) {
        float scale = Json.number(body, "guidance_scale", 1f, 0, 100);
        String negative = Json.string(body, "negative_prompt", null);
        if (scale == 1f) {
            if (negative != null) {
                throw ApiException.badRequest("negative_prompt", "'negative_prompt' needs a 'guidance_scale' other than 1 (1 = no guidance)");
            }
            return req;
        }
        Guidance g = new Guidance(scale, PromptText.plain(negative == null ? "" : negative));
        int[] ids = tokenizer.encode(g.negativePrompt(), true);
        if (ids.length == 0) {
            throw ApiException.badRequest("negative_prompt", "'negative_prompt' is empty and the model adds no BOS token; give one");
        }
        if (ids.length >= contextLength) {
            throw ApiException.badRequest("negative_prompt", "'negative_prompt' is " + ids.length + " tokens; it must be shorter than the"
                    + " context (" + contextLength + ")");
        }
        return req.withGuidance(g);
    }

    /** Most choices ({@code n}) one request may ask for. */
    static final int MAX_CHOICES = 16;

    private static int choices(JsonNode body) {
        Long n = Json.integer(body, "n", 1, MAX_CHOICES);
        return n == null ? 1 : n.intValue();
    }

    /**
     * Log-probabilities asked for: -1 for none, else the number of alternatives per token. Chat:
     * {@code logprobs: true} and {@code top_logprobs} 0..20; completions: {@code logprobs} 0..5
     * (OpenAI API reference).
     */
    private static int logprobs(JsonNode body, boolean chat) {
        if (chat) {
            boolean on = Json.bool(body, "logprobs", false);
            Long top = Json.integer(body, "top_logprobs", 0, Logprobs.MAX_TOP);
            if (top == null) {
                return on ? 0 : -1;
            }
            if (!on) {
                if (top == 0) {
                    return -1; // asks for no alternatives: nothing to refuse
                }
                throw ApiException.badRequest("logprobs", "'top_logprobs' needs 'logprobs': true");
            }
            return top.intValue();
        }
        JsonNode v = body.get("logprobs");
        if (v != null && v.isBoolean()) {
            throw ApiException.badRequest("logprobs", "for /v1/completions 'logprobs' is the number of alternatives (0..5), not a boolean");
        }
        Long k = Json.integer(body, "logprobs", 0, 5);
        return k == null ? -1 : k.intValue();
    }

    /** Maps a core validation error to a 400 naming the API's parameter. */
    static ApiException coreError(ArgonException e) {
        String message = e.getMessage();
        String param = null;
        Matcher m = SAMPLING_ERROR.matcher(message);
        if (m.find()) {
            param = PARAM_NAMES.get(m.group(1));
        } else if (message.contains("(-n)")) {
            param = "max_tokens";
        }
        for (Map.Entry<String, String> e2 : PARAM_NAMES.entrySet()) {
            message = message.replaceAll("\\b" + e2.getKey() + "\\b", e2.getValue());
        }
        message = message.replace("number of tokens to generate (-n)", "max_tokens");
        return ApiException.badRequest(param, message);
    }

    int[] tokenize(PromptText prompt, String param) {
        // A token covers at most maxTokenBytes bytes of text, so a longer text cannot fit: refuse it
        // before spending time and memory on tokenizing megabytes.
        long bytes = (long) prompt.text().length() * 3 >= (long) contextLength * maxTokenBytes
                ? prompt.text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length : 0;
        if (bytes > (long) contextLength * maxTokenBytes) {
            throw new ApiException(400, "invalid_request_error", param, "context_length_exceeded",
                    "the prompt is " + bytes + " bytes, more than this server's context of " + contextLength
                            + " tokens can hold; shorten the prompt or start the server with a larger -c");
        }
        int[] ids = tokenizer.encode(prompt, true);
        if (ids.length == 0) {
            throw ApiException.badRequest(param, "the prompt is empty and the model adds no BOS token: nothing to start generating from");
        }
        if (ids.length >= contextLength) {
            throw new ApiException(400, "invalid_request_error", param, "context_length_exceeded",
                    "the prompt is " + ids.length + " tokens but this server's context holds " + contextLength
                            + " tokens per request, prompt and answer together, which leaves no room to generate;"
                            + " shorten the prompt or start the server with a larger -c");
        }
        return ids;
    }

    private static void refuseUnsupported(JsonNode body, boolean chat) {
        JsonNode bestOf = body.get("best_of");
        if (bestOf != null && !bestOf.isNull() && !(bestOf.isIntegralNumber() && bestOf.intValue() == 1)) {
            throw ApiException.badRequest("best_of", "'best_of' other than 1 is not supported");
        }
        if (Json.bool(body, "echo", false)) {
            throw ApiException.badRequest("echo", "'echo' is not supported");
        }
        JsonNode suffix = body.get("suffix");
        if (!chat && suffix != null && !suffix.isNull() && !(suffix.isTextual() && suffix.textValue().isEmpty())) {
            throw ApiException.badRequest("suffix", "'suffix' (insertion) is not supported");
        }
    }

    /**
     * The token limit: {@code max_completion_tokens}, else {@code max_tokens} (OpenAI deprecated
     * {@code max_tokens} in favour of {@code max_completion_tokens}, which wins when both are
     * sent; both are checked), else 16 for completions (OpenAI's default) and no limit for chat.
     * Each must be at least 1: a request for no tokens at all is a 400 naming the parameter.
     */
    private static int maxTokens(JsonNode body, boolean chat) {
        int maxTokens = chat ? -1 : 16;
        for (String name : List.of("max_tokens", "max_completion_tokens")) { // the later one wins
            Long v = Json.integer(body, name, 1, Integer.MAX_VALUE);
            if (v != null) {
                maxTokens = v.intValue();
            }
        }
        return maxTokens;
    }

    /**
     * Sampling settings; unset ones take the server's defaults (its {@code --temp}, ... flags;
     * llama.cpp's, {@link SamplingParams#defaults()}, unless changed).
     * The OpenAI parameters are held to OpenAI's ranges ({@code temperature} 0..2, {@code top_p}
     * 0..1, penalties -2..2, {@code logit_bias} values -100..100); the llama.cpp extensions
     * ({@code top_k}, {@code min_p}, {@code repeat_penalty}, {@code repeat_last_n}) to what the
     * sampler accepts.
     */
    private SamplingParams sampling(JsonNode body) {
        SamplingParams d = defaults;
        Long topK = Json.integer(body, "top_k", 0, Integer.MAX_VALUE);
        Long lastN = Json.integer(body, "repeat_last_n", -1, Integer.MAX_VALUE);
        Long seed = Json.integer(body, "seed");
        return new SamplingParams(
                Json.number(body, "temperature", d.temperature(), 0, MAX_TEMPERATURE),
                topK == null ? d.topK() : topK.intValue(),
                Json.number(body, "top_p", d.topP(), 0, 1),
                Json.number(body, "min_p", d.minP()),
                Json.number(body, "repeat_penalty", d.repeatPenalty()),
                lastN == null ? d.repeatLastN() : lastN.intValue(),
                seed == null ? d.seed() : seed,
                Json.number(body, "presence_penalty", d.presencePenalty(), -MAX_PENALTY, MAX_PENALTY),
                Json.number(body, "frequency_penalty", d.frequencyPenalty(), -MAX_PENALTY, MAX_PENALTY),
                logitBias(body));
    }

    /** {@code logit_bias}: an object from token ids (as strings, OpenAI's form) to biases. */
    private Map<Integer, Float> logitBias(JsonNode body) {
        JsonNode lb = body.get("logit_bias");
        if (lb == null || lb.isNull()) {
            return Map.of();
        }
        if (!lb.isObject()) {
            throw ApiException.badRequest("logit_bias", "'logit_bias' must be an object from token ids to numbers, such as {\"50256\": -100}");
        }
        Map<Integer, Float> out = new LinkedHashMap<>();
        int vocab = tokenizer.vocabSize();
        for (Map.Entry<String, JsonNode> e : lb.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().strip());
            } catch (NumberFormatException x) {
                id = -1;
            }
            if (id < 0 || id >= vocab) {
                throw ApiException.badRequest("logit_bias", "logit_bias key '" + e.getKey() + "' is not a token id (0.." + (vocab - 1) + ")");
            }
            JsonNode bias = e.getValue();
            if (!bias.isNumber() || !(Math.abs(bias.doubleValue()) <= MAX_LOGIT_BIAS)) {
                throw ApiException.badRequest("logit_bias", "logit_bias['" + e.getKey() + "'] is " + bias
                        + "; it must be a number between -100 and 100");
            }
            out.put(id, e.getValue().floatValue());
        }
        return out;
    }

    /**
     * Renders {@code messages} with the chat template, as {@code POST /apply-template} shows it:
     * message content is data (rendered literally; control-token text in it stays plain text).
     *
     * @throws ApiException 400 naming {@code messages} for a malformed list or a template error
     */
    PromptText chatPrompt(JsonNode body) {
        return chatPrompt(body, null);
    }

    /** @return the chat request's tool calling ({@link ToolCalls#parse}), or null */
    ToolCalls tools(JsonNode body) {
        return ToolCalls.parse(body, true, template);
    }

    /** Renders the messages with the request's tools (see {@link ToolCalls}), or none when null. */
    PromptText chatPrompt(JsonNode body, ToolCalls tools) {
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) {
            throw ApiException.badRequest("messages", "'messages' is required");
        }
        if (!messages.isArray()) {
            throw ApiException.badRequest("messages", "'messages' must be an array of messages");
        }
        if (messages.isEmpty()) {
            throw ApiException.badRequest("messages", "'messages' is empty; at least one message is required");
        }
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            list.add(message(messages.get(i), "messages[" + i + "]"));
        }
        if (tools != null && tools.templateTools() == null) {
            list = genericToolMessages(list, tools);
        }
        try {
            return template.renderPrompt(list, tools == null ? null : tools.templateTools(), true, Map.of());
        } catch (ArgonException e) {
            throw ApiException.badRequest("messages", e.getMessage());
        }
    }

    /**
     * For a template that renders no tools: the tools described in the system message
     * ({@link ToolCalls#GENERIC_PROMPT}), earlier calls written as the JSON the model is asked
     * for, and tool results as user messages.
     */
    private static List<Map<String, Object>> genericToolMessages(List<Map<String, Object>> in, ToolCalls tools) {
        List<Map<String, Object>> out = new ArrayList<>();
        String text = tools.callsPossible() ? tools.genericSystemText() : null;
        for (Map<String, Object> m : in) {
            Map<String, Object> c = new LinkedHashMap<>(m);
            if (out.isEmpty() && text != null && "system".equals(c.get("role"))) {
                c.put("content", c.get("content") + "\n\n" + text);
                text = null;
            } else if ("tool".equals(c.get("role"))) {
                c.put("role", "user");
                c.put("content", "Result of tool call" + (c.get("tool_call_id") == null ? "" : " " + c.get("tool_call_id")) + ": " + c.get("content"));
            } else if (c.get("tool_calls") instanceof List<?> calls && !calls.isEmpty()) {
                List<Object> written = new ArrayList<>();
                for (Object call : calls) {
                    Object f = call instanceof Map<?, ?> cm && cm.get("function") != null ? cm.get("function") : call;
                    written.add(f);
                }
                String json = Json.write(Json.MAPPER.valueToTree(Map.of("tool_calls", written)));
                String before = String.valueOf(c.get("content"));
                c.put("content", before.isEmpty() ? json : before + "\n" + json);
                c.remove("tool_calls");
            }
            out.add(c);
        }
        if (text != null) {
            out.addFirst(new LinkedHashMap<>(Map.of("role", "system", "content", text)));
        }
        return out;
    }

    /** Templates write {@code bos_token} themselves; the tokenizer adds BOS too, so the written one is dropped. */
    private PromptText withoutWrittenBos(PromptText prompt) {
        return dev.argon.chat.ChatPrompts.withoutWrittenBos(template, prompt, tokenizerAddsBos);
    }

    private static Map<String, Object> message(JsonNode m, String param) {
        if (!m.isObject()) {
            throw ApiException.badRequest(param, param + " must be an object with 'role' and 'content'");
        }
        JsonNode role = m.get("role");
        if (role == null || !role.isTextual() || role.textValue().isBlank()) {
            throw ApiException.badRequest(param + ".role", param + ".role must be a string: one of " + String.join(", ", ROLES));
        }
        if (!ROLES.contains(role.textValue())) {
            throw ApiException.badRequest(param + ".role", param + ".role is '" + role.textValue() + "'; it must be one of "
                    + String.join(", ", ROLES));
        }
        Map<String, Object> map = new LinkedHashMap<>();
        // OpenAI's newer name for system instructions; chat templates know "system"
        map.put("role", role.textValue().equals("developer") ? "system" : role.textValue());
        JsonNode toolCalls = m.get("tool_calls");
        boolean hasToolCalls = toolCalls != null && !toolCalls.isNull();
        if (hasToolCalls && !toolCalls.isArray()) {
            throw ApiException.badRequest(param + ".tool_calls", param + ".tool_calls must be an array");
        }
        JsonNode c = m.get("content");
        if ((c == null || c.isNull()) && !hasToolCalls) {
            throw ApiException.badRequest(param + ".content", param + " has no 'content' (and no 'tool_calls')");
        }
        map.put("content", content(c, param + ".content"));
        if (hasToolCalls) {
            map.put("tool_calls", toolCallsForTemplate(toolCalls));
        }
        for (String name : List.of("name", "tool_call_id")) {
            JsonNode v = m.get(name);
            if (v != null && !v.isNull()) {
                if (!v.isTextual()) {
                    throw ApiException.badRequest(param + "." + name, param + "." + name + " must be a string");
                }
                map.put(name, v.textValue());
            }
        }
        return map;
    }

    /**
     * An assistant message's {@code tool_calls} as templates expect them: OpenAI sends
     * {@code function.arguments} as a JSON string; templates write it with {@code tojson}, so a
     * string holding a JSON object is passed as that object (as llama.cpp and Hugging Face do).
     */
    private static List<Object> toolCallsForTemplate(JsonNode toolCalls) {
        List<Object> out = new ArrayList<>();
        for (JsonNode call : toolCalls) {
            @SuppressWarnings("unchecked")
            Map<String, Object> c = Json.MAPPER.convertValue(call, LinkedHashMap.class);
            JsonNode args = call.path("function").path("arguments");
            if (args.isTextual() && c.get("function") instanceof Map<?, ?> f) {
                try {
                    JsonNode parsed = Json.MAPPER.readTree(args.asText());
                    if (parsed != null && parsed.isObject()) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> fm = new LinkedHashMap<>((Map<String, Object>) f);
                        fm.put("arguments", Json.MAPPER.convertValue(parsed, LinkedHashMap.class));
                        c.put("function", fm);
                    }
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    // not JSON: passed on as the string it is
                }
            }
            out.add(c);
        }
        return out;
    }

    private static String content(JsonNode c, String param) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.textValue();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            int i = 0;
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText())) {
                    throw ApiException.badRequest(param, param + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                }
                if (!part.path("text").isTextual()) {
                    throw ApiException.badRequest(param, param + "[" + i + "].text must be a string");
                }
                i++;
                sb.append(part.get("text").textValue());
            }
            return sb.toString();
        }
        throw ApiException.badRequest(param, param + " must be a string or an array of text parts");
    }

    private static String promptText(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.badRequest("prompt", "'prompt' is required");
        }
        if (p.isTextual()) {
            return p.textValue();
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            return p.get(0).textValue();
        }
        throw ApiException.badRequest("prompt", "'prompt' must be a string (or an array of one string); batches and token arrays are not supported");
    }

    private static List<String> stopStrings(JsonNode body) {
        JsonNode s = body.get("stop");
        List<String> out = new ArrayList<>();
        if (s == null || s.isNull()) {
            return out;
        }
        if (s.isTextual()) {
            if (!s.textValue().isEmpty()) {
                out.add(s.textValue());
            }
            return out;
        }
        if (s.isArray()) {
            if (s.size() > MAX_STOP_SEQUENCES) {
                throw ApiException.badRequest("stop", "'stop' has " + s.size() + " sequences; at most " + MAX_STOP_SEQUENCES
                        + " are allowed");
            }
            for (JsonNode e : s) {
                if (!e.isTextual()) {
                    throw ApiException.badRequest("stop", "'stop' must be a string or an array of strings");
                }
                if (!e.textValue().isEmpty()) {
                    out.add(e.textValue());
                }
            }
            return out;
        }
        throw ApiException.badRequest("stop", "'stop' must be a string or an array of strings");
    }
}
