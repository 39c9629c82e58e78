package dev.argon.kv;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Prefix caching by hashed blocks (vLLM's automatic prefix caching): a full block of prompt rows is
 * known by a chained hash of the hash of the block before it and its own token ids, seeded with
 * everything else that changes the stored keys and values (the key and value encodings, the block
 * size, and a model salt: the caller's digest of the weights' identity and RoPE settings). A new
 * sequence maps the longest chain of cached blocks that matches its prompt into its
 * {@link BlockTable} — shared, not copied — and computes only the rest. Only full blocks are shared
 * (they never change); the partial last block is private to its sequence.
 *
 * <p>A hit is checked against the block's stored tokens and parent hash, so a hash collision
 * cannot serve another prompt's rows.
 */
public final class PrefixCache {
    private final BlockPool pool;
    private final long seed;
    private final AtomicLong hitTokens = new AtomicLong();
    private final AtomicLong missTokens = new AtomicLong();
    private final AtomicLong lookups = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();

    /**
     * @param pool the shared pool
     * @param modelSalt a digest of what else determines the cached rows (model, RoPE settings); any value
     */
    public PrefixCache(BlockPool pool, long modelSalt) {
        this.pool = pool;
        long s = mix(modelSalt ^ 0x9E3779B97F4A7C15L);
        s = mix(s ^ pool.keyPrecision().ordinal());
        s = mix(s ^ ((long) pool.valuePrecision().ordinal() << 8));
        s = mix(s ^ ((long) pool.blockSize() << 16));
        s = mix(s ^ ((long) pool.kvDim() << 32) ^ pool.headDim());
        this.seed = s;
    }

    /** @return the pool whose blocks this cache shares */
    public BlockPool pool() {
        return pool;
    }

    /**
     * The chained hash of block {@code i} of {@code tokens} ({@code tokens[i*B .. (i+1)*B)}).
     *
     * @param parent the hash of block {@code i - 1}, or 0 for the first block
     */
    public long blockHash(long parent, int[] tokens, int i) {
        int b = pool.blockSize();
        long h = mix(seed ^ parent);
        for (int j = i * b; j < (i + 1) * b; j++) {
            h = mix(h ^ (tokens[j] & 0xFFFFFFFFL) ^ ((long) (j - i * b) << 40));
        }
        return h == 0 ? 1 : h;
    }

    /** The finalizer of SplitMix64 (Steele et al., 2014): a bijective 64-bit mix. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Maps into {@code table} (which must hold nothing) the longest chain of cached blocks that
     * matches {@code prompt}, at most {@code maxRows / B} blocks.
     *
     * @param maxRows rows that may be reused (e.g. the prompt length minus one, so the last prompt
     *     token is computed and gives the first logits)
     * @return the rows now served from the cache (a multiple of the block size)
     */
    public int match(BlockTable table, int[] prompt, int maxRows) {
        int b = pool.blockSize();
        int n = Math.min(Math.min(maxRows, prompt.length) / b, table.length());
        long parent = 0;
        int i = 0;
        for (; i < n; i++) {
            long h = blockHash(parent, prompt, i);
            BlockPool.Block block = pool.lookup(h, parent, prompt, i * b);
            if (block == null) {
                break;
            }
            table.attach(i, block);
            parent = h;
        }
        lookups.incrementAndGet();
        if (i > 0) {
            hits.incrementAndGet();
        }
        hitTokens.addAndGet((long) i * b);
        missTokens.addAndGet(prompt.length - (long) i * b);
        return i * b;
    }

    /**
     * Registers the full blocks of {@code table} whose rows {@code [0, computed)} hold
     * {@code prompt}'s tokens computed as prompt rows, so later sequences can share them.
     */
    public void register(BlockTable table, int[] prompt, int computed) {
        int b = pool.blockSize();
        int n = Math.min(Math.min(computed, prompt.length) / b, table.length());
        long parent = 0;
        for (int i = 0; i < n; i++) {
            long h = blockHash(parent, prompt, i);
            BlockPool.Block block = table.block(i);
            if (block != null && !pool.isRegistered(block)) {
                pool.register(block, h, parent, java.util.Arrays.copyOfRange(prompt, i * b, (i + 1) * b));
            }
            parent = h;
        }
    }

    /** @return prompt tokens served from cached blocks, since start */
    public long hitTokens() {
        return hitTokens.get();
    }

    /** @return prompt tokens not found in the cache (computed), since start */
    public long missTokens() {
        return missTokens.get();
    }

    /** @return lookups (one per admitted sequence), since start */
    public long lookups() {
        return lookups.get();
    }

    /** @return lookups that reused at least one block, since start */
    public long hits() {
        return hits.get();
    }
}
