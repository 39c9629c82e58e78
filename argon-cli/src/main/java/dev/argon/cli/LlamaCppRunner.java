package dev.argon.cli;

import dev.argon.ArgonException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Drives llama.cpp (prebuilt, through the npm package node-llama-cpp) as a child process running
 * {@code tools/llama-cpp/bench.mjs}: it loads the model once, then times one prompt-processing or
 * generation run per request, so Argon and llama.cpp can be measured alternately in one run.
 */
final class LlamaCppRunner implements LlamaCppTimer {
    private final Process process;
    private final BufferedReader in;
    private final Writer out;

    private LlamaCppRunner(Process process) {
        this.process = process;
        this.in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.out = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    }

    /**
     * Starts llama.cpp on a model.
     *
     * @throws ArgonException if node or node-llama-cpp is missing or the model does not load
     */
    static LlamaCppRunner start(Path toolsDir, Path model, int threads, int vocabSize, int contextSize) {
        Path script = toolsDir.resolve("bench.mjs");
        if (!Files.isDirectory(toolsDir.resolve("node_modules").resolve("node-llama-cpp"))) {
            throw new ArgonException("--vs-llama-cpp needs node-llama-cpp: run " + toolsDir.resolve("install.sh") + " (Node.js and npm required)");
        }
        try {
            Process p = new ProcessBuilder(List.of("node", script.toString(), model.toAbsolutePath().toString(),
                    Integer.toString(threads), Integer.toString(vocabSize), Integer.toString(contextSize)))
                    .directory(toolsDir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            LlamaCppRunner r = new LlamaCppRunner(p);
            String first = r.in.readLine();
            if (!"ready".equals(first)) {
                r.close();
                throw new ArgonException("llama.cpp (node-llama-cpp) could not load " + model + (first == null ? "" : ": " + first));
            }
            return r;
        } catch (IOException e) {
            throw new ArgonException("cannot start node for the llama.cpp comparison: " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return "llama.cpp through node-llama-cpp (its per-call overhead slows tg)";
    }

    @Override
    public double time(String test, int n) {
        try {
            out.write(test + " " + n + "\n");
            out.flush();
            String line = in.readLine();
            if (line == null) {
                throw new ArgonException("llama.cpp (node-llama-cpp) exited during the benchmark");
            }
            try {
                return Double.parseDouble(line.trim());
            } catch (NumberFormatException e) {
                throw new ArgonException("llama.cpp (node-llama-cpp) answered '" + line + "'");
            }
        } catch (IOException e) {
            throw new ArgonException("lost the llama.cpp process: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.write("quit\n");
            out.flush();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
