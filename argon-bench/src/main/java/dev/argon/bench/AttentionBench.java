package dev.argon.bench;

import dev.argon.kv.KvCache;
import dev.argon.model.Attention;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One decode step's attention in one layer ({@link Attention#attend} for one token at position
 * {@code depth - 1}) over a KV cache of each encoding, on the Llama-3.2-1B shape by default (32
 * query heads on 8 KV heads of 64 values, GQA). The cache holds {@code layers} layers of
 * {@code depth} random rows, and each operation reads the next layer, so that the rows come from
 * main memory as in a real decode step rather than from a cache-resident copy
 * ({@code 16 x 4096} rows is 128 MiB in F16).
 *
 * <p>Rows: {@code AttentionBench.attend} (ops/s: layer-attentions per second; divide by the
 * model's layer count for the attention part of tokens/s) and {@code :kvGB} (GB/s of cached keys
 * and values read, the stored bytes). Run it with one JMH thread: {@code threads} is the pool's.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AttentionBench {
    @Param({"f16", "q8_0", "q4_0", "q4_0h"})
    public String type;

    @Param({"4096"})
    public int depth;

    @Param({"2"})
    public int threads;

    @Param({"32"})
    public int heads;

    @Param({"8"})
    public int kvHeads;

    @Param({"64"})
    public int headDim;

    @Param({"16"})
    public int layers;

    private ThreadPool pool;
    private KvCache[] caches;
    private int[] positions;
    private float[] q;
    private float[] out;
    private float[] scores;
    private Attention.Options options;
    private int layer;
    private double gbPerOp;

    /** Secondary result, per second: GB of stored keys and values read. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double kvGB;

        @Setup(Level.Iteration)
        public void reset() {
            kvGB = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        KvCache.Precision p = KvCache.Precision.parse(type, "type");
        int kvDim = kvHeads * headDim;
        KvCache cache = new KvCache(layers, depth, kvDim, headDim, p, p);
        SplittableRandom r = new SplittableRandom(5);
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < depth; t++) {
                for (int i = 0; i < kvDim; i++) {
                    k[i] = (float) (r.nextDouble() * 2 - 1);
                    v[i] = (float) (r.nextDouble() * 2 - 1);
                }
                cache.store(l, t, k, 0, v, 0);
            }
        }
        caches = new KvCache[]{cache};
        positions = new int[]{depth - 1};
        q = BenchSupport.gaussian(heads * headDim, 9, 1f);
        out = new float[heads * headDim];
        scores = new float[heads * depth];
        options = Attention.Options.standard(headDim);
        pool = new ThreadPool(threads);
        gbPerOp = KvCache.bytesPerToken(1, kvDim, headDim, p, p) * (double) depth / BenchSupport.GB;
        System.out.println("# AttentionBench: " + type + ", " + heads + " heads on " + kvHeads + " KV heads of " + headDim
                + ", depth " + depth + ", " + layers + " layers (" + cache.bytes() / (1 << 20) + " MiB), " + threads + " thread(s)");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public float attend(Rates rates) {
        Attention.attend(q, out, scores, depth, caches, positions, 1, layer, heads, kvHeads, headDim, options, pool);
        layer = layer + 1 == layers ? 0 : layer + 1;
        rates.kvGB += gbPerOp;
        return out[0];
    }
}
