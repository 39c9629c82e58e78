package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code argon generate}: streams a continuation of the prompt to standard output. Diagnostics and
 * the speed report go to standard error, so the output can be piped.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = "Generate text from a prompt. Standard output carries only the generated text.")
final class GenerateCommand implements Runnable {
    /** Default context size cap when the model's own context is larger (tokens). */
    static final int DEFAULT_MAX_CONTEXT = 4096;

    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "Prompt text (default: empty, start from BOS).")
    String prompt;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the prompt from a UTF-8 file.")
    Path promptFile;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "256",
            description = "Tokens to generate; -1 = until end of sequence or the context is full (default: ${DEFAULT-VALUE}).")
    int nPredict;

    @Option(names = "--temp", paramLabel = "T", defaultValue = "0.8", description = "Temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k sampling; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Top-p (nucleus) sampling; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "Min-p sampling; 0 = off (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", paramLabel = "R", defaultValue = "1.0", description = "Repetition penalty; 1 = off (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64", description = "Tokens looked back for the repetition penalty (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = {"-s", "--seed"}, paramLabel = "SEED", defaultValue = "-1", description = "Random seed; -1 = random (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N", defaultValue = "0",
            description = "Context size in tokens; 0 = the model's, capped at " + DEFAULT_MAX_CONTEXT + ".")
    int contextSize;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads (default: all cores).")
    Integer threads;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop when this text appears (not printed); repeatable.")
    List<String> stop = List.of();

    @Option(names = {"--cache-type", "-ctk"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache precision: f16 (llama.cpp's default) or f32 (exact) (default: ${DEFAULT-VALUE}).")
    String cacheType;

    @Option(names = "--f32-activations",
            description = "Multiply Q4_0/Q8_0 weights with exact F32 activations instead of 8-bit ones (llama.cpp's arithmetic, the default).")
    boolean f32Activations;

    @Option(names = "--echo", description = "Print the prompt before the generated text.")
    boolean echo;

    @Option(names = "--parse-special", description = "Treat text such as <s> in the prompt as the special token it names.")
    boolean parseSpecial;

    @Override
    public void run() {
        PrintStream out = parent.streams().out();
        PrintStream err = parent.streams().err();
        String text = promptText();
        if (contextSize < 0) {
            throw new ArgonException("context size (-c) is " + contextSize + "; expected 0 (model default) or a positive number of tokens");
        }
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed);
        GenerationRequest request = new GenerationRequest(text, nPredict, sampling, stop, true, parseSpecial);
        SamplingFlags.validate(request);
        KvCache.Precision precision = switch (cacheType.toLowerCase(Locale.ROOT)) {
            case "f32" -> KvCache.Precision.F32;
            case "f16" -> KvCache.Precision.F16;
            default -> throw new ArgonException("--cache-type is '" + cacheType + "'; expected f32 or f16");
        };
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Path path = modelOption.resolve();
        long loadStart = System.nanoTime();
        try (LanguageModel model = Models.load(path, new ModelOptions(nThreads, !f32Activations))) {
            int ctx = contextSize > 0 ? contextSize : Math.min(model.config().contextLength(), DEFAULT_MAX_CONTEXT);
            SamplingFlags.checkContextFits(model, ctx);
            if (nThreads > Runtime.getRuntime().availableProcessors()) {
                err.printf("argon: warning: %d threads on %d cores will be slower than %d%n", nThreads,
                        Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().availableProcessors());
            }
            Generator generator = new Generator(model, precision);
            int[] promptIds = generator.tokenizePrompt(request, ctx);
            err.printf(Locale.ROOT, "argon: %s (%s, %d parameters) loaded in %.2f s, context %d, %d threads%n",
                    path.getFileName(), model.config().architecture(), model.parameterCount(),
                    (System.nanoTime() - loadStart) / 1e9, ctx, nThreads);
            if (echo) {
                out.print(text);
                out.flush();
            }
            // A closed pipe (| head) or a full disk stops the generation instead of running on unseen.
            GenerationResult r = generator.generate(request, promptIds, ctx, piece -> {
                out.print(piece);
                out.flush();
            }, out::checkError);
            out.println();
            out.flush();
            err.printf(Locale.ROOT, "argon: prompt %d tokens %.1f tokens/s | generated %d tokens %.1f tokens/s | finish: %s%s%n",
                    r.promptTokens().length, r.prefillTokensPerSecond(), r.generatedTokens().length,
                    r.decodeTokensPerSecond(), r.finishReason().name().toLowerCase(Locale.ROOT),
                    temperature > 0 ? " | seed " + r.seed() : "");
            if (out.checkError()) {
                throw new ArgonException("cannot write the generated text to standard output (closed pipe or full disk)");
            }
        }
    }

    private String promptText() {
        if (prompt != null && promptFile != null) {
            throw new ArgonException("give the prompt either with -p or with -f, not both");
        }
        if (promptFile != null) {
            try {
                return Files.readString(promptFile, StandardCharsets.UTF_8);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new ArgonException(promptFile + ": prompt file not found");
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new ArgonException(promptFile + ": prompt file is not valid UTF-8");
            } catch (IOException e) {
                throw new ArgonException(promptFile + ": cannot read prompt file: " + e.getMessage(), e);
            }
        }
        return prompt == null ? "" : prompt;
    }
}
