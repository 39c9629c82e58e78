package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.synth.ModelShape;
import dev.argon.synth.ModelSynthesizer;
import dev.argon.synth.SynthArch;
import dev.argon.synth.SynthOptions;
import dev.argon.synth.SynthType;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code argon synth}: writes a GGUF model with random weights of one of the
 * {@link SynthArch architectures} at a named or custom shape ({@link ModelSynthesizer}), so that
 * benchmarks and tests need no downloads. Standard output stays empty; the progress bar and the
 * summary go to standard error.
 */
@Command(name = "synth", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Write a GGUF model with random weights at a real model's shape, for benchmarks and tests.",
                "Named shapes: tiny, smollm2-135m, llama-3.2-1b (decoders), all-minilm-l6-v2, bge-small-en-v1.5 (with --arch bert); any of --layers ... --context changes one (the result is 'custom'),"
                        + " or, without --shape, they give a custom shape (--layers, --dim, --ff, --heads, --vocab required)."})
final class SynthCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Option(names = "--arch", paramLabel = "ARCH", defaultValue = "llama",
            description = "Architecture: llama, mistral (llama with a sliding window), qwen2, qwen3, phi3, gemma2, gemma3, gpt2, bert (an embedding encoder) (default: ${DEFAULT-VALUE}).")
    String archName;

    @Option(names = "--pooling", paramLabel = "TYPE",
            description = "bert only: bert.pooling_type, mean or cls (default: cls for bge-small-en-v1.5, else mean).")
    String pooling;

    @Option(names = "--shape", paramLabel = "NAME", description = "Named shape: tiny, smollm2-135m, llama-3.2-1b, all-minilm-l6-v2, bge-small-en-v1.5.")
    String shapeName;

    @Option(names = "--layers", paramLabel = "N", description = "Transformer blocks.")
    Integer layers;

    @Option(names = "--dim", paramLabel = "N", description = "Embedding width.")
    Integer dim;

    @Option(names = "--ff", paramLabel = "N", description = "Feed-forward width.")
    Integer ff;

    @Option(names = "--heads", paramLabel = "N", description = "Attention heads.")
    Integer heads;

    @Option(names = "--kv-heads", paramLabel = "N", description = "Key/value heads (default: as --heads for a custom shape).")
    Integer kvHeads;

    @Option(names = "--head-dim", paramLabel = "N", description = "Width of one attention head (default: --dim / --heads).")
    Integer headDim;

    @Option(names = "--vocab", paramLabel = "N", description = "Vocabulary size (at least " + ModelShape.MIN_VOCAB + ").")
    Integer vocab;

    @Option(names = "--context", paramLabel = "N", description = "Context length in the metadata (default for a custom shape: 2048).")
    Integer context;

    @Option(names = "--tied-embeddings", negatable = true,
            description = "Reuse the token embedding as the output projection (no output.weight); default: the shape's, false for custom.")
    Boolean tied;

    @Option(names = "--sliding-window", paramLabel = "N",
            description = "attention.sliding_window in the metadata; 0 for none (default: mistral 4096, gemma2 4096, gemma3 512, others none).")
    Integer slidingWindow;

    @Option(names = "--weight-std", paramLabel = "F", description = "Standard deviation of the weight matrices (default: 0.02).")
    Float weightStd;

    @Option(names = "--output-std", paramLabel = "F",
            description = "Standard deviation of the output projection; larger values make a confident model (default: 0.02).")
    Float outputStd;

    @Option(names = "--norm-std", paramLabel = "F", description = "Spread of norm weights around 1 and of biases around 0 (default: 0).")
    Float normStd;

    @Option(names = "--rope-scaling", paramLabel = "TYPE", defaultValue = "none",
            description = "rope.scaling.type: none, linear or yarn (default: ${DEFAULT-VALUE}).")
    String ropeScaling;

    @Option(names = "--rope-factor", paramLabel = "F", defaultValue = "1", description = "rope.scaling.factor (default: ${DEFAULT-VALUE}).")
    float ropeFactor;

    @Option(names = "--rope-freqs", description = "Write a rope_freqs.weight tensor of frequency factors (Llama 3.1 style; llama and mistral).")
    boolean ropeFreqs;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "f16",
            description = "Weight type: f32, f16, bf16, q8_0, q4_0, q4_k_m or q5_k_m (Q4_K or Q5_K with some Q6_K, as llama-quantize Q4_K_M and Q5_K_M; like llama-quantize, q4_k and q5_k name these mixes; case and - vs _ do not matter) (default: ${DEFAULT-VALUE}).")
    String typeName;

    @Option(names = {"-s", "--seed"}, paramLabel = "SEED", defaultValue = "42",
            description = "Seed of the random weights; the same seed gives the same file (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "The GGUF file to write.")
    Path output;

    @Option(names = "--force", description = "Overwrite FILE if it exists.")
    boolean force;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads generating weights (default: all cores).")
    Integer threads;

    @Option(names = "--progress", negatable = true,
            description = "Show a progress bar on standard error (default: when it is a terminal).")
    Boolean progress;

    @Override
    public void run() {
        PrintStream err = parent.streams().err();
        SynthType type = SynthType.parse(typeName);
        ModelShape shape = shape();
        SynthOptions opts = options(); // every argument is checked before the output file is looked at
        checkShapeFitsArch(opts.arch());
        ModelSynthesizer synth = new ModelSynthesizer(shape, type, opts);
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (nThreads < 1) {
            throw new ArgonException("threads (-t) must be at least 1, got " + nThreads);
        }
        if (output.toString().isBlank()) {
            throw new ArgonException("no output file: -o is empty");
        }
        if (Files.isDirectory(output)) {
            throw new ArgonException(output + " is a directory; give the file to write with -o");
        }
        Path dir = output.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new ArgonException("cannot write " + output + ": directory " + dir + " does not exist");
        }
        if (Files.exists(output, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !force) {
            throw new ArgonException(output + " already exists; use --force to overwrite it");
        }
        checkFreeSpace(synth, dir != null ? dir : output.toAbsolutePath());
        String note = synth.fallbackSummary();
        if (note != null) {
            err.println("argon: note: " + note);
        }
        long start = System.nanoTime();
        ModelSynthesizer.Result r;
        if (progress != null ? progress : ProgressBars.isTerminal()) {
            try (ProgressBar bar = progressBar(err)) {
                r = synth.write(output, seed, nThreads, (written, total) -> {
                    bar.maxHint(total);
                    bar.stepTo(written);
                });
            }
        } else {
            r = synth.write(output, seed, nThreads, null);
        }
        err.printf(Locale.ROOT, "argon: wrote %s: %.1f MiB (%,d bytes), %,d parameters; %s, %s, seed %d, in %.1f s%n",
                r.path(), r.fileBytes() / (double) (1 << 20), r.fileBytes(), r.parameterCount(),
                synth.options().arch() == SynthArch.LLAMA ? shape : synth.options().arch().cliName() + " " + shape, type.cliName(), seed,
                (System.nanoTime() - start) / 1e9);
    }

    /** Refuses up front a model larger than the free space where it would be written. */
    private static void checkFreeSpace(ModelSynthesizer synth, Path dir) {
        long need = synth.tensors().stream().mapToLong(ModelSynthesizer.TensorSpec::bytes).sum();
        long free;
        try {
            free = Files.getFileStore(dir).getUsableSpace();
        } catch (java.io.IOException e) {
            return; // unknown: the write itself reports a full disk
        }
        if (need > free) {
            throw new ArgonException("the model needs " + humanBytes(need) + " of tensor data but " + dir + " has only "
                    + humanBytes(free) + " free; choose a smaller shape or type, or another -o");
        }
    }

    /** @return {@code bytes} in the largest binary unit that keeps it at 1 or more (B, KiB, MiB, GiB, TiB), one decimal */
    static String humanBytes(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** The architecture, spreads and RoPE settings the flags give. */
    SynthOptions options() {
        SynthOptions o = SynthOptions.of(SynthArch.parse(archName));
        o = o.withStd(weightStd != null ? weightStd : o.weightStd(), outputStd != null ? outputStd : o.outputStd(),
                normStd != null ? normStd : o.normStd());
        if (slidingWindow != null) {
            if (slidingWindow < 0) {
                throw new ArgonException("--sliding-window is " + slidingWindow + "; expected 0 (none) or a positive number");
            }
            o = o.withSlidingWindow(slidingWindow);
        }
        if (pooling != null) {
            if (!o.arch().encoder()) {
                throw new ArgonException("--pooling applies to bert (an encoder: --arch bert); --arch " + o.arch().cliName()
                        + " is a decoder, which has no pooling");
            }
            o = o.withPooling(pooling);
        } else if (o.arch().encoder() && ModelShape.BGE_SMALL_EN_V1_5.name().equalsIgnoreCase(shapeName)) {
            o = o.withPooling("cls"); // as the real model's sentence-transformers config
        }
        return o.withRopeScaling(ropeScaling, ropeFactor).withRopeFreqs(ropeFreqs);
    }

    /** Named shapes of encoders: they take {@code --arch bert}, and the others a decoder's architecture. */
    private static final java.util.Set<String> ENCODER_SHAPES = java.util.Set.of(ModelShape.ALL_MINILM_L6_V2.name(),
            ModelShape.BGE_SMALL_EN_V1_5.name());

    /** @throws ArgonException if {@code --shape} names an encoder's shape for a decoder architecture, or the reverse */
    private void checkShapeFitsArch(SynthArch arch) {
        if (shapeName == null) {
            return;
        }
        String name = ModelShape.named(shapeName).name();
        if (ENCODER_SHAPES.contains(name) && !arch.encoder()) {
            throw new ArgonException("--shape " + name + " is a BERT encoder's shape; use it with --arch bert (this run has --arch "
                    + arch.cliName() + ")");
        }
        if (!ENCODER_SHAPES.contains(name) && arch.encoder()) {
            throw new ArgonException("--shape " + name + " is a decoder's shape; --arch " + arch.cliName() + " takes "
                    + String.join(" or ", new java.util.TreeSet<>(ENCODER_SHAPES)) + " (or a custom shape: --layers, --dim, ...)");
        }
    }

    /** The named shape with any flags applied, or the custom shape the flags give. */
    ModelShape shape() {
        if (shapeName != null) {
            ModelShape b = ModelShape.named(shapeName);
            if (layers == null && dim == null && ff == null && heads == null && kvHeads == null && vocab == null
                    && context == null && tied == null && headDim == null) {
                return b;
            }
            return new ModelShape("custom", or(layers, b.nLayers()), or(dim, b.dim()), or(ff, b.ffDim()), or(heads, b.nHeads()),
                    or(kvHeads, b.nKvHeads()), or(vocab, b.vocab()), or(context, b.contextLength()), b.ropeTheta(), b.rmsEps(),
                    tied != null ? tied : b.tiedEmbeddings(), or(headDim, b.headSize()));
        }
        List<String> missing = new ArrayList<>();
        if (layers == null) {
            missing.add("--layers");
        }
        if (dim == null) {
            missing.add("--dim");
        }
        if (ff == null) {
            missing.add("--ff");
        }
        if (heads == null) {
            missing.add("--heads");
        }
        if (vocab == null) {
            missing.add("--vocab");
        }
        if (missing.size() == 5 && kvHeads == null) {
            throw new ArgonException("no shape given: use --shape NAME (" + ModelShape.names()
                    + ") or a custom shape with --layers, --dim, --ff, --heads, --kv-heads, --vocab");
        }
        if (!missing.isEmpty()) {
            throw new ArgonException("custom shape: missing " + String.join(", ", missing)
                    + " (or start from a named shape with --shape NAME: " + ModelShape.names() + ")");
        }
        return new ModelShape("custom", layers, dim, ff, heads, or(kvHeads, heads), vocab, or(context, 2048), 10000f, 1e-5f,
                tied != null && tied, or(headDim, 0));
    }

    private static int or(Integer v, int def) {
        return v != null ? v : def;
    }

    private ProgressBar progressBar(PrintStream err) {
        return ProgressBars.create(err, "synth " + output.getFileName(), 1, "MiB", 1 << 20);
    }
}
