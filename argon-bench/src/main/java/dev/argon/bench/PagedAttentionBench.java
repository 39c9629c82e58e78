package dev.argon.bench;

import dev.argon.kv.BlockPool;
import dev.argon.kv.KvCache;
import dev.argon.model.Attention;
import dev.argon.tensor.ThreadPool;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The cost of paging on the decode attention: one query token attending {@code depth} cached
 * tokens in one layer of a Llama-3.2-1B-shaped model (32 query heads, 8 KV heads of 64), through a
 * contiguous {@link KvCache} ({@code blockSize = 0}) or a paged one whose rows sit in blocks of
 * {@code blockSize} tokens of a {@link BlockPool}. Read {@code us/op} (lower is better); a token's
 * attention costs 16 of these (one per layer).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class PagedAttentionBench {
    @Param({"1024", "4096"})
    public int depth;

    @Param({"0", "16", "256"})
    public int blockSize;

    @Param({"f16", "q8_0"})
    public String type;

    @Param({"2"})
    public int threads;

    private static final int HEADS = 32;
    private static final int KV_HEADS = 8;
    private static final int HEAD_DIM = 64;
    private static final int KV_DIM = KV_HEADS * HEAD_DIM;

    private ThreadPool pool;
    private KvCache[] caches;
    private int[] positions;
    private float[] q;
    private float[] out;
    private float[] scores;
    private Attention.Options options;

    @Setup
    public void setUp() {
        pool = new ThreadPool(threads);
        KvCache.Precision p = KvCache.Precision.parse(type, "type");
        KvCache cache = blockSize == 0 ? new KvCache(1, depth + 1, KV_DIM, HEAD_DIM, p, p)
                : new KvCache(new BlockPool(1, KV_DIM, HEAD_DIM, p, p, blockSize, (depth + blockSize) / blockSize), depth + 1);
        SplittableRandom rnd = new SplittableRandom(1);
        float[] k = new float[KV_DIM];
        float[] v = new float[KV_DIM];
        for (int pos = 0; pos <= depth; pos++) {
            for (int i = 0; i < KV_DIM; i++) {
                k[i] = (float) rnd.nextGaussian();
                v[i] = (float) rnd.nextGaussian();
            }
            cache.store(0, pos, k, 0, v, 0);
        }
        caches = new KvCache[]{cache};
        positions = new int[]{depth};
        q = new float[HEADS * HEAD_DIM];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        out = new float[HEADS * HEAD_DIM];
        scores = new float[HEADS * (depth + 1)];
        options = Attention.Options.standard(HEAD_DIM);
    }

    @TearDown
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public float attend() {
        Attention.attend(q, out, scores, depth + 1, caches, positions, 1, 0, HEADS, KV_HEADS, HEAD_DIM, options, pool);
        return out[0];
    }
}
