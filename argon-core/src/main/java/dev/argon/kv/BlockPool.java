package dev.argon.kv;

import dev.argon.ArgonException;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * Paged KV storage shared by all sequences of one model (vLLM's block pool, Kwon et al.,
 * "Efficient Memory Management for Large Language Model Serving with PagedAttention", SOSP 2023):
 * fixed-size blocks of {@link #blockSize()} cache rows (keys and values of every layer, in the
 * encodings of {@link KvCache.Precision}), at most {@link #maxBlocks()} of them. A block's memory is
 * allocated when a sequence first writes into it and dropped when no sequence holds it, so memory
 * follows use. Each sequence maps its logical blocks to pool blocks through a {@link BlockTable}.
 *
 * <p>Blocks are reference counted: a full block of prompt rows may be shared by several sequences
 * (prefix caching, {@link PrefixCache}). A full block {@linkplain #register registered} under its
 * chained hash stays in the pool when its last holder lets it go ("cached"), in least-recently-used
 * order; when the pool is full, {@link #allocate} evicts the least recently used cached block (never
 * one that a sequence holds). When nothing can be evicted, {@link ExhaustedException}.
 *
 * <p>Thread-safe (one lock): the scheduler thread allocates and releases, metrics read {@link #stats}.
 */
public final class BlockPool {
    /** The pool has no free block and no cached block to evict. */
    public static final class ExhaustedException extends ArgonException {
        ExhaustedException(String message) {
            super(message);
        }
    }

    /**
     * One block: {@code blockSize} rows of keys and values of every layer. Package-private state;
     * the reference count and hash are guarded by the pool's lock.
     */
    public static final class Block {
        final KvRows keys;
        final KvRows values;
        /** Sequences holding the block. */
        int refs;
        /** Its chained hash when registered in the prefix cache ({@link #registered}). */
        long hash;
        boolean registered;
        /** The hash of the block before it in its chain (0 for the first), and its tokens: checked on lookup. */
        long parent;
        int[] tokens;

        Block(KvRows keys, KvRows values) {
            this.keys = keys;
            this.values = values;
        }
    }

    /**
     * A snapshot.
     *
     * @param blockSize cache rows (tokens) per block
     * @param total blocks the pool may hold
     * @param used blocks held by at least one sequence
     * @param cached registered blocks no sequence holds (kept for prefix reuse, evicted first-in LRU order)
     * @param bytes bytes the allocated blocks hold (used + cached)
     * @param evictions cached blocks evicted to make room, since start
     */
    public record Stats(int blockSize, int total, int used, int cached, long bytes, long evictions) {
    }

    private final int nLayers;
    private final int kvDim;
    private final int headDim;
    private final KvCache.Precision keyPrecision;
    private final KvCache.Precision valuePrecision;
    private final int blockSize;
    private final int maxBlocks;
    private final long bytesPerBlock;
    private int used;
    private long evictions;
    /** Registered blocks by chained hash (held or cached). */
    private final Map<Long, Block> byHash = new HashMap<>();
    /** Cached blocks (registered, no holder), least recently used first. */
    private final LinkedHashSet<Block> lru = new LinkedHashSet<>();

    /**
     * @param nLayers transformer layers
     * @param kvDim values per token per layer ({@code nKvHeads * headDim})
     * @param headDim values per head
     * @param keys encoding of the keys
     * @param values encoding of the values
     * @param blockSize rows per block, 1 to 4096
     * @param maxBlocks blocks the pool may hold, at least 1
     * @throws ArgonException if a value is out of range or the encoding does not fit the head size
     */
    public BlockPool(int nLayers, int kvDim, int headDim, KvCache.Precision keys, KvCache.Precision values, int blockSize,
                     int maxBlocks) {
        if (blockSize < 1 || blockSize > 4096) {
            throw new ArgonException("--kv-block-size is " + blockSize + "; expected 1 to 4096 tokens");
        }
        if (maxBlocks < 1) {
            throw new ArgonException("the KV block pool needs at least one block, got " + maxBlocks);
        }
        this.nLayers = nLayers;
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.keyPrecision = keys;
        this.valuePrecision = values;
        this.blockSize = blockSize;
        this.maxBlocks = maxBlocks;
        KvCache.rows(nLayers, blockSize, kvDim, headDim, keys); // validates the encoding for this head size
        this.bytesPerBlock = blockSize * KvCache.bytesPerToken(nLayers, kvDim, headDim, keys, values);
    }

    /** @return cache rows (tokens) per block */
    public int blockSize() {
        return blockSize;
    }

    /** @return blocks the pool may hold */
    public int maxBlocks() {
        return maxBlocks;
    }

    /** @return the encoding of the keys */
    public KvCache.Precision keyPrecision() {
        return keyPrecision;
    }

    /** @return the encoding of the values */
    public KvCache.Precision valuePrecision() {
        return valuePrecision;
    }

    /** @return transformer layers */
    public int layers() {
        return nLayers;
    }

    /** @return values per token per layer */
    public int kvDim() {
        return kvDim;
    }

    /** @return values per head */
    public int headDim() {
        return headDim;
    }

    /** @return bytes one full block takes */
    public long bytesPerBlock() {
        return bytesPerBlock;
    }

    /**
     * @return a new block held once (by the caller), its memory allocated; the least recently used
     *     cached block is evicted when the pool is full
     * @throws ExhaustedException if every block is held by a sequence
     */
    public synchronized Block allocate() {
        if (used + lru.size() >= maxBlocks) {
            Iterator<Block> oldest = lru.iterator();
            if (!oldest.hasNext()) {
                throw new ExhaustedException("the KV block pool is full: all " + maxBlocks + " blocks of " + blockSize
                        + " tokens are held by running sequences (raise --kv-pool, or lower --parallel)");
            }
            Block victim = oldest.next();
            oldest.remove();
            byHash.remove(victim.hash);
            victim.registered = false;
            evictions++;
        }
        Block b = new Block(KvCache.rows(nLayers, blockSize, kvDim, headDim, keyPrecision),
                KvCache.rows(nLayers, blockSize, kvDim, headDim, valuePrecision));
        b.keys.ensure(blockSize);
        b.values.ensure(blockSize);
        b.refs = 1;
        used++;
        return b;
    }

    /**
     * @return blocks that {@link #allocate} can still hand out without failing: free ones plus
     *     cached ones it may evict
     */
    public synchronized int available() {
        return maxBlocks - used;
    }

    /** Adds a holder to {@code b} (sharing it); a cached block leaves the LRU list. */
    synchronized void acquire(Block b) {
        if (b.refs++ == 0) {
            lru.remove(b);
            used++;
        }
    }

    /**
     * Removes a holder from {@code b}; when none is left, a registered block stays cached (most
     * recently used), any other is dropped.
     */
    synchronized void release(Block b) {
        if (b.refs < 1) {
            throw new IllegalStateException("block released more often than held");
        }
        if (--b.refs == 0) {
            used--;
            if (b.registered) {
                lru.add(b);
            }
        }
    }

    /**
     * Registers a full block of prompt rows under its chained hash so later sequences may share
     * it; a hash already registered keeps its block (this one stays private).
     *
     * @return whether {@code b} was registered
     */
    synchronized boolean register(Block b, long hash, long parent, int[] tokens) {
        if (b.registered || byHash.containsKey(hash)) {
            return false;
        }
        b.hash = hash;
        b.parent = parent;
        b.tokens = tokens;
        b.registered = true;
        byHash.put(hash, b);
        return true;
    }

    /** Takes {@code b} out of the prefix cache (it is about to be written); it stays held. */
    synchronized void unregister(Block b) {
        if (b.registered) {
            byHash.remove(b.hash);
            b.registered = false;
            lru.remove(b);
        }
    }

    /**
     * @return the registered block with this hash, parent hash and tokens, acquired for the caller,
     *     or null
     */
    synchronized Block lookup(long hash, long parent, int[] tokens, int from) {
        Block b = byHash.get(hash);
        if (b == null || b.parent != parent || !java.util.Arrays.equals(b.tokens, 0, blockSize, tokens, from, from + blockSize)) {
            return null;
        }
        acquire(b);
        return b;
    }

    /** @return how many sequences hold {@code b} now */
    public synchronized int references(Block b) {
        return b.refs;
    }

    /** @return whether {@code b} is in the prefix cache (registered under its hash) */
    public synchronized boolean isRegistered(Block b) {
        return b.registered;
    }

    /** @return a snapshot of the counters */
    public synchronized Stats stats() {
        return new Stats(blockSize, maxBlocks, used, lru.size(), (used + lru.size()) * bytesPerBlock, evictions);
    }
}
