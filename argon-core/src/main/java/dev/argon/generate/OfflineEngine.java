package dev.argon.generate;

import dev.argon.ArgonException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.BiConsumer;

/**
 * An engine that runs the generations of an offline batch job somewhere else than in the calling
 * process's own scheduler ({@code argon batch --engine NAME}; the {@code argon-spark} module
 * provides {@code spark}). It is a service provider interface: implementations are found with
 * {@link ServiceLoader} through {@link Provider}, so the command that uses one does not depend on
 * it (nor on its libraries) at compile time.
 *
 * <p>The caller parses, validates and tokenizes every request itself (so errors and prompts are
 * the same as with the local engine); the engine only generates from prompt token ids, and the
 * caller builds the answers from the {@link GenerationResult}s.
 */
public interface OfflineEngine extends AutoCloseable {

    /**
     * Settings of a job.
     *
     * @param model the GGUF file
     * @param master where to run (for Spark a master URL such as {@code local[2]} or
     *     {@code spark://host:7077})
     * @param parallel sequences generated together per engine process
     * @param batchTokens prompt tokens per forward pass (packed prefill)
     * @param contextLength KV cache tokens per sequence
     * @param threads threads of the forward pass per engine process (0: all cores)
     * @param cacheType KV cache type as the {@code --cache-type} flag names it
     */
    record Options(Path model, String master, int parallel, int batchTokens, int contextLength, int threads, String cacheType) {
    }

    /**
     * One generation.
     *
     * @param id the caller's id, unique within one {@link #run} call
     * @param promptIds prompt token ids (BOS included when wanted), shorter than the context
     * @param request sampling, stop strings and length; its prompt text is not used
     */
    record Job(long id, int[] promptIds, GenerationRequest request) {
    }

    /**
     * How a job ended: a result, or the reason it failed (one line).
     *
     * @param result the generation, or null when it failed
     * @param error why it failed, or null
     */
    record Outcome(GenerationResult result, String error) {
    }

    /** Makes engines of one name; listed in {@code META-INF/services/dev.argon.generate.OfflineEngine$Provider}. */
    interface Provider {
        /** @return the engine's name ({@code --engine NAME}) */
        String name();

        /**
         * Starts an engine.
         *
         * @throws ArgonException if the settings are invalid or the engine cannot start
         */
        OfflineEngine open(Options options);
    }

    /**
     * @return null when this engine can run {@code request}, else why not (one line naming the
     *     request field, e.g. log-probabilities or a grammar it cannot carry)
     */
    String unsupported(GenerationRequest request);

    /**
     * Runs the jobs and reports each one's outcome to {@code done} on the calling thread, in any
     * order, as groups of them finish; returns when all have been reported. Several threads may
     * call it at once ({@code argon batch} keeps two calls running, so one job's last rows and the
     * next job's first rows share the engine); each call reports only its own jobs.
     *
     * @throws ArgonException if the engine failed as a whole (a job's own failure is its outcome)
     */
    void run(List<Job> jobs, BiConsumer<Job, Outcome> done);

    /** Stops the engine and frees what it holds. */
    @Override
    void close();

    /**
     * Finds the provider of an engine with {@link ServiceLoader} on the class path.
     *
     * @param name the engine's name
     * @param needs what must be on the class path for it, for the error message; null for a name no one
     *              ships (the error then says the engine is unknown)
     * @throws ArgonException naming the engine and what is missing when no provider has that name
     */
    static Provider provider(String name, String needs) {
        List<String> found = new ArrayList<>();
        for (Provider p : ServiceLoader.load(Provider.class)) {
            if (p.name().equals(name)) {
                return p;
            }
            found.add(p.name());
        }
        String foundText = found.isEmpty() ? "" : " (engines found: " + String.join(", ", found) + ")";
        if (needs == null) {
            throw new ArgonException("unknown --engine '" + name + "'; expected local, spark or an engine on the class path"
                    + foundText);
        }
        throw new ArgonException("the " + name + " engine needs " + needs + " on the class path" + foundText);
    }
}
