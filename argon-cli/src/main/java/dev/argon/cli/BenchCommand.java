package dev.argon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.argon.ArgonException;
import dev.argon.generate.TokenConstraint;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.tensor.GgmlType;
import dev.argon.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code argon bench}: llama-bench-style throughput measurement. {@code ppN} times the prefill of
 * an N-token prompt (BOS, then random tokens) into an empty KV cache; {@code tgN} times N decode
 * steps of random tokens after BOS. Each test warms up (at least 3 runs and 2 s, and until the JIT is idle, see {@link #warmUp}), then runs {@code -r} times; the
 * table shows tokens/s as mean ± standard deviation. With {@code --vs-llama-cpp} llama.cpp runs
 * the same file with the same thread count, alternating with Argon run by run. With
 * {@code --parallel P} the tg tests also run P sequences decoding together, one batched forward
 * pass per step (what {@code argon serve --parallel P} does), and report their aggregate tokens/s
 * as {@code tgN np=P} (llama.cpp's {@code llama-batched-bench} measures the same). With {@code --spec ngram} the tg
 * tests are greedy generation with and without speculative decoding instead ({@link SpeculativeBench}); with
 * {@code --cfg-scale S}, without and with classifier-free guidance ({@link GuidanceBench}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = "Measure prompt processing (pp) and generation (tg) speed, llama-bench style.")
final class BenchCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Option(names = {"-p", "--n-prompt"}, split = ",", paramLabel = "N", defaultValue = "128",
            description = "Prompt lengths to test, comma-separated; 0 skips (default: ${DEFAULT-VALUE}).")
    List<Integer> prompts;

    @Option(names = {"-n", "--n-gen"}, split = ",", paramLabel = "N", defaultValue = "64",
            description = "Generation lengths to test, comma-separated; 0 skips (default: ${DEFAULT-VALUE}).")
    List<Integer> gens;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "N", defaultValue = "5", description = "Repetitions per test (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = {"-t", "--threads"}, split = ",", paramLabel = "N", description = "Thread counts to test (default: all cores).")
    List<Integer> threads;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "md", description = "md, csv or json (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--vs-llama-cpp", description = "Also run llama.cpp on the same file, alternating, and print the ratio: a native"
            + " llama-bench ($LLAMA_BENCH, or ~/.cache/llama.cpp-native from ../shared/tools/build-llama-cpp.sh) if there is one,"
            + " else node-llama-cpp (see tools/llama-cpp).")
    boolean vsLlamaCpp;

    /** The environment ({@code LLAMA_BENCH}, {@code HOME}); tests set their own. */
    java.util.function.Function<String, String> environment = System::getenv;

    @Option(names = {"-np", "--parallel"}, split = ",", paramLabel = "P", defaultValue = "1",
            description = "Sequences decoding together for the tg tests, comma-separated; each P > 1 adds a row 'tgN np=P' "
                    + "with the aggregate tokens/s of P sequences in one batched forward pass per step (default: ${DEFAULT-VALUE}).")
    List<Integer> parallel;

    @Option(names = {"-d", "--n-depth"}, split = ",", paramLabel = "D", defaultValue = "0",
            description = "Context depths: run each test after D tokens already in the KV cache (llama-bench's -d; default: ${DEFAULT-VALUE}).")
    List<Integer> depths;

    @picocli.CommandLine.Mixin
    CacheTypeOptions cache = new CacheTypeOptions();

    @Option(names = "--kv-block-size", paramLabel = "N", defaultValue = "0",
            description = "pp/tg rows read a paged KV cache of N-token blocks (as `serve` uses) instead of a contiguous one"
                    + " (default: ${DEFAULT-VALUE} = contiguous).")
    int kvBlockSize;

    /** @return a state of {@code ctx} rows: contiguous, or paged from its own pool with {@code --kv-block-size} */
    private InferenceState benchState(LanguageModel model, int ctx, KvCache.Precision kvType) {
        if (kvBlockSize <= 0) {
            return model.newState(ctx, kvType);
        }
        var c = model.config();
        return model.newState(ctx, new dev.argon.kv.BlockPool(c.nLayers(), c.kvDim(), c.headDim(), kvType, kvType, kvBlockSize,
                (ctx + kvBlockSize - 1) / kvBlockSize));
    }

    /** With a grammar, each tg test gets a second row {@code tgN +grammar}: greedy tokens under the constraint. */
    @Mixin
    StructuredOutputOptions structured = new StructuredOutputOptions();

    /** With {@code --spec}: greedy generation with and without speculative decoding, side by side. */
    @picocli.CommandLine.Mixin
    SpeculationOptions speculation = new SpeculationOptions();

    @Option(names = "--cfg-scale", paramLabel = "S", defaultValue = "1.0",
            description = "Classifier-free guidance: the tg tests become greedy generation without and with guidance at"
                    + " scale S, alternating, with the ratio on standard error (default: ${DEFAULT-VALUE} = off).")
    float cfgScale;

    @Option(names = "--cfg-negative-prompt", paramLabel = "TEXT",
            description = "Negative prompt of the guided rows (plain text; default: empty, i.e. only BOS).")
    String cfgNegativePrompt;

    @Option(names = "--f32-activations", description = "Exact F32 activations instead of 8-bit ones for Q4_0/Q8_0/Q4_K/Q5_K/Q6_K weights.")
    boolean f32Activations;

    /** One row of results; {@code parallel} is the number of sequences decoding together (1 for pp and plain tg). */
    record Row(String model, long sizeBytes, long params, String type, int threads, int parallel, String test, double mean, double sd,
               Double llamaCppMean, Double llamaCppSd) {
    }

    @Override
    public void run() {
        if (repetitions < 1) {
            throw new ArgonException("repetitions (-r) must be at least 1, got " + repetitions);
        }
        if (!List.of("md", "csv", "json").contains(format)) {
            throw new ArgonException("output format (-o) '" + format + "' is not one of md, csv, json");
        }
        for (int v : concat(prompts, gens)) {
            if (v < 0) {
                throw new ArgonException("test lengths (-p, -n) must be >= 0, got " + v);
            }
        }
        if (prompts.stream().allMatch(v -> v == 0) && gens.stream().allMatch(v -> v == 0)) {
            throw new ArgonException("nothing to measure: -p and -n are all 0 (0 skips a test)");
        }
        for (int v : parallel) {
            if (v < 1 || v > 256) {
                throw new ArgonException("parallel sequences (-np) must be between 1 and 256, got " + v);
            }
        }
        TokenConstraint.Factory constraint = structured.constraint();
        if (speculation.params().active() && (constraint != null || depths.stream().anyMatch(d -> d != 0))) {
            throw new ArgonException("--spec measures greedy decoding from an empty context; it cannot be combined with"
                    + " --json/--grammar/--json-schema or a depth -d other than 0 (run those separately)");
        }
        dev.argon.generate.Guidance guidance = new dev.argon.generate.Guidance(cfgScale,
                dev.argon.tokenizer.PromptText.plain(cfgNegativePrompt == null ? "" : cfgNegativePrompt));
        if (cfgNegativePrompt != null && !guidance.active()) {
            throw new ArgonException("--cfg-negative-prompt needs --cfg-scale other than 1 (1 = no guidance)");
        }
        if (guidance.active() && (speculation.params().active() || constraint != null || depths.stream().anyMatch(d -> d != 0)
                || parallel.stream().anyMatch(p -> p != 1))) {
            throw new ArgonException("--cfg-scale measures greedy decoding of one sequence from an empty context; it cannot be"
                    + " combined with --spec, --json/--grammar/--json-schema, a depth -d other than 0 or -np other than 1"
                    + " (run those separately)");
        }
        List<Integer> threadCounts = threads == null ? List.of(Runtime.getRuntime().availableProcessors()) : threads;
        for (int t : threadCounts) {
            if (t < 1) {
                throw new ArgonException("threads (-t) must be at least 1, got " + t);
            }
            if (t > dev.argon.model.Models.MAX_THREADS) {
                throw new ArgonException("threads (-t) is " + t + "; at most " + dev.argon.model.Models.MAX_THREADS);
            }
        }
        PrintStream out = parent.streams().out();
        PrintStream err = parent.streams().err();
        Path path = modelOption.resolve();
        List<Row> rows = new ArrayList<>();
        boolean described = false;
        for (int d : depths) {
            if (d < 0) {
                throw new ArgonException("-d is " + d + "; expected 0 or more tokens of context depth");
            }
        }
        int maxDepth = depths.stream().mapToInt(i -> i).max().orElse(0);
        dev.argon.generate.SpeculationParams spec = speculation.params();
        if (spec.acceptance().typical()) { // greedy: the typical rule accepts exactly the argmax, as exact verification
            throw new ArgonException("--spec-accept typical changes nothing in argon bench, which measures greedy decoding;"
                    + " measure it with argon generate --temp 0.8 --spec-accept typical");
        }
        if (spec.mode() == dev.argon.generate.SpeculationParams.Mode.DRAFT) {
            throw new ArgonException("argon bench measures --spec ngram; a draft model (-md) is not measured by bench yet");
        }
        KvCache.Precision kvType = cache.single();
        int maxLen = 1 + maxDepth + Math.max(prompts.stream().mapToInt(i -> i).max().orElse(0), gens.stream().mapToInt(i -> i).max().orElse(0));
        for (int t : threadCounts) {
            try (LanguageModel model = Models.load(path, new ModelOptions(t, !f32Activations));
                 LlamaCppTimer llama = vsLlamaCpp ? LlamaCppTimer.start(environment, toolsDir(), path, t, model.config().vocabSize(),
                         Math.max(maxLen, 256)) : null) {
                if (model instanceof dev.argon.model.TextEncoder) {
                    throw new ArgonException(dev.argon.model.TextEncoder.cannotGenerate(model.config().architecture())); // before any output
                }
                int ctx = model.config().contextLength();
                if (ctx > 0 && maxLen - 1 > ctx) {
                    throw new ArgonException("a test of " + (maxLen - 1) + " tokens (with its depth -d) is longer than the model's context length ("
                            + ctx + " tokens, " + model.config().architecture() + ".context_length); use -d + -p/-n up to " + ctx);
                }
                if (!described) {
                    described = true;
                    err.println("argon: CPU " + CpuInfo.describe() + ", " + dev.argon.tensor.Simd.describe()
                            + " (limit with ARGON_JAVA_OPTS=-XX:MaxVectorSize=16 or 32)");
                    if (llama != null) {
                        err.println("argon: comparing with " + llama.describe());
                    }
                }
                if (guidance.active()) {
                    GuidanceBench.checkNegativePrompt(model, kvType, guidance); // before any test runs
                }
                String type = dominantType(path);
                String name = model.config().architecture() + " " + humanCount(model.parameterCount()) + " " + type;
                for (int d : depths) {
                    for (int p : prompts) {
                        if (p > 0) {
                            rows.add(measure(model, d == 0 ? llama : null, name, type, t, "pp", p, d, kvType, err));
                        }
                    }
                    for (int g : gens) {
                        if (g <= 0) {
                            continue;
                        }
                        if (guidance.active() && d == 0) { // instead of the random-token tg rows
                            rows.addAll(new GuidanceBench(model, kvType, g, repetitions, err)
                                    .rows(name, modelBytes(model), type, t, guidance));
                            continue;
                        }
                        for (int np : spec.active() ? List.<Integer>of() : parallel) {
                            rows.add(np == 1 ? measure(model, d == 0 ? llama : null, name, type, t, "tg", g, d, kvType, err)
                                    : measureParallel(model, name, type, t, g, np, kvType, err));
                            if (np == 1 && d == 0 && constraint != null) {
                                rows.add(measureConstrained(model, name, type, t, g, kvType, constraint, err));
                            }
                        }
                        if (spec.active() && d == 0) { // instead of the random-token tg rows
                            for (int np : parallel) {
                                SpeculativeBench b = new SpeculativeBench(model, kvType, g, np, repetitions, err);
                                rows.addAll(b.rows(name, modelBytes(model), type, t, spec));
                            }
                        }
                    }
                }
            }
        }
        print(rows, out);
    }

    /**
     * One llama-bench test ({@code ppN} or {@code tgN}) after {@code depth} tokens of context
     * (prefilled once, not timed; llama-bench's {@code -d}, named {@code tgN @ dD}).
     */
    private Row measure(LanguageModel model, LlamaCppTimer llama, String name, String type, int threads, String test, int n, int depth,
                        KvCache.Precision kvType, PrintStream err) {
        String label = test + n + (depth > 0 ? " @ d" + depth : "") + (kvBlockSize > 0 ? " paged" + kvBlockSize : "");
        err.printf(Locale.ROOT, "argon: %s, %d threads, KV cache %s ...%n", label, threads, kvType.flagName());
        InferenceState state = benchState(model, depth + n + 2, kvType);
        Random random = new Random(42);
        int vocab = model.config().vocabSize();
        int bos = Math.max(0, model.tokenizer().bos());
        if (depth > 0) {
            int[] context = new int[depth];
            context[0] = bos;
            for (int i = 1; i < depth; i++) {
                context[i] = random.nextInt(vocab);
            }
            model.prefill(state, context, 0);
        }
        double[] argon = new double[repetitions];
        double[] cpp = llama == null ? null : new double[repetitions];
        warmUp(() -> runOnce(model, state, test, n, depth, random, vocab, bos));
        if (llama != null) {
            llama.time(test, n);
        }
        for (int r = 0; r < repetitions; r++) {
            argon[r] = n / runOnce(model, state, test, n, depth, random, vocab, bos);
            if (llama != null) {
                cpp[r] = n / llama.time(test, n);
            }
        }
        return new Row(name, modelBytes(model), model.parameterCount(), type, threads, 1, label, mean(argon), sd(argon),
                cpp == null ? null : mean(cpp), cpp == null ? null : sd(cpp));
    }

    /** Longest warm-up of one test, seconds. */
    private static final double WARM_UP_LIMIT_S = 30;
    /** Seconds without a finished JIT compilation that end a warm-up. */
    private static final double JIT_QUIET_S = 2;

    /**
     * Runs {@code once} until the JIT has compiled what it runs: at least 3 runs and 2 seconds,
     * and then until no compilation has finished for {@value #JIT_QUIET_S} s (the JIT's total
     * compilation time unchanged), at most {@value #WARM_UP_LIMIT_S} s. A fixed 2 s was too short
     * for the K-quant kernels of tiny models: C2 takes seconds to compile them, and the first
     * test then measured C1 code, 3-15x too slow.
     */
    private static void warmUp(Runnable once) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean watch = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        long compiled = watch ? jit.getTotalCompilationTime() : 0;
        long lastChange = start;
        for (int w = 1; ; w++) {
            once.run();
            long t = System.nanoTime();
            long now = watch ? jit.getTotalCompilationTime() : compiled;
            if (now != compiled) {
                compiled = now;
                lastChange = t;
            }
            double elapsed = (t - start) / 1e9;
            if (w >= 3 && elapsed >= 2 && ((t - lastChange) / 1e9 >= JIT_QUIET_S || !watch || elapsed >= WARM_UP_LIMIT_S)) {
                return;
            }
        }
    }

    /**
     * {@code tgN +grammar}: N decode steps as {@code tgN}, but each next token is the most likely
     * one the grammar allows (what {@code Sequence} does per token: copy the logits, mask them,
     * pick, accept), so the row's ratio to {@code tgN} is the cost of constrained decoding. A
     * document the grammar completes (or a dead end) starts a new one. Each repetition also runs
     * a plain {@code tgN} right before it, and the median of the paired ratios is printed (pairs
     * see the same machine load, so the ratio is steadier than the two rows' means).
     */
    private Row measureConstrained(LanguageModel model, String name, String type, int threads, int n, KvCache.Precision kvType,
                                   TokenConstraint.Factory constraint, PrintStream err) {
        err.printf(Locale.ROOT, "argon: tg%d under the grammar, %d threads ...%n", n, threads);
        InferenceState state = model.newState(n + 2, kvType);
        Tokenizer tok = model.tokenizer();
        int bos = Math.max(0, tok.bos());
        constraint.create(tok); // builds the grammar's masks for this vocabulary before any timing
        double[] argon = new double[repetitions];
        double[] ratios = new double[repetitions];
        Random random = new Random(42);
        int vocab = model.config().vocabSize();
        warmUp(() -> runConstrainedOnce(model, state, n, bos, constraint, tok));
        for (int r = 0; r < repetitions; r++) {
            double plain = n / runOnce(model, state, "tg", n, 0, random, vocab, bos);
            argon[r] = n / runConstrainedOnce(model, state, n, bos, constraint, tok);
            ratios[r] = argon[r] / plain;
        }
        java.util.Arrays.sort(ratios);
        double median = repetitions % 2 == 1 ? ratios[repetitions / 2] : (ratios[repetitions / 2 - 1] + ratios[repetitions / 2]) / 2;
        err.printf(Locale.ROOT, "argon: tg%d +grammar / tg%d, median of %d paired runs: %.3fx (each against a plain tg%d run just before it,"
                + " not the table's tg%d row: pairs see the same load)%n", n, n, repetitions, median, n, n);
        return new Row(name, modelBytes(model), model.parameterCount(), type, threads, 1, "tg" + n + " +grammar", mean(argon), sd(argon),
                null, null);
    }

    private static double runConstrainedOnce(LanguageModel model, InferenceState state, int n, int bos, TokenConstraint.Factory factory,
                                             Tokenizer tok) {
        float[] logits = model.forward(state, bos, 0, true);
        float[] work = new float[logits.length];
        TokenConstraint c = factory.create(tok);
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            System.arraycopy(logits, 0, work, 0, work.length);
            if (!c.mask(work)) {
                c = factory.create(tok);
                System.arraycopy(logits, 0, work, 0, work.length);
                c.mask(work);
            }
            int next = 0;
            for (int k = 1; k < work.length; k++) {
                if (work[k] > work[next]) {
                    next = k;
                }
            }
            if (tok.isEndOfGeneration(next)) {
                c = factory.create(tok);
            } else {
                c.accept(next);
            }
            logits = model.forward(state, next, i + 1, true);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** {@code tgN np=P}: P sequences, each decoding N tokens, one batched forward pass per step. */
    private Row measureParallel(LanguageModel model, String name, String type, int threads, int n, int np, KvCache.Precision kvType,
                                PrintStream err) {
        err.printf(Locale.ROOT, "argon: tg%d with %d sequences, %d threads ...%n", n, np, threads);
        InferenceState[] states = new InferenceState[np];
        for (int i = 0; i < np; i++) {
            states[i] = model.newState(n + 2, kvType);
        }
        Batch batch = new Batch(np);
        Random random = new Random(42);
        int vocab = model.config().vocabSize();
        int bos = Math.max(0, model.tokenizer().bos());
        double[] argon = new double[repetitions];
        warmUp(() -> runParallelOnce(model, states, batch, n, random, vocab, bos));
        for (int r = 0; r < repetitions; r++) {
            argon[r] = (double) n * np / runParallelOnce(model, states, batch, n, random, vocab, bos);
        }
        return new Row(name, modelBytes(model), model.parameterCount(), type, threads, np, "tg" + n + " np=" + np, mean(argon), sd(argon),
                null, null);
    }

    /** @return seconds for {@code n} batched decode steps of all sequences (after BOS) */
    private static double runParallelOnce(LanguageModel model, InferenceState[] states, Batch batch, int n, Random random, int vocab,
                                          int bos) {
        batch.clear();
        for (InferenceState s : states) {
            batch.add(s, bos, 0, true, true);
        }
        model.forward(batch);
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            batch.clear();
            for (InferenceState s : states) {
                batch.add(s, random.nextInt(vocab), i + 1, false, true);
            }
            model.forward(batch);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** @return seconds for one run, starting at position {@code depth} (the cache before it is filled) */
    private static double runOnce(LanguageModel model, InferenceState state, String test, int n, int depth, Random random, int vocab,
                                  int bos) {
        if (test.equals("pp")) {
            int[] tokens = new int[n];
            tokens[0] = depth == 0 ? bos : random.nextInt(vocab);
            for (int i = 1; i < n; i++) {
                tokens[i] = random.nextInt(vocab);
            }
            long t0 = System.nanoTime();
            model.prefill(state, tokens, depth);
            return (System.nanoTime() - t0) / 1e9;
        }
        model.forward(state, depth == 0 ? bos : random.nextInt(vocab), depth, true);
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            model.forward(state, random.nextInt(vocab), depth + i + 1, true);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private void print(List<Row> rows, PrintStream out) {
        switch (format) {
            case "json" -> {
                try {
                    out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows.stream().map(BenchCommand::asMap).toList()));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            }
            case "csv" -> {
                out.println(String.join(",", COLUMNS));
                for (Row r : rows) {
                    out.printf(Locale.ROOT, "\"%s\",%d,%d,%s,%d,%d,%s,%.3f,%.3f,%s,%s,%s%n", r.model(), r.sizeBytes(), r.params(), r.type(), r.threads(),
                            r.parallel(), r.test(), r.mean(), r.sd(), opt(r.llamaCppMean()), opt(r.llamaCppSd()),
                            r.llamaCppMean() == null ? "" : String.format(Locale.ROOT, "%.3f", r.mean() / r.llamaCppMean()));
                }
            }
            default -> {
                boolean cpp = rows.stream().anyMatch(r -> r.llamaCppMean() != null);
                out.println("| model | size | params | backend | threads | test | t/s |" + (cpp ? " llama.cpp t/s | ratio |" : ""));
                out.println("| --- | ---: | ---: | --- | ---: | --- | ---: |" + (cpp ? " ---: | ---: |" : ""));
                for (Row r : rows) {
                    out.printf(Locale.ROOT, "| %s | %.2f MiB | %s | CPU (Java) | %d | %s | %.2f ± %.2f |%s%n", r.model(), r.sizeBytes() / 1048576.0,
                            humanCount(r.params()), r.threads(), r.test(), r.mean(), r.sd(),
                            r.llamaCppMean() == null ? "" : String.format(Locale.ROOT, " %.2f ± %.2f | %.2f |", r.llamaCppMean(), r.llamaCppSd(),
                                    r.mean() / r.llamaCppMean()));
                }
            }
        }
    }

    /** The fields of a CSV line and a JSON row, in this order (llama.cpp's empty / null without --vs-llama-cpp). */
    static final List<String> COLUMNS = List.of("model", "size_bytes", "params", "type", "threads", "parallel", "test", "tps_mean",
            "tps_sd", "llama_cpp_tps_mean", "llama_cpp_tps_sd", "ratio");

    private static Map<String, Object> asMap(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", r.model());
        m.put("size_bytes", r.sizeBytes());
        m.put("params", r.params());
        m.put("type", r.type());
        m.put("threads", r.threads());
        m.put("parallel", r.parallel());
        m.put("test", r.test());
        m.put("tps_mean", r.mean());
        m.put("tps_sd", r.sd());
        m.put("llama_cpp_tps_mean", r.llamaCppMean());
        m.put("llama_cpp_tps_sd", r.llamaCppSd());
        m.put("ratio", r.llamaCppMean() == null ? null : r.mean() / r.llamaCppMean());
        return m;
    }

    private static String opt(Double v) {
        return v == null ? "" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static long modelBytes(LanguageModel model) {
        return model.weightBytes();
    }

    /**
     * Names of llama.cpp's {@code llama_ftype} values ({@code general.file_type}), as llama-bench
     * shows the model type: a Q4_K_M file holds Q4_K, Q6_K and (for rows not a multiple of 256)
     * Q5_0/Q8_0 tensors, so its largest tensor type alone would mislabel it.
     */
    private static final Map<Integer, String> FILE_TYPES = Map.ofEntries(
            Map.entry(0, "F32"), Map.entry(1, "F16"), Map.entry(2, "Q4_0"), Map.entry(3, "Q4_1"), Map.entry(7, "Q8_0"),
            Map.entry(8, "Q5_0"), Map.entry(9, "Q5_1"), Map.entry(10, "Q2_K"), Map.entry(11, "Q3_K_S"), Map.entry(12, "Q3_K_M"),
            Map.entry(13, "Q3_K_L"), Map.entry(14, "Q4_K_S"), Map.entry(15, "Q4_K_M"), Map.entry(16, "Q5_K_S"),
            Map.entry(17, "Q5_K_M"), Map.entry(18, "Q6_K"), Map.entry(32, "BF16"));

    /**
     * @return the file's type from {@code general.file_type} when it names a known llama.cpp file
     *     type, else the tensor type holding the most bytes
     */
    private static String dominantType(Path path) {
        try (dev.argon.gguf.GgufFile f = dev.argon.gguf.GgufFile.open(path)) {
            if (f.has("general.file_type")) {
                String named = FILE_TYPES.get(f.getInt("general.file_type", -1));
                if (named != null) {
                    return named;
                }
            }
            Map<GgmlType, Long> bytes = new LinkedHashMap<>();
            for (GgufTensorInfo t : f.tensors()) {
                bytes.merge(t.type(), t.byteSize(), Long::sum);
            }
            return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(e -> e.getKey().name()).orElse("?");
        }
    }

    static String humanCount(long n) {
        if (n >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2f B", n / 1e9);
        }
        if (n >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.2f M", n / 1e6);
        }
        return String.format(Locale.ROOT, "%.2f K", n / 1e3);
    }

    private static Path toolsDir() {
        String dir = System.getenv("ARGON_LLAMA_CPP_DIR");
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        String home = System.getProperty("argon.home", ".");
        return Path.of(home).resolve("tools").resolve("llama-cpp");
    }

    private static List<Integer> concat(List<Integer> a, List<Integer> b) {
        List<Integer> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    static double sd(double[] v) {
        if (v.length < 2) {
            return 0;
        }
        double m = mean(v);
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / (v.length - 1));
    }
}
