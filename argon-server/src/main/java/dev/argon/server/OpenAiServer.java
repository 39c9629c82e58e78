package dev.argon.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.LanguageModel;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.Tokenizer;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * An OpenAI-compatible HTTP server for one model (Javalin on Jetty, JSON with Jackson).
 *
 * <p>Routes: {@code POST /v1/completions}, {@code POST /v1/chat/completions} (messages rendered
 * with the model's {@link ChatTemplate}), {@code GET /v1/models}, {@code POST /tokenize},
 * {@code POST /detokenize}, {@code GET /health}. Both completion routes support
 * {@code stream: true} (Server-Sent Events ending with {@code data: [DONE]}),
 * {@code max_tokens}/{@code max_completion_tokens}, {@code stop}, {@code temperature},
 * {@code top_p}, {@code top_k}, {@code min_p}, {@code repeat_penalty}, {@code seed} and report
 * {@code usage}. Unset sampling parameters take llama.cpp's defaults
 * ({@link SamplingParams#defaults()}). Errors are OpenAI error objects, never stack traces.
 *
 * <p>Scheduling: {@link SlotScheduler} — a fixed number of slots, each running one generation
 * with its own KV cache, and a bounded wait queue. This is <b>not continuous batching</b>: the
 * slots do not share batched forward passes. A streaming client that disconnects stops its
 * generation at the next token.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final LanguageModel model;
    private final ChatTemplate template;
    private final ServerConfig config;
    private final Generator generator;
    private final SlotScheduler scheduler;
    private final boolean tokenizerAddsBos;
    private final long created = System.currentTimeMillis() / 1000;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger cancelled = new AtomicInteger();
    private volatile boolean draining;
    private volatile boolean abortAll;
    private Javalin app;

    /**
     * @param model the model (shared by all slots; each generation has its own state)
     * @param template the chat template for {@code /v1/chat/completions}
     */
    public OpenAiServer(LanguageModel model, ChatTemplate template, ServerConfig config) {
        this.model = model;
        this.template = template;
        this.config = config;
        this.generator = new Generator(model, config.cachePrecision());
        this.scheduler = new SlotScheduler(config.parallel(), config.queueCapacity());
        Tokenizer t = model.tokenizer();
        int[] ids = t.encode("", true, false);
        this.tokenizerAddsBos = t.bos() >= 0 && ids.length > 0 && ids[0] == t.bos();
    }

    /**
     * Binds the port and starts serving.
     *
     * @return this server
     */
    public synchronized OpenAiServer start() {
        if (app != null) {
            throw new IllegalStateException("already started");
        }
        Javalin a = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
        });
        a.before(this::authorize);
        a.get("/health", ctx -> json(ctx, 200, JSON.createObjectNode().put("status", "ok")));
        a.get("/v1/models", this::models);
        a.post("/v1/completions", tracked(ctx -> completion(ctx, false)));
        a.post("/v1/chat/completions", tracked(ctx -> completion(ctx, true)));
        a.post("/tokenize", this::tokenize);
        a.post("/detokenize", this::detokenize);
        a.exception(ApiException.class, (e, ctx) -> error(ctx, e));
        a.exception(HttpResponseException.class, (e, ctx) -> error(ctx, new ApiException(e.getStatus(),
                e.getStatus() == 404 ? "invalid_request_error" : "server_error", null, null,
                e.getStatus() == 404 ? "unknown route: " + ctx.method() + " " + ctx.path() : e.getMessage())));
        a.exception(Exception.class, (e, ctx) -> error(ctx, new ApiException(500, "server_error", null, null,
                "internal error: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()))));
        a.error(404, ctx -> {
            String res = ctx.result();
            if (res == null || !res.contains("\"error\"")) {
                error(ctx, new ApiException(404, "invalid_request_error", null, null, "unknown route: " + ctx.method() + " " + ctx.path()));
            }
        });
        a.start(config.host(), config.port());
        app = a;
        return this;
    }

    /** @return the bound port */
    public int port() {
        return app.port();
    }

    /** @return how many streaming generations stopped because their client disconnected */
    public int cancelledGenerations() {
        return cancelled.get();
    }

    /** @return the base URL, such as {@code http://127.0.0.1:8080} */
    public String url() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + host + ":" + port();
    }

    /**
     * Stops gracefully: new generation requests get 503, running ones may finish within
     * {@code timeout}; after it they are cancelled. Then the HTTP server stops.
     */
    public synchronized void stop(Duration timeout) {
        if (app == null) {
            return;
        }
        draining = true;
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (inFlight.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            abortAll = true;
            long hard = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (inFlight.get() > 0 && System.nanoTime() < hard) {
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        app.stop();
        app = null;
    }

    /** Stops with a 30-second grace period. */
    @Override
    public void close() {
        stop(Duration.ofSeconds(30));
    }

    // ---- routes ----

    private void authorize(Context ctx) {
        if (config.apiKey() == null || ctx.path().equals("/health")) {
            return;
        }
        String header = ctx.header("Authorization");
        String key = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : ctx.header("x-api-key");
        if (key == null || !MessageDigest.isEqual(key.getBytes(StandardCharsets.UTF_8), config.apiKey().getBytes(StandardCharsets.UTF_8))) {
            throw new ApiException(401, "invalid_request_error", null, "invalid_api_key",
                    key == null ? "missing API key: send 'Authorization: Bearer KEY'" : "invalid API key");
        }
    }

    private Handler tracked(Handler h) {
        return ctx -> {
            inFlight.incrementAndGet();
            try {
                if (draining) {
                    throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
                }
                h.handle(ctx);
            } finally {
                inFlight.decrementAndGet();
            }
        };
    }

    private void models(Context ctx) {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", config.modelId()).put("object", "model").put("created", created).put("owned_by", "argon");
        ObjectNode list = JSON.createObjectNode().put("object", "list");
        list.putArray("data").add(m);
        json(ctx, 200, list);
    }

    private void tokenize(Context ctx) {
        JsonNode body = body(ctx);
        String content = string(body, "content", null);
        if (content == null) {
            throw ApiException.badRequest("content", "'content' (the text to tokenize) is required");
        }
        int[] ids = model.tokenizer().encode(content, bool(body, "add_special", false), bool(body, "parse_special", true));
        ObjectNode out = JSON.createObjectNode();
        ArrayNode arr = out.putArray("tokens");
        for (int id : ids) {
            arr.add(id);
        }
        json(ctx, 200, out);
    }

    private void detokenize(Context ctx) {
        JsonNode body = body(ctx);
        JsonNode tokens = body.get("tokens");
        if (tokens == null || !tokens.isArray()) {
            throw ApiException.badRequest("tokens", "'tokens' must be an array of token ids");
        }
        int vocab = model.tokenizer().vocabSize();
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            if (!t.canConvertToInt() || !t.isIntegralNumber() || t.intValue() < 0 || t.intValue() >= vocab) {
                throw ApiException.badRequest("tokens", "tokens[" + i + "] = " + t + " is not a token id (0.." + (vocab - 1) + ")");
            }
            ids[i] = t.intValue();
        }
        json(ctx, 200, JSON.createObjectNode().put("content", model.tokenizer().decode(ids)));
    }

    /** One completion (plain or chat), streamed or not. */
    private void completion(Context ctx, boolean chat) throws IOException {
        JsonNode body = body(ctx);
        for (String unsupported : List.of("n", "best_of")) {
            JsonNode v = body.get(unsupported);
            if (v != null && !v.isNull() && !(v.isIntegralNumber() && v.intValue() == 1)) {
                throw ApiException.badRequest(unsupported, "'" + unsupported + "' other than 1 is not supported");
            }
        }
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull() && !(lp.isBoolean() && !lp.booleanValue())) {
            throw ApiException.badRequest("logprobs", "logprobs are not supported yet");
        }
        if (bool(body, "echo", false)) {
            throw ApiException.badRequest("echo", "'echo' is not supported");
        }
        for (String unsupported : List.of("tools", "tool_choice", "functions", "function_call")) {
            JsonNode v = body.get(unsupported);
            if (v != null && !v.isNull() && !(v.isArray() && v.isEmpty()) && !(v.isTextual() && v.asText().equals("none"))) {
                throw ApiException.badRequest(unsupported, "'" + unsupported + "' (tool calling) is not supported yet");
            }
        }
        boolean stream = bool(body, "stream", false);
        JsonNode streamOptions = body.get("stream_options");
        boolean includeUsage = stream && streamOptions != null && streamOptions.isObject() && bool(streamOptions, "include_usage", false);

        int maxTokens = chat ? -1 : 16;
        for (String name : List.of("max_tokens", "max_completion_tokens")) {
            Long v = integer(body, name);
            if (v != null) {
                if (v < 0 || v > Integer.MAX_VALUE) {
                    throw ApiException.badRequest(name, "'" + name + "' is " + v + "; expected a number >= 0");
                }
                maxTokens = v.intValue();
            }
        }
        SamplingParams d = SamplingParams.defaults();
        Long topK = integer(body, "top_k");
        Long seed = integer(body, "seed");
        SamplingParams sampling = new SamplingParams(
                number(body, "temperature", d.temperature()),
                topK == null ? d.topK() : (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, topK)),
                number(body, "top_p", d.topP()),
                number(body, "min_p", d.minP()),
                number(body, "repeat_penalty", d.repeatPenalty()),
                d.repeatLastN(),
                seed == null ? d.seed() : seed);
        List<String> stops = new ArrayList<>(stopStrings(body));

        String prompt;
        if (chat) {
            prompt = renderChat(body);
            stops.addAll(template.stopStrings());
        } else {
            prompt = promptText(body);
        }
        GenerationRequest req = new GenerationRequest(prompt, maxTokens, sampling, List.copyOf(stops), true, true);
        int[] ids;
        try {
            ids = generator.tokenizePrompt(req, config.contextLength());
        } catch (ArgonException e) {
            throw ApiException.badRequest(null, openAiNames(e.getMessage()));
        }

        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(randomBytes());
        long now = System.currentTimeMillis() / 1000;
        String object = chat ? (stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";
        try (SlotScheduler.Slot slot = scheduler.acquire()) {
            if (!stream) {
                GenerationResult r = generator.generate(req, ids, config.contextLength(), s -> { }, () -> abortAll);
                ObjectNode out = header(id, object, now);
                ObjectNode choice = out.putArray("choices").addObject();
                choice.put("index", 0);
                if (chat) {
                    choice.putObject("message").put("role", "assistant").put("content", r.text());
                } else {
                    choice.put("text", r.text());
                }
                choice.putNull("logprobs");
                choice.put("finish_reason", r.finishReason().openAiName());
                out.set("usage", usage(r));
                json(ctx, 200, out);
                return;
            }
            ctx.status(200);
            ctx.res().setContentType("text/event-stream; charset=utf-8");
            ctx.res().setHeader("Cache-Control", "no-cache");
            OutputStream os = ctx.res().getOutputStream();
            AtomicBoolean gone = new AtomicBoolean();
            Consumer<ObjectNode> send = node -> sse(os, gone, serialize(node));
            if (chat) {
                send.accept(chunk(id, object, now, chat, "", true, null));
            }
            GenerationResult r = generator.generate(req, ids, config.contextLength(),
                    piece -> send.accept(chunk(id, object, now, chat, piece, false, null)),
                    () -> gone.get() || abortAll);
            if (gone.get()) {
                cancelled.incrementAndGet();
                return; // the client went away: nothing more to say
            }
            send.accept(chunk(id, object, now, chat, chat ? null : "", false, r.finishReason().openAiName()));
            if (includeUsage) {
                ObjectNode u = header(id, object, now);
                u.putArray("choices");
                u.set("usage", usage(r));
                send.accept(u);
            }
            sse(os, gone, "[DONE]");
        }
    }

    // ---- request parsing ----

    private String renderChat(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray()) {
            throw ApiException.badRequest("messages", "'messages' must be an array of messages");
        }
        if (messages.isEmpty()) {
            throw ApiException.badRequest("messages", "'messages' is empty; at least one message is required");
        }
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String param = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.badRequest(param, param + " must be an object with 'role' and 'content'");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.badRequest(param + ".role", param + ".role must be a string");
            }
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", role.textValue());
            map.put("content", content(m.get("content"), param + ".content"));
            list.add(map);
        }
        String text;
        try {
            text = template.render(list, null, true, Map.of());
        } catch (ArgonException e) {
            throw ApiException.badRequest("messages", e.getMessage());
        }
        // templates write bos_token themselves; the tokenizer adds BOS too, so drop the written one
        String bos = template.bosToken();
        if (tokenizerAddsBos && !bos.isEmpty() && text.startsWith(bos)) {
            text = text.substring(bos.length());
        }
        return text;
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
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.badRequest(param, param + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                }
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

    private static JsonNode body(Context ctx) {
        JsonNode node;
        try {
            node = JSON.readTree(ctx.body());
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw ApiException.badRequest(null, "the request body must be a JSON object");
        }
        return node;
    }

    private static boolean bool(JsonNode body, String name, boolean dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiException.badRequest(name, "'" + name + "' must be true or false");
        }
        return v.booleanValue();
    }

    private static String string(JsonNode body, String name, String dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw ApiException.badRequest(name, "'" + name + "' must be a string");
        }
        return v.textValue();
    }

    private static float number(JsonNode body, String name, float dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiException.badRequest(name, "'" + name + "' must be a number");
        }
        return v.floatValue();
    }

    private static Long integer(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.longValue();
        }
        if (v.isNumber() && v.doubleValue() == Math.rint(v.doubleValue()) && Math.abs(v.doubleValue()) < 9e15) {
            return (long) v.doubleValue();
        }
        throw ApiException.badRequest(name, "'" + name + "' must be an integer");
    }

    /** Library parameter names in messages → the API's names. */
    private static String openAiNames(String message) {
        return message.replaceAll("\\btopK\\b", "top_k").replaceAll("\\btopP\\b", "top_p").replaceAll("\\bminP\\b", "min_p")
                .replaceAll("\\brepeatPenalty\\b", "repeat_penalty").replace("(-c)", "(--ctx-size of the server)")
                .replace("number of tokens to generate (-n)", "max_tokens");
    }

    // ---- responses ----

    private ObjectNode header(String id, String object, long now) {
        ObjectNode out = JSON.createObjectNode();
        out.put("id", id).put("object", object).put("created", now).put("model", config.modelId());
        return out;
    }

    private ObjectNode chunk(String id, String object, long now, boolean chat, String text, boolean role, String finish) {
        ObjectNode out = header(id, object, now);
        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (role) {
                delta.put("role", "assistant");
            }
            if (text != null) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        return out;
    }

    private static ObjectNode usage(GenerationResult r) {
        int p = r.promptTokens().length;
        int c = r.generatedTokens().length;
        return JSON.createObjectNode().put("prompt_tokens", p).put("completion_tokens", c).put("total_tokens", p + c);
    }

    private static void sse(OutputStream os, AtomicBoolean gone, String data) {
        if (gone.get()) {
            return;
        }
        try {
            os.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
            os.flush();
        } catch (IOException e) {
            gone.set(true);
        }
    }

    private static String serialize(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void json(Context ctx, int status, JsonNode node) {
        ctx.status(status).contentType("application/json").result(serialize(node));
    }

    private static void error(Context ctx, ApiException e) {
        ObjectNode err = JSON.createObjectNode();
        ObjectNode inner = err.putObject("error");
        inner.put("message", e.getMessage());
        inner.put("type", e.type());
        inner.put("param", e.param());
        inner.put("code", e.code());
        json(ctx, e.status(), err);
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
