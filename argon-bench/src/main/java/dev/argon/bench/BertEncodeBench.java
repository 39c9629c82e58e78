package dev.argon.bench;

import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.model.TextEncoder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One BERT encoder pass ({@link TextEncoder#encode}) over {@code tokens} random token ids, for a
 * {@code bert} GGUF ({@code -p model=PATH}, e.g. {@code argon synth --arch bert --shape all-minilm-l6-v2}),
 * with llama.cpp's arithmetic (8-bit activations for Q8_0/Q4_0 weights). Read {@code ms/op};
 * tokens per second = tokens / (ms/op) * 1000.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BertEncodeBench {
    @Param({""})
    public String model;

    @Param({"128", "512"})
    public int tokens;

    @Param({"2"})
    public int threads;

    private LanguageModel lm;
    private int[] ids;

    @Setup
    public void setUp() {
        if (model.isEmpty()) {
            throw new IllegalArgumentException("give the model with -p model=PATH (a bert GGUF)");
        }
        lm = Models.load(Path.of(model), new ModelOptions(threads, true));
        if (!(lm instanceof TextEncoder enc)) {
            throw new IllegalArgumentException(model + " is not an encoder (general.architecture bert)");
        }
        Random r = new Random(1);
        ids = new int[Math.min(tokens, enc.maxTokens())];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 104 + r.nextInt(lm.config().vocabSize() - 104);
        }
    }

    @Benchmark
    public float[] encode() {
        return ((TextEncoder) lm).encode(ids);
    }

    @TearDown
    public void tearDown() {
        lm.close();
    }
}
