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
 * The prompt (prefill) matrix product: {@code n} tokens' activations times one {@code [rows, cols]}
 * weight matrix through {@link Ops#matmul} with {@code gemmRows = n}, i.e. Argon's GEMM, which
 * dequantizes each 4-row weight tile once and multiplies it with all tokens in 4x4 register
 * blocks. Types with 8-bit activations get them (the GEMM then reads their dequantized values, as
 * in the engine). One matrix, reused by every operation: with {@code n} tokens per weight read the
 * product is compute-bound, and the point is arithmetic throughput.
 *
 * <p>How to read the results:
 * <ul>
 *   <li>{@code GemmBench.gemm} (ops/s): matrix products per second;</li>
 *   <li>{@code GemmBench.gemm:gflop} (printed in "ops/s", it is <b>GFLOP/s</b>):
 *       {@code 2 * rows * cols * n} per operation. Compare it with the cores' peak: per core,
 *       FMA units x 2 x float lanes x GHz (e.g. 2 FMA x 2 x 8 lanes x 3 GHz = 96 GFLOP/s with
 *       AVX2); the gap is the cost of dequantizing tiles, loads and the JIT's code.</li>
 *   <li>{@code GemmBench.gemm:tokens} (tokens/s through this one matrix): {@code ops/s * n}.</li>
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmBench {
    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "Q5_0", "Q5_1"})
    public GgmlType type;

    /** Prompt tokens per product. */
    @Param({"16", "64"})
    public int n;

    @Param({"1", "2"})
    public int threads;

    @Param({"2048"})
    public int rows;

    @Param({"2048"})
    public int cols;

    private Arena arena;
    private ThreadPool pool;
    private Tensor w;
    private float[] x;
    private Q8Activations xq;
    private float[] out;
    private double gflopPerOp;

    /** Secondary results, per second: GFLOP computed and tokens processed. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double gflop;
        public double tokens;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
            tokens = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        arena = Arena.ofShared();
        BenchSupport.Weights weights = BenchSupport.weights(type, rows, cols, 0, BenchSupport.OFFHEAP, arena);
        w = weights.matrices()[0];
        gflopPerOp = 2.0 * rows * cols * n / 1e9;
        x = BenchSupport.gaussian(n * cols, 7, 1f);
        xq = new Q8Activations(n * cols);
        xq.quantize(x, n * cols);
        out = new float[n * rows];
        pool = new ThreadPool(threads);
        System.out.println("# GemmBench: " + weights.description() + ", " + n + " tokens, " + threads + " thread(s); "
                + gflopPerOp + " GFLOP per op");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float gemm(Rates rates) {
        Ops.matmul(w, x, xq, out, n, n, rows, cols, pool);
        rates.gflop += gflopPerOp;
        rates.tokens += n;
        return out[0];
    }
}
