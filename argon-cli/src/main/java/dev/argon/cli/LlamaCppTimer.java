package dev.argon.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * llama.cpp on the same model file, timed run by run so that {@code argon bench --vs-llama-cpp}
 * can alternate it with Argon: a native {@code llama-bench} ({@link NativeLlamaBench}) when one is
 * found, else llama.cpp's prebuilt library through node-llama-cpp ({@link LlamaCppRunner}), whose
 * per-call overhead understates llama.cpp's decode speed.
 */
interface LlamaCppTimer extends AutoCloseable {
    /** The environment variable naming a native {@code llama-bench} executable. */
    String LLAMA_BENCH_ENV = "LLAMA_BENCH";

    /** @return seconds llama.cpp took for one run of {@code test} ("pp" or "tg") over {@code n} tokens */
    double time(String test, int n);

    /** @return what runs, for the report (e.g. "native llama-bench /path" or "node-llama-cpp") */
    String describe();

    @Override
    void close();

    /**
     * Starts the comparison: {@code $LLAMA_BENCH} if set, else
     * {@code ~/.cache/llama.cpp-native/build/bin/llama-bench} (where
     * {@code ../shared/tools/build-llama-cpp.sh} builds it) if present, else node-llama-cpp.
     *
     * @throws dev.argon.ArgonException if {@code $LLAMA_BENCH} is not an executable file, or
     *     node-llama-cpp is needed and missing
     */
    static LlamaCppTimer start(Function<String, String> env, Path toolsDir, Path model, int threads, int vocabSize,
                               int contextSize) {
        String given = env.apply(LLAMA_BENCH_ENV);
        if (given != null && !given.isBlank()) {
            return NativeLlamaBench.of(Path.of(given), model, threads, LLAMA_BENCH_ENV);
        }
        String home = env.apply("HOME");
        if (home != null) {
            Path built = Path.of(home, ".cache", "llama.cpp-native", "build", "bin", "llama-bench");
            if (Files.isExecutable(built)) {
                return NativeLlamaBench.of(built, model, threads, built.toString());
            }
        }
        return LlamaCppRunner.start(toolsDir, model, threads, vocabSize, contextSize);
    }
}
