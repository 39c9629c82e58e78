package dev.argon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.OfflineEngine;
import dev.argon.gguf.GgufFile;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.server.ApiException;
import dev.argon.server.BatchingEngine;
import dev.argon.server.CompletionApi;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code argon batch}: runs a whole file of requests offline with continuous batching and writes
 * one output row per request as it finishes.
 *
 * <p>Input: the OpenAI Batch API's JSON Lines ({@code custom_id}, {@code method} POST, {@code url}
 * {@code /v1/chat/completions} or {@code /v1/completions}, {@code body}), whose bodies are parsed and
 * answered exactly as {@code argon serve} does ({@link CompletionApi}); or plain text, one prompt
 * per line, run with {@code generate}'s flags (rows {@code line-N}). Output: the Batch API's rows
 * {@code {"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}}; a request
 * the server would refuse is a row with its 4xx status and error body; a line that is not a request
 * at all (bad JSON, no {@code custom_id}, a repeated one) is a row with {@code response} null and
 * {@code error} {@code {"code", "message", "line"}}. The run goes on after any row's error.
 *
 * <p>Resumable ({@link BatchOutput}): rows already in the output are skipped, so rerunning an
 * interrupted command finishes the file with every row exactly once.
 *
 * <p>{@code --engine local} (default) runs the rows on this process's {@link BatchingEngine};
 * {@code --engine NAME} runs their generations on an {@link OfflineEngine} found with
 * {@code ServiceLoader} ({@code spark} from argon-spark, {@code --master URL}), in jobs of
 * {@value #OFFLINE_CHUNK} rows; parsing, validation, tokenization and the response bodies stay
 * here, so both engines write the same rows.
 */
@Command(name = "batch", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = "Run a file of requests (OpenAI Batch API JSONL, or one prompt per line) with continuous batching;"
                + " output rows are appended as they finish, and a rerun resumes.")
final class BatchCommand implements Runnable {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String LOCAL = "local";
    private static final String DEFAULT_MASTER = "local[*]";
    /** What the error names when an engine's provider is not on the class path. */
    private static final String ENGINE_NEEDS = "argon-spark (argon-spark/target/argon-spark.jar) and Spark 4.2.0's jars"
            + " (see docs/batch.md, 'argon batch --engine spark')";
    /** --engine spark: default rows per Spark job ({@code --job-rows}); each job's rows are written when it ends. */
    static final int OFFLINE_CHUNK = 1024;

    /**
     * Hides the KV-policy flags (shared with generate through {@link RunOptions}) from {@code argon batch --help}: batch
     * refuses them, so its help should not describe them as working. They stay accepted, so that the refusal names them.
     *
     * @param batch this command's command line
     */
    static void hideRefusedOptions(picocli.CommandLine batch) {
        picocli.CommandLine.Model.CommandSpec spec = batch.getCommandSpec();
        for (picocli.CommandLine.Model.OptionSpec o : List.copyOf(spec.options())) {
            String n = o.longestName();
            if (n.equals("--context-shift") || n.equals("--keep") || n.startsWith("--kv-sink") || n.startsWith("--kv-window")
                    || n.startsWith("--kv-heavy") || n.startsWith("--kv-policy") || n.startsWith("--minicache-")
                    || n.startsWith("--kvmerger-") || n.startsWith("--sentencekv-")) {
                spec.remove(o);
                spec.addOption(o.toBuilder().hidden(true).build());
            }
        }
    }

    /** Input formats. */
    enum Format { auto, openai, text }

    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Mixin
    RunOptions run;

    @Mixin
    SpeculationOptions speculation;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "FILE",
            description = "Requests: OpenAI Batch API JSONL, or plain text with one prompt per line.")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE",
            description = "Output JSONL (OpenAI Batch API output rows), appended; rows already in it are skipped (resume).")
    Path output;

    @Option(names = "--input-format", paramLabel = "auto|openai|text", defaultValue = "auto",
            description = "auto: .jsonl/.json files are OpenAI Batch API requests, others plain text (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = {"-np", "--parallel"}, paramLabel = "N", defaultValue = "8",
            description = "Sequences generated together (continuous batching slots) (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "256",
            description = "Prompt tokens per forward pass, packed from several prompts (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--model-id", paramLabel = "ID",
            description = "The model id of the responses (and the 'model' requests may name) (default: the file name without .gguf).")
    String modelId;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "256",
            description = "Plain-text input: tokens to generate; -1 = until end of sequence or the context is full (default: ${DEFAULT-VALUE}).")
    int nPredict;

    @Option(names = "--stop", paramLabel = "TEXT", converter = ArgumentConverters.NonEmptyText.class, description = "Plain-text input: stop when this text appears; repeatable.")
    List<String> stop = List.of();

    @Option(names = "--parse-special", description = "Plain-text input: treat text such as <s> in prompts as the special token it names.")
    boolean parseSpecial;

    @Option(names = "--engine", paramLabel = "local|spark", defaultValue = LOCAL,
            description = "Where rows run: local (this process's scheduler) or spark (Apache Spark; needs argon-spark and Spark"
                    + " on the class path, docs/batch.md) (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--master", paramLabel = "URL",
            description = "--engine spark: the Spark master, e.g. local[2] or spark://host:7077 (default: " + DEFAULT_MASTER + ").")
    String master;

    @Option(names = "--job-rows", paramLabel = "N",
            description = "--engine spark: rows per Spark job; a job's rows are written when it ends, two jobs run at once"
                    + " (default: " + OFFLINE_CHUNK + ").")
    Integer jobRows;

    @Option(names = "--progress", negatable = true,
            description = "Show the progress bar (default: when standard error is a terminal).")
    Boolean progress;

    @Override
    public void run() {
        PrintStream err = parent.streams().err();
        if (parallel < 1) {
            throw new ArgonException("--parallel is " + parallel + "; expected at least 1");
        }
        if (batchSize < 1) {
            throw new ArgonException("--batch-size is " + batchSize + "; expected at least 1");
        }
        if (jobRows != null && jobRows < 1) {
            throw new ArgonException("--job-rows is " + jobRows + "; expected at least 1");
        }
        if (master != null && LOCAL.equals(engine)) {
            throw new ArgonException("--master " + master + " is for --engine spark; this run uses --engine local");
        }
        if (jobRows != null && LOCAL.equals(engine)) {
            throw new ArgonException("--job-rows " + jobRows + " is for --engine spark; this run uses --engine local");
        }
        OfflineEngine.Provider provider = LOCAL.equals(engine) ? null
                : OfflineEngine.provider(engine, "spark".equals(engine) ? ENGINE_NEEDS : null);
        boolean text = isText();
        var spec = speculation.params(); // as generate: a tuning flag that would be ignored is an error
        SpeculationOptions.checkPolicy(spec, run.contextPolicy);
        if (spec.active() && provider != null) {
            throw new ArgonException("--spec/-md runs on --engine local only; this run uses --engine " + engine);
        }
        GenerationRequest textRequest = new GenerationRequest("", nPredict, run.sampling(), stop, true, parseSpecial).withSpeculation(spec);
        run.validate(textRequest);
        if (run.contextPolicy.evicts()) { // the batch engine keeps every row: such a flag would change nothing
            throw new ArgonException("--context-shift, --kv-sink, --kv-window, --kv-heavy and --kv-policy are not supported by argon batch"
                    + " (each row has a full KV cache of -c tokens); use argon generate or argon serve for them");
        }
        run.contextPolicy.check(); // and a policy's tuning flag without any policy: named, not ignored
        long rows = countRows(input);
        Path path = modelOption.resolve();
        long loadStart = System.nanoTime();
        try (BatchOutput out = BatchOutput.open(output); LanguageModel model = Models.load(path, run.modelOptions())) {
            if (model instanceof dev.argon.model.TextEncoder) {
                // every row would be refused: fail once, before any (the output file this run created is removed)
                throw new ArgonException(path.getFileName() + ": this model (" + model.config().architecture() + ") is a text encoder"
                        + " for embeddings, and argon batch generates text; use 'argon embed' for embeddings");
            }
            ChatTemplate template;
            try (GgufFile file = GgufFile.open(path)) {
                template = ChatTemplate.fromGguf(file, model.tokenizer());
            }
            int ctx = run.contextFor(model, parallel, err);
            String id = modelId != null ? modelId : path.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
            CompletionApi api = new CompletionApi(model.tokenizer(), template, id, ctx).withSpeculation(spec); // rows' own fields win
            err.printf(Locale.ROOT, "argon: %s (%s, %d parameters) loaded in %.2f s, context %d per sequence, %d parallel, %d threads%n",
                    path.getFileName(), model.config().architecture(), model.parameterCount(),
                    (System.nanoTime() - loadStart) / 1e9, ctx, parallel, run.threadCount());
            if (out.resumedRows() > 0) {
                err.printf("argon: resuming: %d rows already in %s are skipped%n", out.resumedRows(), output);
            }
            // at most `inFlight` generations are submitted at once, so the engine's queue never overflows
            int inFlight = Math.max(2 * parallel, CompletionApi.MAX_CHOICES);
            Stats stats;
            if (provider == null) {
                try (BatchingEngine engine = new BatchingEngine(model, parallel, inFlight, ctx, run.cachePrecision(), true, batchSize);
                     LanguageModel draft = spec.mode() == dev.argon.generate.SpeculationParams.Mode.DRAFT
                             ? Models.load(speculation.draftModel, run.modelOptions()) : null) {
                    engine.withSpeculation(spec, draft == null ? null
                            : dev.argon.generate.DraftModelProposer.factory(model, draft, ctx, run.cachePrecision(), spec.pMin()));
                    stats = runAll(api, engine, out, rows, text, textRequest, inFlight, err);
                    dev.argon.server.Engine.Stats es = engine.stats();
                    SpeculationOptions.report(spec, es.verifyPasses(), es.draftTokens(), es.acceptedDraftTokens(), es.lenientDraftTokens(), err);
                }
            } else {
                OfflineEngine.Options options = new OfflineEngine.Options(path, master != null ? master : DEFAULT_MASTER, parallel,
                        batchSize, ctx, run.threads != null ? run.threads : 0, run.cachePrecision().flagName()); // 0: each executor's cores
                try (OfflineEngine offline = provider.open(options)) {
                    stats = runOffline(api, offline, out, rows, text, textRequest, err);
                }
            }
            double s = stats.seconds();
            err.printf(Locale.ROOT, "argon: batch: %d rows in %.2f s (%d ok, %d errors, %d already done): %.2f rows/s,"
                            + " %.1f generated tokens/s, %.1f prompt tokens/s%n",
                    stats.ok.get() + stats.errors.get(), s, stats.ok.get(), stats.errors.get(), stats.skipped.get(),
                    (stats.ok.get() + stats.errors.get()) / s, stats.generated.get() / s, stats.prompt.get() / s);
        }
    }

    private boolean isText() {
        return switch (format) {
            case text -> true;
            case openai -> false;
            case auto -> {
                String name = input.getFileName() == null ? "" : input.getFileName().toString().toLowerCase(Locale.ROOT);
                yield !(name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".ndjson"));
            }
        };
    }

    /** Counters of one run. */
    private static final class Stats {
        final long start = System.nanoTime();
        final AtomicLong ok = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong skipped = new AtomicLong();
        final AtomicLong generated = new AtomicLong();
        final AtomicLong prompt = new AtomicLong();

        double seconds() {
            return Math.max(1e-9, (System.nanoTime() - start) / 1e9);
        }
    }

    private Stats runAll(CompletionApi api, BatchingEngine engine, BatchOutput out, long rows, boolean text,
                         GenerationRequest textRequest, int inFlight, PrintStream err) {
        Stats stats = new Stats();
        boolean showBar = progress != null ? progress : ProgressBars.isTerminal();
        ProgressBar bar = showBar ? ProgressBars.create(err, "batch", rows, " rows", 1) : null;
        Semaphore permits = new Semaphore(inFlight);
        java.util.concurrent.atomic.AtomicReference<Throwable> fatal = new java.util.concurrent.atomic.AtomicReference<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(open(input), StandardCharsets.UTF_8), 1 << 16);
             ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            PendingRows pending = new PendingRows(reader, text, out, stats, bar, fatal);
            for (Row next = pending.next(); next != null; next = pending.next()) {
                Row row = next;
                int lineNo = pending.lineNo;
                int n = Math.min(inFlight, Math.max(1, row.body == null ? 1 : row.body.path("n").asInt(1)));
                permits.acquireUninterruptibly(n);
                workers.submit(() -> {
                    try {
                        out.write(row.key, complete(api, engine, row, textRequest, lineNo, stats));
                    } catch (Throwable t) { // the output cannot be written, or the JVM ran out of memory: stop the run
                        fatal.compareAndSet(null, t);
                    } finally {
                        permits.release(n);
                        step(bar, stats);
                    }
                });
            }
        } catch (IOException e) {
            throw new ArgonException("cannot read --input " + input + ": " + e.getMessage());
        } finally {
            if (bar != null) {
                bar.close();
            }
        }
        Throwable t = fatal.get();
        if (t instanceof RuntimeException re) {
            throw re;
        } else if (t instanceof Error e) {
            throw e;
        }
        return stats;
    }

    private static void step(ProgressBar bar, Stats stats) {
        if (bar != null) {
            bar.step();
            bar.setExtraMessage(String.format(Locale.ROOT, "%.1f tok/s", stats.generated.get() / stats.seconds()));
        }
    }

    private static InputStream open(Path p) throws IOException {
        return Files.newInputStream(p);
    }

    /**
     * One input row: its done-key and either a request ({@code url} and {@code body}, or a
     * plain-text prompt) or the output row of its error.
     */
    /**
     * The input's rows that still need an answer, in file order, for both engines: blank lines are
     * skipped, rows already in the output (a resumed run) counted as skipped, and rows that do not
     * parse written at once as their error row. Stops early once {@code fatal} holds an error.
     */
    private static final class PendingRows {
        private final BufferedReader reader;
        private final boolean text;
        private final BatchOutput out;
        private final Stats stats;
        private final ProgressBar bar;
        private final java.util.concurrent.atomic.AtomicReference<Throwable> fatal;
        private final Map<String, Integer> seen = new HashMap<>();
        /** The 1-based input line of the row {@link #next} returned last. */
        int lineNo;

        PendingRows(BufferedReader reader, boolean text, BatchOutput out, Stats stats, ProgressBar bar,
                    java.util.concurrent.atomic.AtomicReference<Throwable> fatal) {
            this.reader = reader;
            this.text = text;
            this.out = out;
            this.stats = stats;
            this.bar = bar;
            this.fatal = fatal;
        }

        /** @return the next row to generate, or null at the end of the input (or after a fatal error) */
        Row next() throws IOException {
            String line;
            while ((line = reader.readLine()) != null && fatal.get() == null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                Row row = text ? textRow(line, lineNo) : jsonRow(line, lineNo, seen);
                if (out.isDone(row.key)) {
                    stats.skipped.incrementAndGet();
                    step(bar, stats);
                    continue;
                }
                if (row.error != null) {
                    out.write(row.key, row.error);
                    stats.errors.incrementAndGet();
                    step(bar, stats);
                    continue;
                }
                return row;
            }
            return null;
        }
    }

    private record Row(String key, String customId, String method, String url, JsonNode body, String prompt, ObjectNode error) {
    }

    private static Row textRow(String line, int lineNo) {
        String id = "line-" + lineNo;
        return new Row(id, id, "POST", CompletionApi.COMPLETIONS, null, line, null);
    }

    private static Row jsonRow(String line, int lineNo, Map<String, Integer> seen) {
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (IOException e) {
            String why = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            return lineError(lineNo, "invalid_json_line", "line " + lineNo + " is not valid JSON: " + why);
        }
        if (node == null || !node.isObject()) {
            return lineError(lineNo, "invalid_json_line", "line " + lineNo + " is not a JSON object with custom_id, method, url and body");
        }
        JsonNode cid = node.get("custom_id");
        if (cid == null || !cid.isTextual() || cid.textValue().isEmpty()) {
            return lineError(lineNo, "missing_custom_id", "line " + lineNo + " has no 'custom_id' (a non-empty string)");
        }
        String customId = cid.textValue();
        Integer first = seen.putIfAbsent(customId, lineNo);
        if (first != null) {
            return lineError(lineNo, "duplicate_custom_id", "line " + lineNo + ": custom_id '" + customId
                    + "' was already used on line " + first + "; custom_ids must be unique");
        }
        JsonNode method = node.get("method");
        JsonNode url = node.get("url");
        return new Row(customId, customId, method != null && method.isTextual() ? method.textValue() : null,
                url != null && url.isTextual() ? url.textValue() : null, node.get("body"), null, null);
    }

    private static Row lineError(int lineNo, String code, String message) {
        ObjectNode row = MAPPER.createObjectNode();
        row.put("id", "batch_req_" + hex());
        row.putNull("custom_id");
        row.putNull("response");
        row.putObject("error").put("code", code).put("message", message).put("line", lineNo);
        return new Row(BatchOutput.lineKey(lineNo), null, null, null, null, null, row);
    }

    /** The request of a row, parsed and validated as the server would. */
    private CompletionApi.Prepared prepare(CompletionApi api, Row row, GenerationRequest textRequest) {
        if (!"POST".equals(row.method)) {
            throw ApiException.badRequest("method", "method is " + (row.method == null ? "missing" : "'" + row.method + "'")
                    + "; expected POST");
        }
        return row.prompt != null
                ? api.completion(new GenerationRequest(row.prompt, textRequest.maxTokens(), textRequest.sampling(),
                        textRequest.stop(), true, parseSpecial).withSpeculation(textRequest.speculation()))
                : api.parse(row.url, row.body);
    }

    /** Runs one request; any failure becomes the row's error response, never the run's. */
    private ObjectNode complete(CompletionApi api, BatchingEngine engine, Row row, GenerationRequest textRequest, int lineNo,
                                Stats stats) {
        try {
            return answered(row, api.run(prepare(api, row, textRequest), engine, () -> false), stats);
        } catch (ApiException e) {
            return failed(row, e, stats);
        } catch (RuntimeException e) {
            return failed(row, internal(lineNo, e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())),
                    stats);
        }
    }

    private static ApiException internal(int lineNo, String why) {
        return new ApiException(500, "server_error", null, null, "internal error on line " + lineNo + ": " + why);
    }

    /** The output row of a successful response (counted in {@code stats}). */
    private static ObjectNode answered(Row row, ObjectNode body, Stats stats) {
        JsonNode usage = body.path("usage");
        stats.generated.addAndGet(usage.path("completion_tokens").asLong());
        stats.prompt.addAndGet(usage.path("prompt_tokens").asLong());
        stats.ok.incrementAndGet();
        return outputRow(row, 200, body);
    }

    /** The output row of a refused or failed request (counted in {@code stats}). */
    private static ObjectNode failed(Row row, ApiException e, Stats stats) {
        stats.errors.incrementAndGet();
        return outputRow(row, e.status(), CompletionApi.errorBody(e));
    }

    private static ObjectNode outputRow(Row row, int status, ObjectNode body) {
        ObjectNode out = MAPPER.createObjectNode();
        out.put("id", "batch_req_" + hex());
        out.put("custom_id", row.customId);
        ObjectNode response = out.putObject("response");
        response.put("status_code", status);
        response.put("request_id", "req_" + hex());
        response.set("body", body);
        out.putNull("error");
        return out;
    }

    /** A row whose generations run on an {@link OfflineEngine}: its results as they arrive. */
    private static final class Pending {
        final Row row;
        final int lineNo;
        final CompletionApi.Prepared prepared;
        final GenerationResult[] results;
        final long firstJob;
        int missing;
        String error;

        Pending(Row row, int lineNo, CompletionApi.Prepared prepared, int n, long firstJob) {
            this.row = row;
            this.firstJob = firstJob;
            this.lineNo = lineNo;
            this.prepared = prepared;
            this.results = new GenerationResult[n];
            this.missing = n;
        }
    }

    /**
     * {@code --engine spark} (or another {@link OfflineEngine}): rows are parsed, validated and
     * tokenized here exactly as for the local engine, their generations run on the engine in
     * chunks of {@code --job-rows} rows (default {@value #OFFLINE_CHUNK}), and each chunk's rows are answered here and written
     * when the chunk ends. Up to {@value #CHUNKS_IN_FLIGHT} chunks run at once: while the engine
     * generates one, this thread prepares the next, and the next one's rows fill the engine's slots
     * as the running one's last rows finish (no idle tail between jobs).
     */
    private Stats runOffline(CompletionApi api, OfflineEngine engine, BatchOutput out, long rows, boolean text,
                             GenerationRequest textRequest, PrintStream err) {
        Stats stats = new Stats();
        boolean showBar = progress != null ? progress : ProgressBars.isTerminal();
        ProgressBar bar = showBar ? ProgressBars.create(err, "batch", rows, " rows", 1) : null;
        Chunk chunk = new Chunk(1);
        Semaphore slots = new Semaphore(CHUNKS_IN_FLIGHT);
        java.util.concurrent.atomic.AtomicReference<Throwable> fatal = new java.util.concurrent.atomic.AtomicReference<>();
        try (ExecutorService runner = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().name("argon-batch-job-", 1).daemon().factory())) {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(open(input), StandardCharsets.UTF_8), 1 << 16)) {
                PendingRows pending = new PendingRows(reader, text, out, stats, bar, fatal);
                Row row;
                while ((row = pending.next()) != null) {
                    int lineNo = pending.lineNo;
                    try {
                        CompletionApi.Prepared prepared = prepare(api, row, textRequest);
                        List<GenerationRequest> choices = api.generations(prepared);
                        for (GenerationRequest g : choices) {
                            String why = engine.unsupported(g);
                            if (why != null) {
                                throw new ApiException(400, "invalid_request_error", null, "unsupported_by_engine",
                                        why + " (not supported with --engine " + this.engine + "; use --engine local)");
                            }
                        }
                        chunk.add(row, lineNo, prepared, choices);
                    } catch (ApiException e) {
                        out.write(row.key, failed(row, e, stats));
                        step(bar, stats);
                    }
                    if (chunk.rows >= (jobRows != null ? jobRows : OFFLINE_CHUNK)) {
                        submit(runner, slots, fatal, chunk, api, engine, out, stats, bar, err);
                        chunk = new Chunk(chunk.number + 1);
                    }
                }
                if (fatal.get() == null) {
                    submit(runner, slots, fatal, chunk, api, engine, out, stats, bar, err);
                }
            } catch (IOException e) {
                throw new ArgonException("cannot read --input " + input + ": " + e.getMessage());
            }
            // closing the runner waits for the chunks still running, so their rows are written before the output closes
        } finally {
            if (bar != null) {
                bar.close();
            }
        }
        Throwable t = fatal.get();
        if (t instanceof RuntimeException re) {
            throw re;
        } else if (t instanceof Error e) {
            throw e;
        }
        return stats;
    }

    /** --engine spark: chunks of rows whose generations run on the engine at the same time (this thread prepares the next). */
    static final int CHUNKS_IN_FLIGHT = 2;

    /** Rows of one engine job: their generations and, per generation id, the row it belongs to. */
    private static final class Chunk {
        final int number;
        final List<OfflineEngine.Job> jobs = new ArrayList<>();
        final Map<Long, Pending> byJob = new HashMap<>();
        int rows;

        Chunk(int number) {
            this.number = number;
        }

        void add(Row row, int lineNo, CompletionApi.Prepared prepared, List<GenerationRequest> choices) {
            Pending p = new Pending(row, lineNo, prepared, choices.size(), jobs.size());
            for (GenerationRequest g : choices) {
                long id = jobs.size();
                jobs.add(new OfflineEngine.Job(id, prepared.promptIds(), g));
                byJob.put(id, p);
            }
            rows++;
        }
    }

    /**
     * Runs {@code chunk} on the runner once fewer than {@value #CHUNKS_IN_FLIGHT} chunks are
     * running (blocking until then); an engine failure is kept in {@code fatal} and stops the run.
     */
    private static void submit(ExecutorService runner, Semaphore slots, java.util.concurrent.atomic.AtomicReference<Throwable> fatal,
                               Chunk chunk, CompletionApi api, OfflineEngine engine, BatchOutput out, Stats stats, ProgressBar bar,
                               PrintStream err) {
        if (chunk.jobs.isEmpty()) {
            return;
        }
        slots.acquireUninterruptibly();
        runner.submit(() -> {
            try {
                if (fatal.get() == null) {
                    runChunk(api, engine, chunk, out, stats, bar, err);
                }
            } catch (RuntimeException | Error e) { // the engine failed as a whole, or the output cannot be written: stop the run
                fatal.compareAndSet(null, e);
            } finally {
                slots.release();
            }
        });
    }

    /**
     * Runs a chunk's jobs on the engine, writes their rows, and reports the chunk's time on
     * standard error ({@code argon: batch: engine job N: R rows, G generations in S s}).
     */
    private static void runChunk(CompletionApi api, OfflineEngine engine, Chunk chunk, BatchOutput out, Stats stats, ProgressBar bar,
                                 PrintStream err) {
        long start = System.nanoTime();
        Map<Long, Pending> byJob = chunk.byJob;
        engine.run(List.copyOf(chunk.jobs), (job, outcome) -> {
            Pending p = byJob.remove(job.id());
            if (p == null) {
                return; // reported twice: the engine's fault, the first report counts
            }
            int choice = (int) (job.id() - p.firstJob);
            if (outcome.result() != null) {
                p.results[choice] = outcome.result();
            } else if (p.error == null) {
                p.error = outcome.error() == null ? "no result" : outcome.error();
            }
            if (--p.missing == 0) {
                ObjectNode row;
                if (p.error != null) {
                    row = failed(p.row, internal(p.lineNo, p.error), stats);
                } else {
                    try {
                        row = answered(p.row, api.body(p.prepared, List.of(p.results)), stats);
                    } catch (ApiException e) {
                        row = failed(p.row, e, stats);
                    }
                }
                out.write(p.row.key, row);
                step(bar, stats);
            }
        });
        for (Pending p : new java.util.HashSet<>(byJob.values())) { // jobs the engine never reported
            out.write(p.row.key, failed(p.row, internal(p.lineNo, "the engine returned no result"), stats));
            step(bar, stats);
        }
        double s = (System.nanoTime() - start) / 1e9;
        err.printf(Locale.ROOT, "argon: batch: engine job %d: %d rows, %d generations in %.2f s (%.2f rows/s)%n", chunk.number, chunk.rows,
                chunk.jobs.size(), s, chunk.rows / Math.max(s, 1e-9));
    }

    private static String hex() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Non-blank lines of the input (the progress bar's total). */
    private static long countRows(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new ArgonException("--input " + p + (Files.exists(p) ? " is not a regular file" : " does not exist"));
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(open(p), StandardCharsets.UTF_8), 1 << 16)) {
            long n = 0;
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    n++;
                }
            }
            return n;
        } catch (IOException e) {
            throw new ArgonException("cannot read --input " + p + ": " + e.getMessage());
        }
    }
}
