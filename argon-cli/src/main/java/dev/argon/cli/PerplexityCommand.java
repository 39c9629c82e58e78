package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.eval.KlDivergence;
import dev.argon.eval.Perplexity;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code argon perplexity}: llama.cpp's {@code llama-perplexity} on Argon — the perplexity of a
 * text in chunks of {@code -c} tokens, scoring each chunk's second half ({@link Perplexity}), and
 * the comparison of a configuration with saved reference log-probabilities ({@link KlDivergence}).
 */
@Command(name = "perplexity", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Perplexity of a text, as llama.cpp's llama-perplexity: chunks of -c tokens (BOS first), the second half of each scored.",
                "With --kl-divergence-base FILE alone the reference log-probabilities are saved; with --kl-divergence too, this run is compared with them (KLD, top-1 agreement, PPL change)."})
final class PerplexityCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", required = true, description = "The UTF-8 text to evaluate.")
    Path file;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N", defaultValue = "512", description = "Tokens per chunk (default: ${DEFAULT-VALUE}).")
    int ctx;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "64",
            description = "Tokens per forward pass; does not change the result (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--chunks", paramLabel = "N", defaultValue = "-1", description = "Evaluate at most N chunks; -1 = all (default: ${DEFAULT-VALUE}).")
    int chunks;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads (default: all cores).")
    Integer threads;

    @Mixin
    CacheTypeOptions cache;

    @Option(names = "--kv-sink", paramLabel = "S",
            description = "Score with a KV cache of S attention sinks plus --kv-window recent tokens (StreamingLLM) instead of the whole chunk.")
    Integer sinks;

    @Option(names = "--kv-window", paramLabel = "W",
            description = "Recent tokens kept with --kv-sink or --kv-heavy (needed there), or with --kv-policy (kept exact; default "
                    + MergePolicyOptions.DEFAULT_WINDOW + ").")
    Integer window;

    @Option(names = "--kv-heavy", paramLabel = "H",
            description = "Score with an H2O cache: the H most attended older tokens plus --kv-window recent ones.")
    Integer heavy;

    @picocli.CommandLine.Mixin
    MergePolicyOptions merge = new MergePolicyOptions();

    @Option(names = "--f32-activations", description = "Exact F32 activations instead of llama.cpp's 8-bit ones for quantized weights.")
    boolean f32Activations;

    @Option(names = "--kl-divergence-base", paramLabel = "FILE",
            description = "Reference log-probabilities: written by a run without --kl-divergence, read by one with it.")
    Path klBase;

    @Option(names = "--kl-divergence", description = "Compare this run with the --kl-divergence-base file.")
    boolean klDivergence;

    @Override
    public void run() {
        PrintStream out = parent.streams().out();
        PrintStream err = parent.streams().err();
        if (klBase != null && java.nio.file.Files.isDirectory(klBase)) {
            throw new ArgonException(klBase + ": --kl-divergence-base is a directory; expected a file");
        }
        if (klBase != null && !klDivergence && (klBase.toAbsolutePath().getParent() == null
                || !java.nio.file.Files.isDirectory(klBase.toAbsolutePath().getParent()))) {
            throw new ArgonException(klBase + ": --kl-divergence-base: the directory does not exist");
        }
        if (klDivergence && klBase == null) {
            throw new ArgonException("--kl-divergence needs --kl-divergence-base FILE (the reference written by an earlier run)");
        }
        ContextPolicy policy = ContextPolicy.NONE;
        merge.checkPolicyFlags();
        ContextPolicyOptions.checkValues(sinks, window, heavy);
        ContextPolicyOptions.checkWindowAlone(sinks, window, heavy, merge.given());
        if (merge.given()) {
            if (heavy != null) {
                throw new ArgonException("--kv-policy " + merge.policy + " cannot be combined with --kv-heavy; choose one");
            }
            policy = merge.policy(window, sinks, ctx);
        } else if (heavy != null) {
            if (sinks != null) {
                throw new ArgonException("--kv-heavy and --kv-sink are different caches (H2O, StreamingLLM); choose one");
            }
            if (window == null) {
                throw new ArgonException("--kv-heavy " + heavy + " needs --kv-window W, the recent tokens kept beside the heavy hitters");
            }
            policy = ContextPolicy.heavyHitters(heavy, window);
            policy.validate(ctx);
        } else if (sinks != null) {
            if (window == null) {
                throw new ArgonException("--kv-sink " + sinks + " needs --kv-window W, the recent tokens kept beside the sinks");
            }
            policy = ContextPolicy.streaming(sinks, window);
            policy.validate(ctx);
        }
        KvCache.Precision keys = cache.keys();
        KvCache.Precision values = cache.values();
        if (threads != null && (threads < 1 || threads > Models.MAX_THREADS)) {
            throw new ArgonException("-t is " + threads + "; expected 1.." + Models.MAX_THREADS);
        }
        String text = TextFiles.readUtf8(file, "text file");
        Path path = modelOption.resolve();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        try (LanguageModel model = Models.load(path, new ModelOptions(nThreads, !f32Activations))) {
            if (ctx > model.config().contextLength()) {
                throw new ArgonException(String.format(Locale.ROOT, "-c %d is larger than the model's context of %d tokens",
                        ctx, model.config().contextLength()));
            }
            int[] tokens = model.tokenizer().encode(text, true, false);
            int nChunks = Perplexity.chunks(tokens.length, ctx, chunks);
            var c = model.config();
            long perToken = KvCache.bytesPerToken(c.nLayers(), c.kvDim(), c.headDim(), keys, values);
            err.printf(Locale.ROOT, "argon: %s: %d tokens, %d chunks of %d, scoring %d tokens per chunk, %d threads%n",
                    file.getFileName(), tokens.length, nChunks, ctx, ctx - ctx / 2 - 1, nThreads);
            int rows = policy.unbounded() ? policy.keep() + policy.window() : ctx;
            err.printf(Locale.ROOT, "argon: KV cache keys %s, values %s: %d bytes per token, %.2f MiB for %d tokens%s%n", keys.flagName(),
                    values.flagName(), perToken, perToken * (double) rows / (1 << 20), rows,
                    policy.compresses() ? " exact (" + policy + "; older rows merged, see 'KV stored' below)"
                    : policy.selectsSentences() ? " (" + policy + ": every row kept, each query reads at most "
                            + (policy.keep() + policy.budget() + policy.window()) + "; "
                            + RunOptions.sentenceIndexBytes(c.nLayers(), c.kvDim()) + ")"
                    : policy.unbounded() ? " (" + policy + ", " + String.format(Locale.ROOT, "%.1fx", ctx / (double) rows) + " less than -c " + ctx + ")" : "");
            Perplexity.Result r;
            long start = System.nanoTime();
            if (klBase != null && klDivergence) {
                try (KlDivergence.Comparison cmp = KlDivergence.reader(klBase, model.config().vocabSize(), ctx, nChunks, tokens)) {
                    r = evaluate(model, tokens, keys, values, policy, cmp, out, err);
                    out.print(cmp.stats().report());
                }
            } else if (klBase != null) {
                KlDivergence.Writer w = KlDivergence.writer(klBase, model.config().vocabSize(), ctx, nChunks, tokens);
                try {
                    r = evaluate(model, tokens, keys, values, policy, w, out, err);
                } catch (RuntimeException | Error e) {
                    w.abort();
                    throw e;
                }
                w.close();
                err.printf("argon: reference log-probabilities written to %s%n", klBase);
            } else {
                r = evaluate(model, tokens, keys, values, policy, null, out, err);
            }
            out.println(r.finalLine());
            err.printf(Locale.ROOT, "argon: KV stored: %.1f bytes per token of context on average over the scored positions (full cache: %d)%s%n",
                    r.kvBytesPerToken(), perToken, r.kvStats().isEmpty() ? "" : "; " + r.kvStats());
            err.printf(Locale.ROOT, "argon: %d tokens evaluated in %.2f s (%.1f tokens/s)%n", (long) nChunks * ctx,
                    (System.nanoTime() - start) / 1e9, nChunks * ctx / ((System.nanoTime() - start) / 1e9));
        }
    }

    private Perplexity.Result evaluate(LanguageModel model, int[] tokens, KvCache.Precision keys, KvCache.Precision values,
            ContextPolicy policy, Perplexity.PositionSink sink,
            PrintStream out, PrintStream err) {
        int nChunks = Perplexity.chunks(tokens.length, ctx, chunks);
        try (ProgressBar bar = ProgressBars.create(err, "perplexity", nChunks, " chunks", 1)) {
            Perplexity.Result r = Perplexity.evaluate(model, tokens, ctx, batch, keys, values, policy, chunks, sink, (done, total, ppl) -> {
                bar.stepTo(done);
                out.printf(Locale.ROOT, "[%d]%.4f,", done, ppl);
                out.flush();
            });
            out.println();
            return r;
        }
    }
}
