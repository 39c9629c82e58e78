package dev.argon.spark;

import dev.argon.ArgonException;
import dev.argon.generate.BatchScheduler;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import org.apache.spark.SparkFiles;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Argon engine per executor JVM and settings: the model is memory-mapped and loaded once, the
 * first time a task of that JVM needs it, and every task (partition) of the JVM submits its rows to
 * the same continuous-batching {@link BatchScheduler}, so concurrent tasks share forward passes.
 * Engines live until the JVM ends.
 */
public final class ExecutorEngine {
    private static final Map<Settings, ExecutorEngine> ENGINES = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    /** Requests that may wait for a slot, all tasks of the JVM together. */
    static final int QUEUE = 4096;

    /**
     * What an engine is made from (the key of the per-JVM cache).
     *
     * @param modelPath a GGUF file readable on the executor, or the name of a file the driver
     *     distributed with {@code SparkContext.addFile} (found with {@link SparkFiles#get})
     * @param threads threads of the model's forward pass (0: all cores of the executor)
     * @param contextLength KV cache size per sequence in tokens
     * @param parallel sequences generated together
     * @param batchTokens prompt tokens per forward pass, packed from several prompts
     * @param cacheType KV cache type ({@code f16}, {@code f32}, {@code q8_0}, ...)
     */
    public record Settings(String modelPath, int threads, int contextLength, int parallel, int batchTokens, String cacheType)
            implements Serializable {
    }

    private final LanguageModel model;
    private final BatchScheduler scheduler;
    private final Generator tokenizer;
    private final int contextLength;

    private ExecutorEngine(Settings s) {
        Path path = resolve(s.modelPath());
        int threads = s.threads() > 0 ? s.threads() : Runtime.getRuntime().availableProcessors();
        KvCache.Precision precision = KvCache.Precision.parse(s.cacheType(), "cacheType");
        this.model = Models.load(path, new ModelOptions(threads, true));
        int ctx = Math.min(s.contextLength(), model.config().contextLength());
        this.contextLength = ctx;
        this.scheduler = new BatchScheduler(model, new BatchScheduler.Options(s.parallel(), ctx, precision, QUEUE,
                s.batchTokens(), true));
        this.tokenizer = new Generator(model, precision);
        LOADS.incrementAndGet();
    }

    /** @return this JVM's engine for {@code s}, loading the model on first use */
    public static ExecutorEngine get(Settings s) {
        return ENGINES.computeIfAbsent(s, ExecutorEngine::new);
    }

    /** @return how many models this JVM has loaded (one per distinct {@link Settings}) */
    public static int loads() {
        return LOADS.get();
    }

    private static Path resolve(String modelPath) {
        Path p = Path.of(modelPath);
        if (Files.isRegularFile(p)) {
            return p;
        }
        Path fileName = p.getFileName();
        if (fileName != null) {
            try {
                Path shipped = Path.of(SparkFiles.get(fileName.toString()));
                if (Files.isRegularFile(shipped)) {
                    return shipped;
                }
            } catch (RuntimeException noSparkContext) {
                // not inside a Spark task: report the path as given
            }
        }
        throw new ArgonException("model " + modelPath + " not found on this executor (give a path every executor can read,"
                + " or ship it with SparkContext.addFile)");
    }

    /**
     * Submits a generation; its result is collected later with {@link BatchScheduler.Handle#await}.
     *
     * @throws ArgonException if the request is invalid or its prompt does not fit the context
     */
    BatchScheduler.Handle submit(GenerationRequest req) {
        int[] ids = tokenizer.tokenizePrompt(req, contextLength);
        return scheduler.submit(req, ids, () -> false);
    }

    /**
     * Submits a generation of a prompt given as token ids (used as they are: no BOS is added).
     *
     * @throws ArgonException if the request is invalid or the prompt is empty or does not fit the context
     */
    BatchScheduler.Handle submit(GenerationRequest req, int[] promptIds) {
        return scheduler.submit(req, promptIds, () -> false);
    }

    /** Runs one generation to its end (blocking). */
    GenerationResult generate(GenerationRequest req) throws InterruptedException {
        return submit(req).await(text -> { });
    }
}
