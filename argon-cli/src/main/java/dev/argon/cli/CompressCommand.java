package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.compress.LmCodec;
import dev.argon.compress.ModelIdentity;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code argon compress}: lossless compression of any file by arithmetic coding with the model's
 * next-token probabilities ({@link LmCodec}); {@code argon decompress} reverses it with the same
 * model.
 */
@Command(name = "compress", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Compress a file losslessly: each token is arithmetic-coded with the model's next-token probabilities.",
                "Decompress with 'argon decompress' and the same model file, on a machine with the same SIMD width."})
final class CompressCommand implements Runnable {
    /** The KV cache type both directions use (recorded in the header). */
    static final KvCache.Precision CACHE = KvCache.Precision.F16;

    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Parameters(index = "0", paramLabel = "IN", description = "The file to compress (any bytes).")
    Path in;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", required = true, description = "The compressed file to write.")
    Path out;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N", defaultValue = "512",
            description = "Tokens per model context: the model restarts after each window of N-1 tokens; at most the model's context (default: ${DEFAULT-VALUE}).")
    int ctx;

    @Option(names = "--window-bits", paramLabel = "B", defaultValue = "0",
            description = "Equal-Info Windows: restart the model and the coder whenever the code reaches B bits (a multiple of 8, at least 32); 0 = off (default: ${DEFAULT-VALUE}).")
    int windowBits;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "64",
            description = "Positions per forward pass; does not change the output (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads (default: all cores); does not change the output.")
    Integer threads;

    @Override
    public void run() {
        PrintStream err = parent.streams().err();
        BinaryFiles.checkDistinct(in, out);
        byte[] data = BinaryFiles.read(in, "input file");
        Path path = modelOption.resolve();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        ModelOptions options = new ModelOptions(nThreads, true);
        try (LanguageModel model = Models.load(path, options)) {
            int context = ctx;
            if (ctx < 2) {
                throw new ArgonException("-c is " + ctx + "; expected at least 2");
            }
            if (model.config().contextLength() > 0 && ctx > model.config().contextLength()) {
                // as perplexity: the number given is the number used
                throw new ArgonException("-c " + ctx + " is larger than the model's context of " + model.config().contextLength() + " tokens");
            }
            LmCodec codec = new LmCodec(model, ModelIdentity.of(path, model.tokenizer()), options.quantizedActivations(), CACHE);
            long start = System.nanoTime();
            LmCodec.Stats[] stats = new LmCodec.Stats[1];
            BinaryFiles.writeAtomically(out, os -> {
                try (ProgressBar bar = ProgressBars.create(err, "compress", 1, " tokens", 1)) {
                    stats[0] = codec.compress(data, os, context, windowBits, batch, (done, total) -> {
                        bar.maxHint(total);
                        bar.stepTo(done);
                    });
                }
            });
            double s = (System.nanoTime() - start) / 1e9;
            err.printf(Locale.ROOT, "argon: %s -> %s: %s%n", in, out, stats[0].summary());
            err.printf(Locale.ROOT, "argon: %.2f s, %.0f bytes/s, %d threads, context %d%s%n", s, data.length / s, nThreads, context,
                    windowBits > 0 ? ", windows of " + windowBits + " bits" : "");
        }
    }
}
