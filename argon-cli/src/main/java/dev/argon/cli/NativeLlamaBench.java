package dev.argon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.ArgonException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A native {@code llama-bench} (llama.cpp's benchmark tool) as {@link LlamaCppTimer}: each timed
 * run is one {@code llama-bench -m MODEL -t T -p N -n 0 -r 1 -o json} (or {@code -p 0 -n N}), and
 * the time is its reported {@code avg_ns}, which excludes loading the model.
 */
final class NativeLlamaBench implements LlamaCppTimer {
    /** The longest one llama-bench run may take, in seconds. */
    private static final long RUN_LIMIT_S = 600;

    private final Path executable;
    private final Path model;
    private final int threads;

    private NativeLlamaBench(Path executable, Path model, int threads) {
        this.executable = executable;
        this.model = model;
        this.threads = threads;
    }

    /**
     * @param source where the path came from, for the error message
     * @throws ArgonException if {@code executable} is not an executable file
     */
    static NativeLlamaBench of(Path executable, Path model, int threads, String source) {
        if (!Files.isRegularFile(executable) || !Files.isExecutable(executable)) {
            throw new ArgonException(source + ": " + executable + " is not an executable llama-bench"
                    + " (build one with ../shared/tools/build-llama-cpp.sh)");
        }
        return new NativeLlamaBench(executable, model, threads);
    }

    @Override
    public double time(String test, int n) {
        boolean pp = test.equals("pp");
        List<String> cmd = List.of(executable.toString(), "-m", model.toAbsolutePath().toString(), "-t", Integer.toString(threads),
                "-p", Integer.toString(pp ? n : 0), "-n", Integer.toString(pp ? 0 : n), "-r", "1", "-o", "json");
        String output;
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            byte[] bytes = p.getInputStream().readAllBytes();
            if (!p.waitFor(RUN_LIMIT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new ArgonException("llama-bench took longer than " + RUN_LIMIT_S + " s: " + String.join(" ", cmd));
            }
            output = new String(bytes, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new ArgonException("llama-bench failed (exit " + p.exitValue() + "): " + String.join(" ", cmd));
            }
        } catch (IOException e) {
            throw new ArgonException("cannot run " + executable + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ArgonException("interrupted while llama-bench ran");
        }
        return seconds(output, cmd);
    }

    /** @return the {@code avg_ns} of the one test in llama-bench's JSON output, in seconds */
    static double seconds(String json, List<String> cmd) {
        try {
            JsonNode rows = new ObjectMapper().readTree(json);
            JsonNode row = rows != null && rows.isArray() && rows.size() == 1 ? rows.get(0) : null;
            JsonNode ns = row == null ? null : row.get("avg_ns");
            if (ns == null || !ns.isNumber() || ns.asDouble() <= 0) {
                throw new ArgonException("llama-bench printed no single test with a positive avg_ns: " + String.join(" ", cmd));
            }
            return ns.asDouble() / 1e9;
        } catch (IOException e) {
            throw new ArgonException("llama-bench's output is not JSON (" + e.getMessage() + "): " + String.join(" ", cmd));
        }
    }

    @Override
    public String describe() {
        return "native llama-bench " + executable;
    }

    @Override
    public void close() {
        // nothing runs between timed runs
    }
}
