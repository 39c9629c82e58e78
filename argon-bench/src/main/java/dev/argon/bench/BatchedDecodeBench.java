package dev.argon.bench;

import dev.argon.tensor.GgmlType;
import dev.argon.tensor.Ops;
import dev.argon.tensor.Q8Activations;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;
import org.openjdk.jmh.annotations.AuxCounters;
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

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/**
 * The decode path for several tokens at once: {@link Ops#matmul} with {@code n = tokens} and
 * {@code gemmRows = 0}, so every token goes through the type's dot kernels
 * ({@link Tensor#dotQ8Tokens} for the types with 8-bit activations, which unpack each weight block
 * once for all tokens; one {@link Tensor#dot} per token and row for the others). This is what a
 * server batching several sequences' generated tokens (or speculative decoding) runs.
 *
 * <p>As in {@link MatVecBench}, each operation reads one whole weight matrix from main memory
 * (copies filling {@code footprintMiB}, one per operation), with 8-bit activations where the type
 * supports them, on {@code threads} threads.
 *
 * <p>How to read the results:
 * <ul>
 *   <li>{@code BatchedDecodeBench.decode} (ops/s): weight passes per second, each computing
 *       {@code tokens} output vectors;</li>
 *   <li>{@code :tokens} (printed in "ops/s", it is <b>tokens/s</b>): tokens per second through
 *       this one matrix, {@code ops/s * tokens}. If the kernel were purely memory-bound it would
 *       grow linearly with {@code tokens}; the flatter it stays, the more the per-token work
 *       (unpacking, multiply-adds) dominates the weight read;</li>
 *   <li>{@code :weightGB} (<b>GB/s</b> of weights read, as in {@link MatVecBench}): compare with
 *       {@link MemoryBandwidthBench}; at {@code tokens=1} it equals {@link MatVecBench}'s.</li>
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BatchedDecodeBench {
    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "Q5_0", "Q5_1"})
    public GgmlType type;

    @Param({"1", "4", "8"})
    public int tokens;

    @Param({"1", "2"})
    public int threads;

    @Param({"2048"})
    public int rows;

    @Param({"2048"})
    public int cols;

    /** MiB of weight copies to cycle through; 0: one cache-resident matrix. */
    @Param({"512"})
    public int footprintMiB;

    /** {@code offheap} or {@code mapped} (a memory-mapped temporary file). */
    @Param({"offheap"})
    public String memory;

    private Arena arena;
    private ThreadPool pool;
    private Tensor[] weights;
    private int next;
    private float[] x;
    private Q8Activations xq;
    private float[] out;
    private double gbPerOp;

    /** Secondary results, per second: tokens computed and GB of weights read. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double tokens;
        public double weightGB;

        @Setup(Level.Iteration)
        public void reset() {
            tokens = 0;
            weightGB = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        arena = Arena.ofShared();
        BenchSupport.Weights w = BenchSupport.weights(type, rows, cols, footprintMiB, memory, arena);
        weights = w.matrices();
        gbPerOp = w.bytesPerMatrix() / BenchSupport.GB;
        x = BenchSupport.gaussian(tokens * cols, 7, 1f);
        xq = new Q8Activations(tokens * cols);
        xq.quantize(x, tokens * cols);
        out = new float[tokens * rows];
        pool = new ThreadPool(threads);
        System.out.println("# BatchedDecodeBench: " + w.description() + ", " + tokens + " token(s), "
                + (weights[0].supportsQ8Activations() ? "8-bit" : "F32") + " activations, " + threads + " thread(s)");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float decode(Rates rates) {
        Tensor w = weights[next];
        next = next + 1 == weights.length ? 0 : next + 1;
        Ops.matmul(w, x, xq, out, tokens, 0, rows, cols, pool);
        rates.tokens += tokens;
        rates.weightGB += gbPerOp;
        return out[0];
    }
}
