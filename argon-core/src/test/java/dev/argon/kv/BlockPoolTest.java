package dev.argon.kv;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The paged pool, block tables and hashed-block prefix caching, on small synthetic rows. */
class BlockPoolTest {
    static final int LAYERS = 2;
    static final int KV_DIM = 16;
    static final int HEAD = 8;

    private static float[] row(SplittableRandom rnd) {
        float[] r = new float[KV_DIM];
        for (int i = 0; i < KV_DIM; i++) {
            r[i] = (float) rnd.nextGaussian();
        }
        return r;
    }

    @Test
    void pagedAttentionSumsAndScoresHaveTheContiguousBitsAcrossBlocks() {
        for (KvCache.Precision p : new KvCache.Precision[]{KvCache.Precision.F16, KvCache.Precision.BF16, KvCache.Precision.Q8_0,
                KvCache.Precision.F32}) {
            KvCache flat = new KvCache(LAYERS, 40, KV_DIM, HEAD, p, p);
            KvCache paged = new KvCache(new BlockPool(LAYERS, KV_DIM, HEAD, p, p, 4, 10), 40);
            SplittableRandom rnd = new SplittableRandom(11);
            for (int pos = 0; pos < 23; pos++) {
                for (int l = 0; l < LAYERS; l++) {
                    float[] k = row(rnd);
                    float[] v = row(rnd);
                    flat.store(l, pos, k, 0, v, 0);
                    paged.store(l, pos, k, 0, v, 0);
                }
            }
            int nq = 5; // four heads through the grouped kernels, one alone
            float[] w = new float[nq * 30];
            float[] q = new float[nq * HEAD];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextDouble();
            }
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) rnd.nextGaussian();
            }
            for (int[] range : new int[][]{{0, 23}, {3, 9}, {4, 4}, {21, 2}, {5, 1}, {1, 14}}) {
                int count = range[1];
                for (int heads : new int[]{1, nq}) {
                    float[] a = new float[heads * HEAD + 1];
                    float[] b = new float[heads * HEAD + 1];
                    java.util.Arrays.fill(b, 9f); // overwritten, not added to
                    flat.sumValues(1, range[0], count, HEAD, HEAD, w, 0, 30, heads, a, 1, HEAD);
                    paged.sumValues(1, range[0], count, HEAD, HEAD, w, 0, 30, heads, b, 1, HEAD);
                    float[] got = java.util.Arrays.copyOfRange(b, 1, b.length);
                    float[] want = java.util.Arrays.copyOfRange(a, 1, a.length);
                    if (p == KvCache.Precision.Q8_0) {
                        // paged Q8_0 values are decoded, then summed: the same values, another rounding order
                        assertThat(got).as("%s values %d+%d, %d heads", p, range[0], count, heads)
                                .containsExactly(want, org.assertj.core.data.Offset.offset(1e-5f));
                    } else {
                        assertThat(got).as("%s values %d+%d, %d heads", p, range[0], count, heads).containsExactly(want);
                    }
                    float[] sa = new float[heads * count];
                    float[] sb = new float[heads * count];
                    flat.dotKeys(0, range[0], count, 0, HEAD, q, 0, HEAD, heads, sa, 0, count);
                    paged.dotKeys(0, range[0], count, 0, HEAD, q, 0, HEAD, heads, sb, 0, count);
                    assertThat(sb).as("%s scores", p).containsExactly(sa);
                }
            }
        }
    }

    @Test
    void aPagedCacheReadsExactlyWhatAContiguousOneDoes() {
        for (KvCache.Precision p : new KvCache.Precision[]{KvCache.Precision.F32, KvCache.Precision.F16,
                KvCache.Precision.Q8_0, KvCache.Precision.Q4_1H}) {
            KvCache flat = new KvCache(LAYERS, 40, KV_DIM, HEAD, p, p);
            KvCache paged = new KvCache(new BlockPool(LAYERS, KV_DIM, HEAD, p, p, 4, 10), 40);
            SplittableRandom rnd = new SplittableRandom(7);
            for (int pos = 0; pos < 23; pos++) {
                for (int l = 0; l < LAYERS; l++) {
                    float[] k = row(rnd);
                    float[] v = row(rnd);
                    flat.store(l, pos, k, 0, v, 0);
                    paged.store(l, pos, k, 0, v, 0);
                }
            }
            assertThat(paged.keysAreFloats()).isFalse();
            assertThat(paged.allocatedRows()).isEqualTo(24); // 6 blocks of 4
            for (int[] range : new int[][]{{0, 23}, {3, 9}, {4, 4}, {21, 2}, {5, 1}}) {
                for (int l = 0; l < LAYERS; l++) {
                    float[] a = new float[range[1] * HEAD];
                    float[] b = new float[range[1] * HEAD];
                    flat.readKeys(l, range[0], range[1], HEAD, HEAD, a, 0);
                    paged.readKeys(l, range[0], range[1], HEAD, HEAD, b, 0);
                    assertThat(b).as("%s keys %d+%d", p, range[0], range[1]).containsExactly(a);
                    flat.readValues(l, range[0], range[1], 0, HEAD, a, 0);
                    paged.readValues(l, range[0], range[1], 0, HEAD, b, 0);
                    assertThat(b).as("%s values", p).containsExactly(a);
                }
            }
            paged.release(5);
            assertThat(paged.allocatedRows()).isEqualTo(8);
            assertThat(paged.blockTable().pool().stats().used()).isEqualTo(2);
            paged.release(0);
            assertThat(paged.bytes()).isZero();
            assertThat(paged.blockTable().pool().stats().bytes()).as("nothing registered: all memory freed").isZero();
        }
    }

    @Test
    void aPagedCacheRefusesToMoveRows() {
        KvCache paged = new KvCache(new BlockPool(LAYERS, KV_DIM, HEAD, KvCache.Precision.F16, KvCache.Precision.F16, 4, 4), 16);
        assertThatThrownBy(() -> paged.moveRows(1, 0, 2)).hasMessageContaining("contiguous");
        assertThatThrownBy(() -> paged.trackAttention(2)).hasMessageContaining("contiguous");
    }

    /** Stores one block's rows for {@code tokens} in {@code cache} (values derived from the token ids). */
    private static void fill(KvCache cache, int[] tokens, int from, int to) {
        for (int pos = from; pos < to; pos++) {
            float[] r = new float[KV_DIM];
            java.util.Arrays.fill(r, tokens[pos] + 0.25f * pos);
            for (int l = 0; l < LAYERS; l++) {
                cache.store(l, pos, r, 0, r, 0);
            }
        }
    }

    private static float key(KvCache cache, int pos) {
        float[] out = new float[1];
        cache.readKeys(1, pos, 1, 0, 1, out, 0);
        return out[0];
    }

    @Test
    void leastRecentlyUsedCachedBlocksAreEvictedFirst() {
        BlockPool pool = new BlockPool(LAYERS, KV_DIM, HEAD, KvCache.Precision.F16, KvCache.Precision.F16, 2, 3);
        PrefixCache cache = new PrefixCache(pool, 1);
        int[][] prompts = {{1, 2, 9}, {3, 4, 9}, {5, 6, 9}};
        for (int[] p : prompts) { // one full block each, registered, then released: cached in this order
            KvCache c = new KvCache(pool, 8);
            fill(c, p, 0, 2);
            cache.register(c.blockTable(), p, 2);
            c.release(0);
        }
        assertThat(pool.stats()).isEqualTo(new BlockPool.Stats(2, 3, 0, 3, 3 * pool.bytesPerBlock(), 0));
        KvCache touch = new KvCache(pool, 8); // reusing the oldest makes it the most recent
        assertThat(cache.match(touch.blockTable(), prompts[0], 2)).isEqualTo(2);
        assertThat(pool.stats().used()).isEqualTo(1);
        touch.release(0);
        KvCache fresh = new KvCache(pool, 8);
        fresh.blockTable().reserve(1); // the pool is full: evicts the least recently used, prompts[1]'s block
        assertThat(pool.stats().evictions()).isEqualTo(1);
        for (int i = 0; i < 3; i++) {
            KvCache probe = new KvCache(pool, 8);
            assertThat(cache.match(probe.blockTable(), prompts[i], 2)).as("prompt %d", i).isEqualTo(i == 1 ? 0 : 2);
            if (i != 1) {
                assertThat(key(probe, 1)).isEqualTo(prompts[i][1] + 0.25f);
            }
            probe.release(0);
        }
    }

    @Test
    void referencesKeepSharedBlocksFromBeingEvictedOrChanged() {
        BlockPool pool = new BlockPool(LAYERS, KV_DIM, HEAD, KvCache.Precision.F32, KvCache.Precision.F32, 2, 3);
        PrefixCache cache = new PrefixCache(pool, 1);
        int[] prompt = {7, 8, 9, 10, 11};
        KvCache a = new KvCache(pool, 8);
        fill(a, prompt, 0, 5); // blocks 0, 1 full, block 2 partial
        cache.register(a.blockTable(), prompt, 5);
        KvCache b = new KvCache(pool, 8);
        assertThat(cache.match(b.blockTable(), prompt, 4)).isEqualTo(4);
        BlockPool.Block shared = b.blockTable().block(0);
        assertThat(shared).isSameAs(a.blockTable().block(0));
        assertThat(pool.references(shared)).isEqualTo(2);
        a.release(0); // a finishes: b still holds blocks 0 and 1
        assertThat(pool.references(shared)).isEqualTo(1);
        assertThat(pool.stats().used()).isEqualTo(2);
        KvCache c = new KvCache(pool, 8);
        c.blockTable().reserve(2); // one free block; the held ones cannot be evicted
        assertThatThrownBy(() -> c.blockTable().reserve(4)).isInstanceOf(BlockPool.ExhaustedException.class)
                .hasMessageContaining("all 3 blocks of 2 tokens are held");
        assertThat(key(b, 0)).isEqualTo(7f);
        assertThat(key(b, 3)).isEqualTo(10f + 0.75f);
        // writing into a block another sequence shares copies it first
        c.release(0);
        KvCache d = new KvCache(pool, 8);
        assertThat(cache.match(d.blockTable(), prompt, 4)).isEqualTo(4);
        fill(d, new int[]{100, 100}, 1, 2);
        assertThat(d.blockTable().block(0)).isNotSameAs(shared);
        assertThat(key(d, 0)).isEqualTo(7f);
        assertThat(key(d, 1)).isEqualTo(100.25f);
        assertThat(key(b, 1)).isEqualTo(8.25f);
    }

    @Test
    void blockHashesDependOnEveryTokenTheParentAndTheCacheType() {
        PrefixCache f16 = new PrefixCache(new BlockPool(LAYERS, KV_DIM, HEAD, KvCache.Precision.F16, KvCache.Precision.F16, 4, 4), 1);
        PrefixCache q8 = new PrefixCache(new BlockPool(LAYERS, KV_DIM, HEAD, KvCache.Precision.Q8_0, KvCache.Precision.F16, 4, 4), 1);
        PrefixCache otherModel = new PrefixCache(new BlockPool(LAYERS, KV_DIM, HEAD, KvCache.Precision.F16, KvCache.Precision.F16, 4, 4), 2);
        int[] t = {1, 2, 3, 4, 5, 6, 7, 8};
        long h0 = f16.blockHash(0, t, 0);
        long h1 = f16.blockHash(h0, t, 1);
        assertThat(f16.blockHash(0, t, 0)).isEqualTo(h0);
        assertThat(q8.blockHash(0, t, 0)).isNotEqualTo(h0);
        assertThat(otherModel.blockHash(0, t, 0)).isNotEqualTo(h0);
        assertThat(f16.blockHash(h0 + 1, t, 1)).as("another parent").isNotEqualTo(h1);
        for (int i = 0; i < 4; i++) {
            int[] u = t.clone();
            u[4 + i]++;
            assertThat(f16.blockHash(h0, u, 1)).as("token %d changed", 4 + i).isNotEqualTo(h1);
        }
        int[] swapped = {1, 2, 3, 4, 6, 5, 7, 8};
        assertThat(f16.blockHash(h0, swapped, 1)).as("order matters").isNotEqualTo(h1);
        // the same tokens in another pool (another cache type) are not found
        BlockPool pool = new BlockPool(LAYERS, KV_DIM, HEAD, KvCache.Precision.F16, KvCache.Precision.F16, 4, 4);
        PrefixCache cache = new PrefixCache(pool, 1);
        KvCache a = new KvCache(pool, 8);
        fill(a, t, 0, 8);
        cache.register(a.blockTable(), t, 8);
        KvCache b = new KvCache(pool, 8);
        int[] changed = t.clone();
        changed[5] = 99;
        assertThat(cache.match(b.blockTable(), changed, 8)).as("first block shared, second differs").isEqualTo(4);
        assertThat(cache.hitTokens()).isEqualTo(4);
        assertThat(cache.missTokens()).isEqualTo(4);
    }
}
