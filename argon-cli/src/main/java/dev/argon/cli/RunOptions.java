package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.sampling.SamplingParams;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/**
 * Options shared by the commands that generate ({@code generate}, {@code chat}): sampling, context,
 * threads and arithmetic, with llama.cpp's flag names, plus the checks that turn their values into
 * library settings with errors that name the flags.
 */
final class RunOptions {
    /** Default context size cap when the model's own context is larger (tokens). */
    static final int DEFAULT_MAX_CONTEXT = 4096;

    /** Library parameter names and the flags that set them. */
    private static final Map<String, String> FLAGS = Map.of(
            "temperature", "--temp", "topK", "--top-k", "topP", "--top-p", "minP", "--min-p",
            "repeatPenalty", "--repeat-penalty", "repeatLastN", "--repeat-last-n", "seed", "--seed");

    @Option(names = "--temp", paramLabel = "T", defaultValue = "0.8", description = "Temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k sampling; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Top-p (nucleus) sampling; 1 = off, 0 = the most likely token only (default: ${DEFAULT-VALUE}).")
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

    @picocli.CommandLine.Mixin
    CacheTypeOptions cache = new CacheTypeOptions();

    @picocli.CommandLine.Mixin
    ContextPolicyOptions contextPolicy = new ContextPolicyOptions();

    @Option(names = "--f32-activations",
            description = "Multiply Q4_0/Q8_0/Q4_K/Q5_K/Q6_K weights with exact F32 activations instead of 8-bit ones (llama.cpp's arithmetic, the default).")
    boolean f32Activations;

    @Option(names = "--verbose-prompt",
            description = "Print the prompt's token ids and pieces to standard error, one 'id -> piece' line each (as 'argon tokenize').")
    boolean verbosePrompt;

    /** With {@code --verbose-prompt}: the prompt's tokens on standard error, formatted as {@code argon tokenize} prints them. */
    void printPrompt(dev.argon.tokenizer.Tokenizer tokenizer, int[] ids, java.io.PrintStream err) {
        if (!verbosePrompt) {
            return;
        }
        err.printf("argon: prompt: %d tokens%n", ids.length);
        for (int id : ids) {
            err.printf("%6d -> '%s'%n", id, tokenizer.piece(id));
        }
        err.flush();
    }

    /** @return the sampler settings */
    SamplingParams sampling() {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed);
    }

    /**
     * Validates a request built from these options, the context flag and the context policy flags (what needs no
     * model), naming flags rather than library fields in the error.
     */
    void validate(GenerationRequest request) {
        contextPolicy.check();
        if (contextSize < 0) {
            throw new ArgonException("context size (-c) is " + contextSize + "; expected 0 (model default) or a positive number of tokens");
        }
        try {
            request.validate();
        } catch (ArgonException e) {
            String message = e.getMessage();
            for (Map.Entry<String, String> f : FLAGS.entrySet()) {
                message = message.replaceAll("\\b" + f.getKey() + "\\b", f.getValue());
            }
            throw new ArgonException(message);
        }
        cachePrecision();
    }

    /** @return the KV cache type of {@code --cache-type} / {@code -ctk} / {@code -ctv} (one for keys and values) */
    KvCache.Precision cachePrecision() {
        return cache.single();
    }

    /**
     * Prints the KV cache line of the load report: type, bytes per token (all layers, keys and
     * values) and the total for {@code sequences} caches of {@code ctx} tokens.
     */
    void printKvCache(LanguageModel model, int ctx, int sequences, PrintStream err) {
        if (model instanceof dev.argon.model.TextEncoder) {
            err.println("argon: " + model.config().architecture() + " is a text encoder: embeddings only (no KV cache, no generation)");
            return;
        }
        var c = model.config();
        KvCache.Precision type = cachePrecision();
        long perToken = KvCache.bytesPerToken(c.nLayers(), c.kvDim(), c.headDim(), type, type);
        var policy = contextPolicy.policy(model.tokenizer(), ctx);
        err.printf(Locale.ROOT, "argon: KV cache %s: %d bytes per token, %.2f MiB for %d x %d tokens%s%n", type.flagName(), perToken,
                perToken * (double) ctx * sequences / (1 << 20), sequences, ctx,
                policy.compresses() ? "; " + policy + ", older tokens merged" : policy.unbounded() ? "; when full: " + policy
                : policy.selectsSentences() ? "; " + policy + " read per query; " + sentenceIndexBytes(c.nLayers(), c.kvDim()) : "");
    }

    /** @return the load line's part for the SentenceKV index of one cache: bytes per sentence and per token */
    static String sentenceIndexBytes(int nLayers, int kvDim) {
        return "SentenceKV index: " + dev.argon.kv.SentenceIndex.bytesPerSentence(nLayers, kvDim) + " bytes per sentence + "
                + dev.argon.kv.SentenceIndex.BYTES_PER_ROW + " per token";
    }

    /** @return a generator for {@code model} with the KV cache type and context policy of the flags */
    dev.argon.generate.Generator generator(LanguageModel model, int ctx) {
        return new dev.argon.generate.Generator(model, cachePrecision(), contextPolicy.policy(model.tokenizer(), ctx));
    }

    /** @return {@code sampling}'s logit bias plus -100 (a ban) for every end-of-generation token (llama.cpp's {@code --ignore-eos}) */
    static Map<Integer, Float> endOfGenerationBan(dev.argon.tokenizer.Tokenizer tokenizer, SamplingParams sampling) {
        Map<Integer, Float> bias = new java.util.TreeMap<>(sampling.logitBias());
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (tokenizer.isEndOfGeneration(id)) {
                bias.put(id, -100f);
            }
        }
        return bias;
    }

    /** @return the thread count ({@code -t}, default all cores) */
    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** @return how to load the model */
    ModelOptions modelOptions() {
        return new ModelOptions(threadCount(), !f32Activations);
    }

    /**
     * The context size for a loaded model: {@code -c}, or the model's capped at
     * {@value #DEFAULT_MAX_CONTEXT}. Warns about more threads than cores.
     *
     * @throws ArgonException if its KV cache cannot fit in the heap (checked before allocating)
     */
    int contextFor(LanguageModel model, PrintStream err) {
        return contextFor(model, 1, err);
    }

    /**
     * {@link #contextFor(LanguageModel, PrintStream)} for {@code sequences} KV caches of the
     * context each ({@code argon serve --parallel}).
     */
    int contextFor(LanguageModel model, int sequences, PrintStream err) {
        int ctx = contextSize > 0 ? contextSize : Math.min(model.config().contextLength(), DEFAULT_MAX_CONTEXT);
        if (ctx < 2) {
            throw new ArgonException("context size (-c) is " + ctx + "; expected at least 2 tokens");
        }
        var c = model.config();
        KvCache.Precision type = cachePrecision();
        long need = KvCache.bytesPerToken(c.nLayers(), c.kvDim(), c.headDim(), type, type) * ctx;
        long max = Runtime.getRuntime().maxMemory();
        if (need > max * 3 / 4 / sequences) {
            String what = sequences == 1 ? String.format(Locale.ROOT, "a context of %d tokens", ctx)
                    : String.format(Locale.ROOT, "%d sequences (--parallel) of %d tokens", sequences, ctx);
            throw new ArgonException(String.format(Locale.ROOT,
                    "%s need%s %.1f GiB of KV cache but the Java heap allows %.1f GiB; use a smaller -c%s or a larger heap (ARGON_JAVA_OPTS=-Xmx...)",
                    what, sequences == 1 ? "s" : "", (double) need * sequences / 1073741824.0, max / 1073741824.0,
                    sequences == 1 ? "" : " or --parallel"));
        }
        int cores = Runtime.getRuntime().availableProcessors();
        if (threadCount() > cores) {
            err.printf("argon: warning: %d threads on %d cores will be slower than %d%n", threadCount(), cores, cores);
        }
        return ctx;
    }
}
