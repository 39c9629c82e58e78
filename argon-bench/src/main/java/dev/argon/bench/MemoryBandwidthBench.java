package dev.argon.bench;

import dev.argon.tensor.Simd;
import dev.argon.tensor.ThreadPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The machine's memory read bandwidth, measured the way the kernels read weights: a STREAM-like
 * read-only pass that sums {@code sizeMiB} MiB of floats (default 1 GiB, far above any cache)
 * with the Vector API ({@link Simd#F}, the kernels' species; four independent accumulators so
 * the adds never limit the rate), split into one contiguous chunk per thread of an Argon
 * {@link ThreadPool} as {@link dev.argon.tensor.Ops#matmul} splits weight rows.
 *
 * <p>Three kinds of memory ({@code memory}):
 * <ul>
 *   <li>{@code offheap}: native memory of a shared {@link Arena} (what {@link MatVecBench} reads
 *       by default);</li>
 *   <li>{@code mapped}: a temporary file (in {@code java.io.tmpdir}) memory-mapped read-only
 *       after being written and flushed, read through the page cache as the engine reads a GGUF
 *       model (small pages: expect it to be a little slower than {@code offheap} where the latter
 *       gets transparent huge pages);</li>
 *   <li>{@code heap}: a Java {@code float[]} (at most 8191 MiB; the fork's default heap, a quarter
 *       of RAM, must hold it).</li>
 * </ul>
 *
 * <p>How to read the results: {@code MemoryBandwidthBench.read} (ops/s) is full passes per
 * second; {@code MemoryBandwidthBench.read:readGB} (printed in "ops/s", it is <b>GB/s</b>,
 * 10<sup>9</sup> bytes) is the achieved read bandwidth. It is the ceiling for the
 * {@code :weightGB} rate of {@link MatVecBench} and {@link BatchedDecodeBench} at the same thread
 * count and memory kind: a decode kernel at 80% of it is close to the hardware limit. STREAM's
 * own figures (copy/triad, which also write) are not directly comparable, as weights are only
 * read.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MemoryBandwidthBench {
    private static final VectorSpecies<Float> S = Simd.F;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final int MIB = 1 << 20;
    private static final int FLOATS_PER_MIB = MIB / Float.BYTES;

    @Param({"1024"})
    public int sizeMiB;

    /** {@code offheap}, {@code mapped} or {@code heap}. */
    @Param({"offheap", "mapped", "heap"})
    public String memory;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private ThreadPool pool;
    private MemorySegment segment;
    private float[] array;
    /** Sum of each chunk, at the index of its first MiB. */
    private float[] partial;
    private ThreadPool.RangeBody body;
    private double gbPerOp;

    /** Secondary result, per second: GB read. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double readGB;

        @Setup(Level.Iteration)
        public void reset() {
            readGB = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        if (sizeMiB < 1) {
            throw new IllegalArgumentException("sizeMiB must be >= 1");
        }
        float[] pattern = new float[FLOATS_PER_MIB];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (i % 1000) * 1e-3f;
        }
        arena = Arena.ofShared();
        if ("heap".equals(memory)) {
            if (sizeMiB > 8191) {
                throw new IllegalArgumentException("heap: a float[] holds at most 8191 MiB");
            }
            array = new float[sizeMiB * FLOATS_PER_MIB];
            for (int m = 0; m < sizeMiB; m++) {
                System.arraycopy(pattern, 0, array, m * FLOATS_PER_MIB, FLOATS_PER_MIB);
            }
            body = (start, end) -> partial[start] = sumArray(array, start, end);
        } else {
            segment = BenchSupport.replicate(memory, arena, MemorySegment.ofArray(pattern), MIB, sizeMiB);
            body = (start, end) -> partial[start] = sumSegment(segment, start, end);
        }
        partial = new float[sizeMiB];
        pool = new ThreadPool(threads);
        gbPerOp = (double) sizeMiB * MIB / BenchSupport.GB;
        System.out.println("# MemoryBandwidthBench: " + sizeMiB + " MiB of " + memory + " memory, " + threads + " thread(s), "
                + S.length() + "-float vectors");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
        array = null;
    }

    @Benchmark
    public float read(Rates rates) {
        Arrays.fill(partial, 0f);
        pool.parallelFor(sizeMiB, body);
        float total = 0f;
        for (float p : partial) {
            total += p;
        }
        rates.readGB += gbPerOp;
        return total;
    }

    /** Sums MiB {@code [from, to)} of {@code s} as floats. */
    static float sumSegment(MemorySegment s, int from, int to) {
        float sum = 0f;
        for (int m = from; m < to; m++) {
            sum += sumMiB(s, (long) m * MIB);
        }
        return sum;
    }

    /**
     * Sums the MiB at byte {@code base} of {@code s}. One call per MiB, not one loop over the
     * whole range: the JIT compiles this method normally after a few calls, instead of relying on
     * an on-stack replacement of a long-running loop (whose vector accumulators may stay boxed).
     */
    static float sumMiB(MemorySegment s, long base) {
        int step = S.vectorByteSize();
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        for (int i = 0; i < MIB; i += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, s, base + i, ORDER));
            a1 = a1.add(FloatVector.fromMemorySegment(S, s, base + i + step, ORDER));
            a2 = a2.add(FloatVector.fromMemorySegment(S, s, base + i + 2 * step, ORDER));
            a3 = a3.add(FloatVector.fromMemorySegment(S, s, base + i + 3 * step, ORDER));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    /** Sums MiB {@code [from, to)} of {@code a}. */
    static float sumArray(float[] a, int from, int to) {
        float sum = 0f;
        for (int m = from; m < to; m++) {
            sum += sumMiB(a, m * FLOATS_PER_MIB);
        }
        return sum;
    }

    /** Sums the MiB at float index {@code base} of {@code a} (one call per MiB, as above). */
    static float sumMiB(float[] a, int base) {
        int step = S.length();
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        for (int i = 0; i < FLOATS_PER_MIB; i += 4 * step) {
            a0 = a0.add(FloatVector.fromArray(S, a, base + i));
            a1 = a1.add(FloatVector.fromArray(S, a, base + i + step));
            a2 = a2.add(FloatVector.fromArray(S, a, base + i + 2 * step));
            a3 = a3.add(FloatVector.fromArray(S, a, base + i + 3 * step));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }
}
