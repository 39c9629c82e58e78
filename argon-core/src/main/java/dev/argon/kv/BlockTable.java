package dev.argon.kv;

/**
 * One sequence's block table: logical block {@code i} (cache rows {@code [i*B, (i+1)*B)}, {@code B}
 * the pool's block size) maps to a {@link BlockPool.Block}, or to none before the sequence writes
 * there. Reads split a row range at block boundaries; a write into a block other sequences share
 * copies it first (copy-on-write), and a write into a block of the prefix cache takes it out of the
 * cache, so shared and cached blocks never change.
 *
 * <p>Not thread-safe: one sequence, one thread (the pool itself is shared and locked).
 */
public final class BlockTable {
    private final BlockPool pool;
    private final int blockSize;
    private final BlockPool.Block[] blocks;

    /**
     * @param pool the shared pool
     * @param capacity rows this sequence may hold (its context size)
     */
    public BlockTable(BlockPool pool, int capacity) {
        this.pool = pool;
        this.blockSize = pool.blockSize();
        this.blocks = new BlockPool.Block[(capacity + blockSize - 1) / blockSize];
    }

    /** @return the pool the blocks come from */
    public BlockPool pool() {
        return pool;
    }

    /** @return logical blocks the table can map */
    public int length() {
        return blocks.length;
    }

    /** @return the block mapped at logical block {@code i}, or null */
    public BlockPool.Block block(int i) {
        return blocks[i];
    }

    /** @return logical blocks mapped now */
    public int mapped() {
        int n = 0;
        for (BlockPool.Block b : blocks) {
            n += b == null ? 0 : 1;
        }
        return n;
    }

    /**
     * Maps a block for every row of {@code [0, rows)} that has none (no copying), so the next
     * writes there cannot fail.
     *
     * @throws BlockPool.ExhaustedException if the pool runs out (the blocks mapped so far stay)
     */
    public void reserve(int rows) {
        for (int i = 0; i < Math.min(blocks.length, (rows + blockSize - 1) / blockSize); i++) {
            if (blocks[i] == null) {
                blocks[i] = pool.allocate();
            }
        }
    }

    /** Maps logical block {@code i} to {@code b}, already acquired for this table (a prefix-cache hit). */
    void attach(int i, BlockPool.Block b) {
        if (blocks[i] != null) {
            pool.release(blocks[i]);
        }
        blocks[i] = b;
    }

    /** Lets go of the blocks after the first {@code rows} rows (the block holding row {@code rows - 1} stays). */
    public void release(int rows) {
        for (int i = (rows + blockSize - 1) / blockSize; i < blocks.length; i++) {
            if (blocks[i] != null) {
                pool.release(blocks[i]);
                blocks[i] = null;
            }
        }
    }

    /** @return the block holding row {@code row}, private to this table and out of the prefix cache, mapped if needed */
    BlockPool.Block writable(int row) {
        int i = row / blockSize;
        BlockPool.Block b = blocks[i];
        if (b == null) {
            b = pool.allocate();
            blocks[i] = b;
        } else if (pool.references(b) > 1) { // shared: copy before writing
            BlockPool.Block copy = pool.allocate();
            copy.keys.copyFrom(b.keys, blockSize);
            copy.values.copyFrom(b.values, blockSize);
            pool.release(b);
            blocks[i] = copy;
            b = copy;
        } else {
            pool.unregister(b);
        }
        return b;
    }

    /**
     * Decodes columns {@code [col, col+n)} of rows {@code [first, first+count)} of layer
     * {@code layer}, keys or values, into {@code dst[dstOff + p*n + j]} (as {@link KvCache#readKeys}).
     */
    void read(boolean keys, int layer, int first, int count, int col, int n, float[] dst, int dstOff) {
        int done = 0;
        while (done < count) {
            int row = first + done;
            int in = row % blockSize;
            int run = Math.min(count - done, blockSize - in);
            BlockPool.Block b = blocks[row / blockSize];
            if (b == null) {
                throw new IllegalStateException("row " + row + " was never written");
            }
            (keys ? b.keys : b.values).read(layer, in, run, col, n, dst, dstOff + done * n);
            done += run;
        }
    }

    /**
     * Shares {@code src}'s blocks for rows {@code [0, rows)}: full blocks are acquired (no copy),
     * the partial last one is copied into a private block.
     */
    void sharePrefix(BlockTable src, int rows) {
        if (src.pool != pool) {
            throw new IllegalArgumentException("block tables of different pools");
        }
        release(0);
        int full = rows / blockSize;
        for (int i = 0; i < full; i++) {
            pool.acquire(src.blocks[i]);
            blocks[i] = src.blocks[i];
        }
        if (rows % blockSize != 0) {
            BlockPool.Block copy = pool.allocate();
            copy.keys.copyFrom(src.blocks[full].keys, blockSize);
            copy.values.copyFrom(src.blocks[full].values, blockSize);
            blocks[full] = copy;
        }
    }

    /** @return bytes of the blocks this table maps (shared blocks counted in full) */
    public long bytes() {
        return mapped() * pool.bytesPerBlock();
    }
}
