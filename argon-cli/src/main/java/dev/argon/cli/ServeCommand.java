package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationRequest;
import dev.argon.gguf.GgufFile;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.server.OpenAiServer;
import dev.argon.server.ServerConfig;
import dev.argon.server.BatchingEngine;
import dev.argon.server.RewardEngine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code argon serve}: an OpenAI-compatible HTTP server for one model (see {@link OpenAiServer}).
 * Binds to loopback by default and prints its URL on standard error; the port is bound before
 * the model loads ({@code /health} answers 503 "loading" meanwhile). Up to {@code --parallel}
 * sequences run in one batched forward pass per step (continuous batching, {@link BatchingEngine}),
 * each with its own KV cache; further requests wait in a bounded queue. SIGTERM/Ctrl-C stops it
 * gracefully and exits 0. When the port is taken or cannot be bound it prints one line saying so and
 * exits 1; a {@code --host} that is no address of this machine is a usage error (exit 2).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Serve a model over an OpenAI-compatible HTTP API, with continuous batching.",
                "Routes: /v1/completions, /v1/chat/completions, /v1/models, /tokenize, /detokenize, /props, /slots, /health, /metrics;"
                        + " Ollama's /api/chat, /api/generate, /api/tags, /api/show, /api/version; a chat page at /. "
                        + "The sampling flags are the defaults of requests that omit them. "
                        + "Runs until SIGTERM or Ctrl-C."})
final class ServeCommand implements Callable<Integer> {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 = every interface).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "TCP port; 0 = any free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = {"--parallel", "-np"}, paramLabel = "N", defaultValue = "4",
            description = "Sequences generating at the same time, batched into one forward pass per step (continuous batching),"
                    + " each with its own KV cache of -c tokens (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = {"--no-prefix-cache", "--no-prefix-caching"},
            description = "Do not reuse cached prompt prefixes for new requests (multi-turn chat and shared system prompts;"
                    + " reuse skips recomputing them and never changes the output).")
    boolean noPrefixCache;

    @Option(names = "--ban-string", paramLabel = "TEXT",
            description = "Never emit this text in any answer (backtracking; requests may add their own 'banned_strings'); repeatable.")
    List<String> banStrings = List.of();

    @Option(names = "--enable-prefix-caching", hidden = true, description = "Prefix caching is on by default (vLLM's flag, accepted).")
    boolean enablePrefixCaching;

    @Option(names = "--kv-block-size", paramLabel = "N", defaultValue = "16",
            description = "Tokens per block of the KV pool shared by all slots (vLLM's --block-size): memory follows use and"
                    + " prefix caching shares full blocks by hash; 0 = one contiguous cache per slot (default: ${DEFAULT-VALUE}).")
    int kvBlockSize;

    @Option(names = "--kv-pool", paramLabel = "TOKENS", defaultValue = "0",
            description = "Tokens the shared KV pool may hold in all (default: -c x --parallel, so every slot can fill its context);"
                    + " a request that cannot get blocks waits, or fails with a clear error.")
    int kvPool;

    /** The load line of the paged KV pool: blocks, bytes at most, prefix caching; or why there is none. */
    private void printKvPool(LanguageModel model, int ctx, java.io.PrintStream err) {
        if (kvBlockSize == 0) {
            return;
        }
        if (run.contextPolicy.policy(model.tokenizer(), ctx).needsContiguousCache()) {
            err.println("argon: KV pool off: a context policy (--context-shift, --kv-sink, --kv-heavy, --kv-policy) moves or indexes rows,"
                    + " so each slot keeps a contiguous cache");
            return;
        }
        var c = model.config();
        dev.argon.kv.KvCache.Precision type = run.cachePrecision();
        long blocks = kvPool > 0 ? (kvPool + kvBlockSize - 1L) / kvBlockSize : (long) parallel * ((ctx + kvBlockSize - 1) / kvBlockSize);
        long perBlock = kvBlockSize * dev.argon.kv.KvCache.bytesPerToken(c.nLayers(), c.kvDim(), c.headDim(), type, type);
        err.printf(Locale.ROOT, "argon: KV pool: %d blocks of %d tokens (%.2f MiB at most), allocated on use; prefix caching %s%n",
                blocks, kvBlockSize, blocks * perBlock / 1048576.0, noPrefixCache ? "off" : "on");
    }

    @Option(names = "--queue", paramLabel = "N", defaultValue = "" + ServerConfig.DEFAULT_QUEUE_CAPACITY,
            description = "Requests that may wait for a free slot; more get HTTP 503 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--parse-special-in-content",
            description = "Let control-token text in chat messages (such as </s> or <|im_end|>) become control tokens. Unsafe with"
                    + " untrusted clients; by default message text is always plain text and only the template writes control tokens.")
    boolean parseSpecialInContent;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require 'Authorization: Bearer KEY' on every route but /health"
            + " (visible in ps: prefer --api-key-file or the ARGON_API_KEY environment variable).")
    String apiKey;

    @Option(names = "--api-key-file", paramLabel = "FILE",
            description = "Read the API key from the first line of FILE (trimmed; not with --api-key). Either wins over "
                    + "the environment variable " + API_KEY_ENV + ".")
    Path apiKeyFile;

    /** The environment variable that holds the API key when no flag gives one. */
    static final String API_KEY_ENV = "ARGON_API_KEY";

    /** The environment, replaced by tests. */
    java.util.function.UnaryOperator<String> environment = System::getenv;

    /** Context (-c, per slot), threads, KV cache type, arithmetic, and the sampling flags: the defaults of every request. */
    @Mixin
    RunOptions run;

    @Option(names = {"-a", "--alias"}, paramLabel = "NAME",
            description = "A model name clients may send (and /v1/models lists); repeatable. The first is the name the server reports.")
    List<String> aliases = new ArrayList<>();

    @Option(names = "--cors-origin", paramLabel = "ORIGIN",
            description = "Let web pages from ORIGIN (such as http://localhost:3000; * = any) call the API from a browser:"
                    + " CORS headers and OPTIONS preflights; repeatable.")
    List<String> corsOrigins = new ArrayList<>();

    @Mixin
    ChatTemplateOptions chatTemplate;

    /** The speculative decoding of requests without their own {@code speculative.*} fields. */
    @Mixin
    SpeculationOptions speculation;

    @Mixin
    RewardOptions reward;

    @Option(names = "--no-access-log", description = "Do not print a line per request (method, path, status, tokens, ms) to standard error.")
    boolean noAccessLog;

    /** Set by tests: called with the started server instead of waiting for a signal. */
    java.util.function.Consumer<OpenAiServer> onStarted;

    /** Set by tests: called once the port is bound, before the model loads. */
    java.util.function.Consumer<OpenAiServer> onListening;

    /**
     * Serves until stopped.
     *
     * @return the exit code: 0 after a graceful stop, 1 when the port cannot be bound
     */
    @Override
    public Integer call() {
        PrintStream err = parent.streams().err();
        if (parallel < 1) {
            throw new ArgonException("--parallel is " + parallel + "; expected at least 1");
        }
        if (kvBlockSize < 0 || kvBlockSize > 4096) {
            throw new ArgonException("--kv-block-size is " + kvBlockSize + "; expected 1 to 4096 tokens, or 0 for a contiguous cache per slot");
        }
        if (kvPool < 0) {
            throw new ArgonException("--kv-pool is " + kvPool + "; expected a number of tokens, or 0 for -c x --parallel");
        }
        if (queue < 0) {
            throw new ArgonException("--queue is " + queue + "; expected 0 or more");
        }
        if (port < 0 || port > 65535) {
            throw new ArgonException("--port is " + port + "; expected 0..65535");
        }
        RunOptions opts = run;
        // the sampling flags are the defaults of every request: checked here, naming the flags
        opts.validate(new GenerationRequest("", 1, opts.sampling(), List.of(), true, false));
        var spec = speculation.defaults();
        SpeculationOptions.checkPolicy(spec, run.contextPolicy);
        reward.validate();
        for (String a : aliases) {
            if (a.isBlank()) {
                throw new ArgonException("--alias is empty; expected a model name");
            }
        }
        for (String o : corsOrigins) {
            if (!o.equals("*") && !o.matches("(?i)https?://[^/\\s]+")) {
                throw new ArgonException("--cors-origin '" + o + "' is not an origin; expected scheme://host[:port] such as"
                        + " http://localhost:3000, or *");
            }
        }
        String key = apiKey();
        var precision = opts.cachePrecision();
        Path path = modelOption.resolve();
        String fileId = path.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
        String id = aliases.isEmpty() ? fileId : aliases.getFirst();
        List<String> otherNames = new ArrayList<>(aliases);
        otherNames.add(fileId);
        // Bind first, load after: /health says "loading" (503) meanwhile, as llama.cpp's server does.
        OpenAiServer server = new OpenAiServer(new ServerConfig(host, port, parallel, queue, 0, precision, key, id)
                .withAliases(otherNames).withCorsOrigins(corsOrigins).withDefaultSampling(opts.sampling())
                .withModelPath(path.toString()));
        if (!noAccessLog) {
            server.onAccessLog(line -> err.println("argon: " + line));
        }
        try {
            server.start();
        } catch (OpenAiServer.ListenException e) {
            if (e.badHost()) { // a mistyped --host is the user's, not the machine's: exit 2
                throw new ArgonException("--host " + e.getMessage().replaceFirst("^cannot listen on host ", ""));
            }
            err.println("argon: error: " + e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            throw new ArgonException("cannot listen on " + host + ":" + port + ": " + rootMessage(e));
        }
        err.println("argon: listening at " + server.url() + "; loading " + path.getFileName());
        if (onListening != null) {
            onListening.accept(server);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean signalled = new AtomicBoolean();
        if (onStarted == null) {
            // SIGTERM / SIGINT: a graceful stop, after which the command returns and the process
            // exits 0 (a JVM shutdown hook would exit 143). A second signal exits at once.
            Runnable graceful = () -> {
                if (!signalled.compareAndSet(false, true)) {
                    Runtime.getRuntime().halt(130);
                }
                Thread.ofPlatform().name("argon-serve-shutdown").start(() -> {
                    err.println("argon: stopping: finishing running requests (up to 30 s)");
                    server.stop(Duration.ofSeconds(30));
                    stopped.countDown();
                });
            };
            for (String name : new String[]{"TERM", "INT"}) {
                try {
                    sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> graceful.run());
                } catch (IllegalArgumentException unsupported) {
                    // this platform does not deliver that signal to Java; the JVM default applies
                }
            }
        }
        long loadStart = System.nanoTime();
        LanguageModel model = null;
        LanguageModel draftModel = null;
        List<LanguageModel> rewardModels = new ArrayList<>();
        int ctx;
        try {
            model = Models.load(path, opts.modelOptions());
            ChatTemplate template;
            try (GgufFile file = GgufFile.open(path)) {
                template = chatTemplate.apply(ChatTemplate.fromGguf(file, model.tokenizer()));
            }
            if (parseSpecialInContent) {
                template = template.withSpecialTokensInContent();
                err.println("argon: warning: --parse-special-in-content: control-token text in chat messages becomes control"
                        + " tokens; a client can end its turn or forge other roles (unsafe with untrusted clients)");
            }
            ctx = opts.contextFor(model, parallel, err);
            if (ctx < 2) {
                throw new ArgonException("context size (-c) is " + ctx + "; expected at least 2");
            }
            if (reward.active() && opts.contextPolicy.policy(model.tokenizer(), ctx).unbounded()) {
                throw new ArgonException("--reward-model cannot be combined with a context shift, sinks + window or H2O yet");
            }
            if (spec.active() && model instanceof dev.argon.model.TextEncoder) {
                throw new ArgonException("--spec/-md: this model (" + model.config().architecture() + ") is a text encoder for embeddings;"
                        + " it generates no text to speculate on");
            }
            if (!banStrings.isEmpty() && (reward.active() || opts.contextPolicy.policy(model.tokenizer(), ctx).unbounded())) {
                throw new ArgonException("--ban-string cannot be combined with --reward-model, a context shift, sinks + window or H2O");
            }
            if (!banStrings.isEmpty() && spec.active()) { // the scheduler does not speculate on a backtracking sequence
                throw new ArgonException("--ban-string cannot be combined with speculative decoding (--spec, -md)");
            }
            if (reward.active() && spec.active()) {
                throw new ArgonException("--reward-model cannot be combined with speculative decoding (--spec, -md)");
            }
            if (reward.active()) {
                // GenARM: every request is steered, one generation at a time (the reward models run beside the base)
                server.ready(model, template, new RewardEngine(opts.generator(model, ctx)
                        .withRewards(reward.load(opts.modelOptions(), rewardModels)), ctx, queue));
            } else {
                BatchingEngine engine = new BatchingEngine(model, new dev.argon.generate.BatchScheduler.Options(parallel, ctx,
                        precision, queue, BatchingEngine.STEP_TOKENS, !noPrefixCache, opts.contextPolicy.policy(model.tokenizer(), ctx))
                        .paged(kvBlockSize, kvPool));
                if (spec.mode() == dev.argon.generate.SpeculationParams.Mode.DRAFT) {
                    draftModel = Models.load(speculation.draftModel, opts.modelOptions());
                    engine.withSpeculation(spec, dev.argon.generate.DraftModelProposer.factory(model, draftModel, ctx, precision,
                            spec.pMin()));
                } else {
                    engine.withSpeculation(spec, null);
                }
                engine.withBannedStrings(banStrings);
                engine.onFailure(message -> err.println("argon: error: " + message
                        + "; requests fail (500/503) and /health says 503 until the server is restarted"));
                server.ready(model, template, engine);
            }
        } catch (RuntimeException | Error e) {
            if (signalled.get()) {
                return 0; // stopped by a signal while loading
            }
            server.stop(Duration.ZERO);
            if (model != null) {
                model.close();
            }
            if (draftModel != null) {
                draftModel.close();
            }
            rewardModels.forEach(LanguageModel::close);
            throw e;
        }
        try {
            err.printf(Locale.ROOT, "argon: %s (%s, %d parameters) loaded in %.2f s, context %d per slot, %d slot%s, %d threads%n",
                    path.getFileName(), model.config().architecture(), model.parameterCount(),
                    (System.nanoTime() - loadStart) / 1e9, ctx, parallel, parallel == 1 ? "" : "s", opts.threadCount());
            opts.printKvCache(model, ctx, parallel, err);
            if (reward.active()) {
                reward.printLoaded(err);
                err.printf(Locale.ROOT, "argon: every request is steered by %d reward model%s (GenARM, beta %s), one at a time%n",
                        rewardModels.size(), rewardModels.size() == 1 ? "" : "s", reward.beta());
            } else if (!(model instanceof dev.argon.model.TextEncoder)) {
                printKvPool(model, ctx, err);
            }
            err.println("argon: serving " + id + " at " + server.url() + "/v1 (OpenAI-compatible; Ctrl-C to stop)");
            if (onStarted != null) {
                onStarted.accept(server);
                server.stop(Duration.ofSeconds(5));
                return 0;
            }
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        } finally {
            if (onStarted != null) {
                model.close();
                if (draftModel != null) {
                    draftModel.close();
                }
                rewardModels.forEach(LanguageModel::close);
            }
        }
    }

    /**
     * The API key: {@code --api-key}, else the first line of {@code --api-key-file} (trimmed),
     * else {@value #API_KEY_ENV}; null for none.
     *
     * @throws ArgonException if the one given is empty, or the file is missing or unreadable
     */
    /** The largest API key file read, in bytes. */
    static final int MAX_KEY_FILE_BYTES = 64 * 1024;

    String apiKey() {
        if (apiKey != null && apiKeyFile != null) {
            throw new ArgonException("give the API key either with --api-key or with --api-key-file, not both");
        }
        if (apiKey != null) {
            if (apiKey.isBlank()) {
                throw new ArgonException("--api-key is empty");
            }
            return apiKey;
        }
        if (apiKeyFile != null) {
            String first;
            if (!java.nio.file.Files.isRegularFile(apiKeyFile) && java.nio.file.Files.exists(apiKeyFile)) {
                throw new ArgonException("--api-key-file " + apiKeyFile + ": not a regular file");
            }
            try (java.io.InputStream in = java.nio.file.Files.newInputStream(apiKeyFile)) {
                byte[] head = in.readNBytes(MAX_KEY_FILE_BYTES + 1);
                if (head.length > MAX_KEY_FILE_BYTES) {
                    throw new ArgonException("--api-key-file " + apiKeyFile + ": larger than " + MAX_KEY_FILE_BYTES
                            + " bytes; expected a file holding the API key on its first line");
                }
                first = java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(head))
                        .toString().lines().findFirst().orElse(null);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new ArgonException("--api-key-file " + apiKeyFile + ": no such file");
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new ArgonException("--api-key-file " + apiKeyFile + ": not UTF-8 text");
            } catch (java.io.IOException e) {
                throw new ArgonException("--api-key-file " + apiKeyFile + ": cannot read it ("
                        + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
            }
            if (first == null || first.isBlank()) {
                throw new ArgonException("--api-key-file " + apiKeyFile + ": the first line is empty; expected the API key");
            }
            return first.strip();
        }
        String env = environment.apply(API_KEY_ENV);
        if (env != null) {
            if (env.isBlank()) {
                throw new ArgonException(API_KEY_ENV + " is set but empty; unset it or give the API key");
            }
            return env.strip();
        }
        return null;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
