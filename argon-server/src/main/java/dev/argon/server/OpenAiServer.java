package dev.argon.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.chat.ChatTemplate;
import dev.argon.model.LanguageModel;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import java.io.IOException;
import java.net.BindException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible HTTP server for one model (Javalin on Jetty, JSON with Jackson): the
 * server's life cycle, its routes and their shared concerns (API key, errors, health, metrics).
 *
 * <p>Routes: {@code POST /v1/completions}, {@code POST /v1/chat/completions} ({@link ModelRoutes},
 * requests parsed by {@link RequestParser}), {@code GET /v1/models} (and {@code /v1/models/ID}), {@code POST /tokenize},
 * {@code POST /detokenize}, {@code POST /apply-template}, {@code GET /health}, {@code GET /metrics} ({@link ServerMetrics}),
 * llama.cpp's {@code GET /props} and {@code /slots} ({@link LlamaCppRoutes}), Ollama's {@code /api/chat},
 * {@code /api/generate}, {@code /api/tags}, {@code /api/show}, {@code /api/version} ({@link OllamaRoutes}); CORS ({@link Cors});
 * the chat page at {@code /} ({@link ChatPage}).
 * Errors are OpenAI error objects, never stack traces. Generations run on an {@link Engine}.
 *
 * <p>Life cycle: {@link #start()} binds the port; until {@link #ready} hands over the model,
 * {@code /health} answers 503 {@code {"status":"loading"}} and the model routes 503. The
 * {@linkplain #OpenAiServer(LanguageModel, ChatTemplate, ServerConfig) three-argument
 * constructor} is ready at once. {@link #stop} drains: new generations get 503, running ones get
 * a grace period, then the HTTP server stops.
 *
 * <p>HTTP: requests are handled on virtual threads, so clients that send half a request and stall
 * (slowloris) hold no platform thread and cannot starve the others; a connection idle for
 * {@link #IDLE_TIMEOUT} is closed. A wrong method on a known route is 405 with an {@code Allow}
 * header; a 503 that is worth retrying soon (over capacity, model loading) carries
 * {@code Retry-After}.
 */
public final class OpenAiServer implements AutoCloseable {
    /** A connection with no traffic for this long is closed (Jetty's idle timeout; it also bounds a stalled request upload). */
    public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(15);

    /** Seconds a client should wait before retrying a 503 for load or loading ({@code Retry-After}). */
    static final int RETRY_AFTER_SECONDS = 1;

    /**
     * The server could not listen on its host and port (the port is taken, the host is not an
     * address of this machine or cannot be resolved, ...); the message says which, in one line.
     */
    public static final class ListenException extends RuntimeException {
        private final boolean badHost;

        ListenException(String message, Throwable cause) {
            this(message, cause, false);
        }

        ListenException(String message, Throwable cause, boolean badHost) {
            super(message, cause);
            this.badHost = badHost;
        }

        /** @return whether the host itself is wrong (not an address, unknown, not this machine's): a user mistake */
        public boolean badHost() {
            return badHost;
        }
    }

    private static final Set<String> ROUTES = Set.of("/v1/completions", "/v1/chat/completions", "/v1/models",
            "/v1/models/{model}", "/tokenize", "/detokenize", "/apply-template", "/health", "/metrics", "/props", "/slots",
            "/watermark/detect", "/v1/rerank", "/rerank", "/v1/embeddings", "/embeddings",
            "/api/chat", "/api/generate", "/api/embed", "/api/tags", "/api/show", "/api/version", "/", "/ui/chat.js", "/ui/chat.css");

    /** Request attribute: tokens a generation route processed (prompt and generated), for the access log. */
    static final String TOKENS_ATTRIBUTE = "argon.tokens";

    private enum State { LOADING, READY, STOPPING }

    private final ServerConfig config;
    private final ServerMetrics metrics;
    private final long created = System.currentTimeMillis() / 1000;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger cancelled = new AtomicInteger();
    private volatile State state = State.LOADING;
    private volatile ModelRoutes routes;
    private volatile ToolRoutes tools;
    private volatile OllamaRoutes ollama;
    private volatile boolean abortAll;
    private Javalin app;
    private volatile Consumer<String> accessLog;

    /** A server without a model yet: {@link #start()} it, then hand the model over with {@link #ready}. */
    public OpenAiServer(ServerConfig config) {
        this.config = config;
        this.metrics = new ServerMetrics(() -> routes == null ? null : routes.engine().stats(),
                () -> routes == null ? null : routes.engine().paging());
    }

    /**
     * A server ready to serve {@code model} on a {@link BatchingEngine} with the slots, queue and
     * context of {@code config}.
     *
     * @param model the model (shared by all slots; each generation has its own state)
     * @param template the chat template for {@code /v1/chat/completions}
     */
    public OpenAiServer(LanguageModel model, ChatTemplate template, ServerConfig config) {
        this(config);
        ready(model, template, BatchingEngine.of(model, config));
    }

    /**
     * Hands over the loaded model: from now on the model routes serve and {@code /health} says ok.
     * The server owns {@code engine} from here on and closes it when it stops.
     *
     * @return this server
     * @throws IllegalStateException if the server is already ready or stopping
     */
    public synchronized OpenAiServer ready(LanguageModel model, ChatTemplate template, Engine engine) {
        if (state != State.LOADING) {
            engine.close();
            throw new IllegalStateException("the server is " + state.name().toLowerCase() + "; cannot take a model now");
        }
        tools = new ToolRoutes(model, config.modelId(), engine.contextLength());
        ModelRoutes r = new ModelRoutes(model.tokenizer(), template, engine, config, metrics, () -> abortAll, cancelled);
        long size = model.weightBytes();
        if (config.modelPath() != null) {
            try {
                size = java.nio.file.Files.size(java.nio.file.Path.of(config.modelPath()));
            } catch (IOException | RuntimeException e) {
                // the weights' size then
            }
        }
        ollama = new OllamaRoutes(r, config, model.config().architecture(), model.parameterCount(), size, () -> abortAll);
        routes = r;
        state = State.READY;
        return this;
    }

    /**
     * Sends one line per answered request to {@code log}: method, path, status, tokens (prompt
     * plus generated, for generations) and milliseconds, such as
     * {@code POST /v1/chat/completions 200 41 tokens 182 ms}. Call before {@link #start()}.
     *
     * @return this server
     */
    public OpenAiServer onAccessLog(Consumer<String> log) {
        this.accessLog = log;
        return this;
    }

    /**
     * Binds the port and starts serving.
     *
     * @return this server
     * @throws ListenException if the host and port cannot be bound (nothing is logged; the message says why)
     */
    public synchronized OpenAiServer start() {
        if (app != null) {
            throw new IllegalStateException("already started");
        }
        Javalin a = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
            cfg.useVirtualThreads = true;
            cfg.http.disableCompression();
            cfg.http.prefer405over404 = true;
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
            cfg.jetty.addConnector(this::connector);
            cfg.requestLogger.http((ctx, ms) -> {
                metrics.request(routeLabel(ctx), ctx.statusCode(), ms);
                Consumer<String> log = accessLog;
                if (log != null) {
                    Object tokens = ctx.attribute(TOKENS_ATTRIBUTE);
                    log.accept(String.format(Locale.ROOT, "%s %s %d%s %.0f ms", ctx.method(), ctx.path(), ctx.statusCode(),
                            tokens == null ? "" : " " + tokens + " tokens", ms));
                }
            });
        });
        Cors cors = new Cors(config.corsOrigins());
        a.before(cors::headers);
        if (cors.enabled()) {
            a.options("/*", cors::preflight);
        }
        a.before(ctx -> {
            if (!(cors.enabled() && ctx.method() == io.javalin.http.HandlerType.OPTIONS) && !ChatPage.serves(ctx.path())) {
                authorize(ctx);
            }
        });
        a.get("/health", this::health);
        a.get("/metrics", ctx -> ctx.status(200).contentType(ServerMetrics.CONTENT_TYPE).result(metrics.scrape()));
        a.get("/v1/models", this::models);
        a.get("/v1/models/{model}", this::model);
        a.post("/v1/completions", generation(ctx -> loaded().completion(ctx, false)));
        a.post("/v1/chat/completions", generation(ctx -> loaded().completion(ctx, true)));
        ChatPage page = new ChatPage();
        for (String path : ChatPage.FILES.keySet()) {
            a.get(path, page::serve);
        }
        a.get("/api/version", ctx -> Json.send(ctx, 200, OllamaRoutes.version()));
        a.get("/api/tags", ollama(ctx -> Json.send(ctx, 200, ollamaRoutes().tags())));
        a.post("/api/show", ollama(ctx -> Json.send(ctx, 200, ollamaRoutes().show(ctx))));
        a.post("/api/chat", ollama(generation(ctx -> ollamaRoutes().chat(ctx))));
        a.post("/api/generate", ollama(generation(ctx -> ollamaRoutes().generate(ctx))));
        a.post("/api/embed", ollama(generation(ctx -> Json.send(ctx, 200, tools().ollamaEmbed(ctx)))));
        a.get("/props", ctx -> Json.send(ctx, 200, LlamaCppRoutes.props(config, loaded())));
        a.get("/slots", ctx -> Json.send(ctx, 200, LlamaCppRoutes.slots(config, loaded())));
        a.post("/tokenize", guarded(ctx -> loaded().tokenize(ctx)));
        a.post("/detokenize", guarded(ctx -> loaded().detokenize(ctx)));
        a.post("/apply-template", guarded(ctx -> loaded().applyTemplate(ctx)));
        a.post("/watermark/detect", guarded(ctx -> loaded().watermarkDetect(ctx)));
        for (String path : new String[] {"/v1/rerank", "/rerank"}) {
            a.post(path, generation(ctx -> tools().rerank(ctx)));
        }
        for (String path : new String[] {"/v1/embeddings", "/embeddings"}) {
            a.post(path, generation(ctx -> tools().embeddings(ctx)));
        }
        a.exception(ApiException.class, (e, ctx) -> error(ctx, e));
        a.exception(HttpResponseException.class, (e, ctx) -> {
            String message = e.getMessage();
            if (e.getStatus() == 404) {
                message = unknownRoute(ctx);
            } else if (e.getStatus() == 405) {
                String allow = e.getDetails().getOrDefault("availableMethods", "");
                ctx.header("Allow", allow);
                message = "method " + ctx.method() + " is not allowed on " + ctx.path() + "; use " + allow.replace(", ", " or ");
            }
            error(ctx, new ApiException(e.getStatus(), e.getStatus() < 500 ? "invalid_request_error" : "server_error", null, null, message));
        });
        a.exception(Exception.class, (e, ctx) -> error(ctx, new ApiException(500, "server_error", null, null,
                "internal error: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()))));
        a.error(404, ctx -> {
            String res = ctx.result();
            if (res == null || !res.contains("\"error\"")) {
                error(ctx, new ApiException(404, "invalid_request_error", null, null, unknownRoute(ctx)));
            }
        });
        a.start(); // on the connector made by connector(), already bound
        app = a;
        return this;
    }

    /**
     * The HTTP connector on the configured host and port, bound here, before Javalin starts Jetty,
     * so that a taken port or a bad host is one {@link ListenException} instead of a logged
     * start-up failure.
     */
    /** Connections the kernel may hold before the server accepts them (capped by net.core.somaxconn). */
    static final int ACCEPT_QUEUE = 1024;

    private ServerConnector connector(Server server, HttpConfiguration http) {
        ServerConnector c = new ServerConnector(server, new HttpConnectionFactory(http));
        c.setHost(config.host());
        c.setPort(config.port());
        c.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        // a burst of connections waits in the kernel's accept queue instead of being dropped there
        // (the JVM's default backlog is 50); those beyond --queue then get their 503 from us
        c.setAcceptQueueSize(ACCEPT_QUEUE);
        try {
            c.open();
        } catch (IOException | RuntimeException e) {
            throw listenError(e);
        }
        return c;
    }

    private ListenException listenError(Exception e) {
        String host = config.host();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException || t instanceof java.net.UnknownHostException) {
                return new ListenException("cannot listen on host '" + host + "': it is not an IP address or a known host name", e, true);
            }
            if (t instanceof BindException b) {
                String why = b.getMessage() == null ? "" : b.getMessage();
                if (why.contains("in use")) {
                    return new ListenException("port " + config.port() + " on " + host + " is already in use", e);
                }
                if (why.contains("assign requested address")) {
                    return new ListenException("cannot listen on host '" + host + "': it is not an address of this machine", e, true);
                }
                return new ListenException("cannot listen on " + host + ":" + config.port() + ": " + why, e);
            }
        }
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return new ListenException("cannot listen on " + host + ":" + config.port() + ": "
                + (root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage()), e);
    }

    /** @return the bound port */
    public int port() {
        return app.port();
    }

    /** @return the base URL, such as {@code http://127.0.0.1:8080} */
    public String url() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + host + ":" + port();
    }

    /** @return how many generation requests (streaming or not) stopped because their client disconnected */
    public int cancelledGenerations() {
        return cancelled.get();
    }

    /** @return the engine's load, or null while the model is loading */
    public Engine.Stats stats() {
        ModelRoutes r = routes;
        return r == null ? null : r.engine().stats();
    }

    /**
     * Stops gracefully: {@code /health} says stopping, new generation requests get 503, running
     * ones may finish within {@code timeout}; after it they are cancelled. Then the HTTP server
     * stops and the engine is closed.
     */
    public void stop(Duration timeout) {
        Javalin a;
        synchronized (this) {
            if (state == State.STOPPING) {
                return;
            }
            state = State.STOPPING;
            a = app;
        }
        ModelRoutes waiting = routes;
        if (waiting != null) {
            waiting.engine().refuseWaiting();
        }
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
        if (a != null) {
            a.stop();
        }
        ModelRoutes r = routes;
        if (r != null) {
            r.engine().close();
        }
    }

    /** Stops with a 30-second grace period. */
    @Override
    public void close() {
        stop(Duration.ofSeconds(30));
    }

    // ---- shared concerns ----

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

    private ToolRoutes tools() {
        loaded();
        return tools;
    }

    private ModelRoutes loaded() {
        ModelRoutes r = routes;
        if (r == null) {
            throw new ApiException(503, "server_error", null, "model_loading", "the model is still loading; retry in a moment (GET /health says when it is ready)");
        }
        return r;
    }

    private OllamaRoutes ollamaRoutes() {
        loaded();
        return ollama;
    }

    /** Ollama's error form for its routes: {@code {"error": "message"}} with the status of the {@link ApiException}. */
    private static Handler ollama(Handler h) {
        Handler g = guarded(h);
        return ctx -> {
            try {
                g.handle(ctx);
            } catch (ApiException e) {
                if (e.status() == 503 && ("server_busy".equals(e.code()) || "model_loading".equals(e.code()))) {
                    ctx.header("Retry-After", Integer.toString(RETRY_AFTER_SECONDS));
                }
                Json.send(ctx, e.status(), Json.object().put("error", e.getMessage()));
            }
        };
    }

    /** Counts the request for the drain in {@link #stop}; refuses it once stopping; turns running out of memory into a 503. */
    private Handler generation(Handler h) {
        return ctx -> {
            inFlight.incrementAndGet();
            try {
                if (state == State.STOPPING) {
                    throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
                }
                guarded(h).handle(ctx);
            } finally {
                inFlight.decrementAndGet();
            }
        };
    }

    /**
     * Turns an {@link Error} in a handler into an OpenAI error object (Javalin maps exceptions
     * only): running out of memory is 503, anything else (such as a fault reading a truncated
     * model file) 500.
     */
    private static Handler guarded(Handler h) {
        return ctx -> {
            try {
                h.handle(ctx);
            } catch (OutOfMemoryError e) {
                throw new ApiException(503, "server_error", null, "out_of_memory",
                        "the server ran out of memory for this request; retry later or with a shorter prompt");
            } catch (Error e) {
                throw new ApiException(500, "server_error", null, "internal_error",
                        "internal error: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
            }
        };
    }

    /**
     * {@code /health}, as llama.cpp's server: 503 {@code loading} while the model loads, 200
     * {@code ok} with a free slot, 200 {@code busy} when every slot is generating (503 with
     * {@code ?fail_on_no_slot}), 503 {@code stopping} once a shutdown began, 503 {@code error}
     * with a {@code message} once the engine failed for good (the model cannot be run).
     */
    private void health(Context ctx) {
        State s = state;
        ModelRoutes r = routes;
        if (s == State.STOPPING) {
            Json.send(ctx, 503, Json.object().put("status", "stopping"));
            return;
        }
        if (s == State.LOADING || r == null) {
            Json.send(ctx, 503, Json.object().put("status", "loading"));
            return;
        }
        String failed = r.engine().failure();
        if (failed != null) {
            Json.send(ctx, 503, Json.object().put("status", "error").put("message", failed));
            return;
        }
        Engine.Stats st = r.engine().stats();
        ObjectNode out = Json.object().put("status", st.full() ? "busy" : "ok")
                .put("slots_idle", Math.max(0, st.slots() - st.activeSequences()))
                .put("slots_processing", st.activeSequences())
                .put("requests_queued", st.queuedRequests());
        Json.send(ctx, st.full() && ctx.queryParam("fail_on_no_slot") != null ? 503 : 200, out);
    }

    private void models(Context ctx) {
        ObjectNode list = Json.object().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (String name : config.modelNames()) {
            data.add(modelObject(name));
        }
        Json.send(ctx, 200, list);
    }

    private void model(Context ctx) {
        String asked = ctx.pathParam("model");
        RequestParser.checkModel(Json.object().put("model", asked), config.modelNames());
        String name = config.modelNames().stream().filter(n -> RequestParser.serves(List.of(n), asked)).findFirst().orElse(config.modelId());
        Json.send(ctx, 200, modelObject(name));
    }

    private ObjectNode modelObject(String name) {
        return Json.object().put("id", name).put("object", "model").put("created", created).put("owned_by", "argon");
    }

    /** The route for metrics (also for a wrong method on it); anything unknown is {@code other} (bounded label values). */
    private static String routeLabel(Context ctx) {
        String p;
        try {
            p = ctx.endpointHandlerPath();
        } catch (RuntimeException e) {
            p = null;
        }
        if (p == null || !ROUTES.contains(p)) {
            p = ctx.path(); // no handler matched (e.g. a wrong method, 405): still a known route's path
        }
        return ROUTES.contains(p) ? p : "other";
    }

    private static String unknownRoute(Context ctx) {
        return "unknown route: " + ctx.method() + " " + ctx.path();
    }

    private static void error(Context ctx, ApiException e) {
        if (e.status() == 503 && ("server_busy".equals(e.code()) || "model_loading".equals(e.code()))) {
            ctx.header("Retry-After", Integer.toString(RETRY_AFTER_SECONDS));
        }
        Json.send(ctx, e.status(), Responses.error(e));
    }
}
