package dev.argon.bench;

import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * Prefill of many prompts of different lengths (the Prepacking paper's setting, Zhao et al. 2024):
 * the time to compute every prompt's KV cache and last-token logits, for one GGUF model
 * ({@code -p model=PATH}, e.g. one written by {@code argon synth}).
 *
 * <p>Modes:
 * <ul>
 *   <li>{@code packed}: what {@code BatchScheduler} does — forward passes of up to {@code batchTokens}
 *       rows filled from the prompts in turn, each row with its own sequence and position
 *       (attention Σ lenᵢ², no padding);</li>
 *   <li>{@code oneByOne}: each prompt alone, in passes of up to {@code batchTokens} of its rows;</li>
 *   <li>{@code padded}: every prompt left-padded to the longest one, L (the pad rows are computed
 *       like real rows, as a padded batch computes them), packed into the same passes: B × L rows,
 *       attention B × L²;</li>
 *   <li>{@code single}: one prompt as long as all of them together (Σ lenᵢ rows, attention (Σ lenᵢ)²),
 *       the lower bound on weight passes.</li>
 * </ul>
 * Prompt lengths are uniform in {@code [minLen, maxLen]} (seeded); token ids are random (their
 * values do not change the arithmetic). Read {@code ms/op} (lower is better) and compare modes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class PackedPrefillBench {
    @Param({""})
    public String model;

    @Param({"packed", "oneByOne", "padded", "single"})
    public String mode;

    @Param({"16"})
    public int prompts;

    @Param({"20"})
    public int minLen;

    @Param({"400"})
    public int maxLen;

    @Param({"512"})
    public int batchTokens;

    @Param({"2"})
    public int threads;

    private LanguageModel lm;
    private int[][] tokens;
    private InferenceState[] states;
    private InferenceState longState;
    private int singleLength;
    private int longest;
    private Batch batch;

    @Setup(Level.Trial)
    public void setUp() {
        if (model.isEmpty()) {
            throw new IllegalArgumentException("give a model: -p model=PATH (e.g. from argon synth)");
        }
        lm = Models.load(Path.of(model), new ModelOptions(threads, true));
        Random r = new Random(42);
        int vocab = lm.config().vocabSize();
        tokens = new int[prompts][];
        long total = 0;
        for (int i = 0; i < prompts; i++) {
            tokens[i] = new int[minLen + r.nextInt(maxLen - minLen + 1)];
            for (int j = 0; j < tokens[i].length; j++) {
                tokens[i][j] = 1 + r.nextInt(vocab - 1);
            }
            total += tokens[i].length;
            longest = Math.max(longest, tokens[i].length);
        }
        states = new InferenceState[prompts];
        for (int i = 0; i < prompts; i++) {
            states[i] = lm.newState(maxLen + 1, KvCache.Precision.F16);
        }
        if (mode.equals("single")) {
            singleLength = Math.toIntExact(total);
            longState = lm.newState(singleLength + 1, KvCache.Precision.F16);
        }
        batch = new Batch(batchTokens);
        System.out.println("# PackedPrefillBench: " + prompts + " prompts, " + total + " tokens (" + minLen + ".." + maxLen
                + "), padded to " + prompts + " x " + longest + " = " + (long) prompts * longest + ", " + batchTokens + " rows per pass, " + threads + " threads");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        lm.close();
    }

    @Benchmark
    public float prefill() {
        return switch (mode) {
            case "packed" -> rows(0, prompts, false);
            case "oneByOne" -> {
                float s = 0;
                for (int i = 0; i < prompts; i++) {
                    s += rows(i, i + 1, false);
                }
                yield s;
            }
            case "padded" -> rows(0, prompts, true);
            case "single" -> single();
            default -> throw new IllegalArgumentException("mode " + mode);
        };
    }

    /** Prefills prompts {@code [from, to)} packed into passes of {@code batchTokens} rows; {@code pad}: left-padded to maxLen. */
    private float rows(int from, int to, boolean pad) {
        float sum = 0;
        batch.clear();
        for (int i = from; i < to; i++) {
            int[] t = tokens[i];
            int len = pad ? longest : t.length;
            int offset = len - t.length; // pad rows first (token 0), then the prompt
            for (int pos = 0; pos < len; pos++) {
                if (batch.remaining() == 0) {
                    sum += run();
                }
                int token = pos < offset ? 0 : t[pos - offset];
                batch.add(states[i], token, pos, true, pos == len - 1);
            }
        }
        return sum + run();
    }

    private float single() {
        float sum = 0;
        batch.clear();
        int pos = 0;
        for (int[] t : tokens) {
            for (int token : t) {
                if (batch.remaining() == 0) {
                    sum += run();
                }
                batch.add(longState, token, pos, true, pos == singleLength - 1);
                pos++;
            }
        }
        return sum + run();
    }

    /** Runs the batch, returns something from its logits (so the work cannot be dropped), clears it. */
    private float run() {
        float s = 0;
        if (batch.size() > 0) {
            lm.forward(batch);
            for (int r = 0; r < batch.size(); r++) {
                try {
                    s += batch.logits(r)[0];
                } catch (IllegalArgumentException noLogits) {
                    // a row that wanted none
                }
            }
        }
        batch.clear();
        return s;
    }
}
