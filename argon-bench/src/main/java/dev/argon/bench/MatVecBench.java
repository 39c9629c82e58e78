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
 * The decode matrix-vector product: one token's activations times a {@code [rows, cols]} weight
 * matrix of each {@link GgmlType}, through {@link Ops#matmul} with {@code n = 1, gemmRows = 0}
 * (the dot-product path a generated token takes), on {@code threads} threads of an Argon
 * {@link ThreadPool}. Types that compute on 8-bit activations (Q8_0, Q4_0) get them
 * ({@code activations=q8}, the engine's default arithmetic); the others use the F32 activations.
 * The activations are quantized once in the set-up, not per operation (the engine quantizes each
 * input once for several matrices).
 *
 * <p>Each operation reads one whole weight matrix. To read it from main memory, as a decode step
 * does, the set-up lays out enough copies of the matrix to fill {@code footprintMiB} (default
 * 512 MiB, far above any last-level cache) and each operation takes the next copy;
 * {@code -p footprintMiB=0} uses a single, cache-resident matrix instead (kernel speed without
 * the memory limit). {@code -p memory=mapped} reads the copies from a memory-mapped file, as the
 * engine reads a GGUF model.
 *
 * <p>How to read the results (JMH prints secondary rows after the primary score):
 * <ul>
 *   <li>{@code MatVecBench.matvec} (ops/s): matrix-vector products per second;</li>
 *   <li>{@code MatVecBench.matvec:weightGB} (printed in "ops/s", it is <b>GB/s</b>): bytes of
 *       weights read per second, {@code ops/s * type.bytesFor(rows * cols) / 1e9}. Compare it with
 *       {@link MemoryBandwidthBench} at the same thread count: the ratio is the fraction of the
 *       machine's read bandwidth the kernel reaches. Near 1, the kernel is memory-bound (as
 *       decoding should be); well below, it is compute-bound (unpacking, dot products).</li>
 *   <li>{@code MatVecBench.matvec:gflop} (printed in "ops/s", it is <b>GFLOP/s</b>):
 *       {@code 2 * rows * cols} per operation.</li>
 * </ul>
 * Run it with a single JMH thread (the default): {@code threads} is the kernel's parallelism.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatVecBench {
    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "Q5_0", "Q5_1"})
    public GgmlType type;

    @Param({"1", "2"})
    public int threads;

    @Param({"2048"})
    public int rows;

    @Param({"2048"})
    public int cols;

    /** {@code q8}: 8-bit activations where the type supports them; {@code f32}: always F32. */
    @Param({"q8"})
    public String activations;

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
    private double gflopPerOp;

    /** Secondary results, per second: GB of weights read and GFLOP computed. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double weightGB;
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            weightGB = 0;
            gflop = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        arena = Arena.ofShared();
        BenchSupport.Weights w = BenchSupport.weights(type, rows, cols, footprintMiB, memory, arena);
        weights = w.matrices();
        gbPerOp = w.bytesPerMatrix() / BenchSupport.GB;
        gflopPerOp = 2.0 * rows * cols / 1e9;
        x = BenchSupport.gaussian(cols, 7, 1f);
        xq = switch (activations) {
            case "q8" -> new Q8Activations(cols);
            case "f32" -> null;
            default -> throw new IllegalArgumentException("activations must be q8 or f32, got '" + activations + "'");
        };
        if (xq != null) {
            xq.quantize(x, cols);
        }
        out = new float[rows];
        pool = new ThreadPool(threads);
        boolean q8 = xq != null && weights[0].supportsQ8Activations();
        int group = 1;
        if (q8) {
            // the row-group copies of 4- and 8-lane machines, built here as the engine builds them at its
            // first decode step, so that no measured operation pays for building one (weightGB still
            // counts the file type's bytes; the copies are 20/18 of Q4_0/Q4_K, 36/34 of Q8_0, 10/6.56 of Q6_K)
            for (Tensor m : weights) {
                group = m.q8RowGroup(cols, pool);
            }
        }
        System.out.println("# MatVecBench: " + w.description() + ", " + (q8 ? "8-bit" : "F32") + " activations, "
                + threads + " thread(s); " + w.bytesPerMatrix() + " weight bytes per op"
                + (group > 1 ? "; row groups of " + group : ""));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float matvec(Rates rates) {
        Tensor w = weights[next];
        next = next + 1 == weights.length ? 0 : next + 1;
        Ops.matmul(w, x, xq, out, 1, 0, rows, cols, pool);
        rates.weightGB += gbPerOp;
        rates.gflop += gflopPerOp;
        return out[0];
    }
}
