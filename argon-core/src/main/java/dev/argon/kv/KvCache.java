package dev.argon.kv;

import dev.argon.ArgonException;

import java.util.Locale;

/**
 * Key/value cache for causal self-attention: per layer, keys and values of {@code capacity}
 * cache rows of {@code kvDim = nKvHeads * headDim} values, row {@code t} holding the projections
 * of the token at position {@code t}. Attention reads it through {@link #keys(int)} /
 * {@link #values(int)} (the exact F32 encoding, no copy) or {@link #readKeys} /
 * {@link #readValues} (any encoding, decoded to floats), so the storage can change without
 * touching the model.
 *
 * <p>Keys and values each have their own encoding ({@link Precision}, llama.cpp's
 * {@code --cache-type-k/-v}): {@code F32} (exact), {@code F16} and {@code BF16} (two bytes),
 * {@code Q8_0}, {@code Q4_0}, {@code Q4_1} (block-quantized, {@link BlockRows}), and the
 * Hadamard-rotated 4-bit {@code Q4_0H}/{@code Q4_1H} ({@link Hadamard}: keys and values are rotated
 * per head before quantizing; attention rotates the queries the same way and rotates each head's
 * output back). With an F16 cache the queries and the attention weights are rounded to F16 before
 * they meet the keys and values, as llama.cpp's F16 dot products do.
 *
 * <p>A cache is either contiguous (its own rows, grown on demand) or paged: its rows live in
 * blocks of a {@link BlockPool} shared by all sequences, addressed through its {@link BlockTable}
 * ({@link #KvCache(BlockPool, int)}). A paged cache reads through {@link #readKeys}/{@link #readValues}
 * ({@link #keysAreFloats()} is false even for F32) and cannot move rows (context policies need a
 * contiguous cache).
 */
public final class KvCache {
    /** Encoding of cached keys or values. */
    public enum Precision {
        /** Exact float32 (4 bytes). */
        F32("f32"),
        /** IEEE half precision (2 bytes; llama.cpp's default). */
        F16("f16"),
        /** bfloat16 (2 bytes: float32's range, 8 bits of mantissa). */
        BF16("bf16"),
        /** 8-bit symmetric blocks with an F16 scale (8.5 bits per value at blocks of 32). */
        Q8_0("q8_0"),
        /** 4-bit symmetric blocks with an F16 scale (4.5 bits per value at blocks of 32). */
        Q4_0("q4_0"),
        /** 4-bit blocks with an F16 scale and minimum (5 bits per value at blocks of 32). */
        Q4_1("q4_1"),
        /** {@link #Q4_0} after a Hadamard rotation of each head. */
        Q4_0H("q4_0h"),
        /** {@link #Q4_1} after a Hadamard rotation of each head. */
        Q4_1H("q4_1h");

        private final String flag;

        Precision(String flag) {
            this.flag = flag;
        }

        /** @return the name used by flags and requests ({@code f16}, {@code q8_0}, ...) */
        public String flagName() {
            return flag;
        }

        /** @return whether rows are Hadamard-rotated per head before quantizing */
        public boolean rotated() {
            return this == Q4_0H || this == Q4_1H;
        }

        /**
         * @return the encoding a flag value names (case-insensitive)
         * @throws ArgonException naming {@code flagName} and the accepted values otherwise
         */
        public static Precision parse(String value, String flagName) {
            for (Precision p : values()) {
                if (p.flag.equalsIgnoreCase(value.trim())) {
                    return p;
                }
            }
            StringBuilder all = new StringBuilder();
            for (Precision p : values()) {
                all.append(all.isEmpty() ? "" : ", ").append(p.flag);
            }
            throw new ArgonException(flagName + " is '" + value + "'; expected one of " + all);
        }
    }

    private final KvRows keys;
    private final KvRows values;
    /** The paged cache's block table; null for a contiguous cache. */
    private final BlockTable table;
    private final int capacity;
    private final int kvDim;
    private final int headDim;
    private final Precision keyPrecision;
    private final Precision valuePrecision;
    /** Attention each row received, per query head {@code [nHeads][capacity]}; null unless tracked. */
    private float[][] mass;
    /** Scratch {@code [kvDim]} for rotating before storing (a cache belongs to one sequence). */
    private final float[] rotated;
    /** Rows merged out of the exact rows by MiniCache or KVMerger; null without such a policy. */
    private CompressedRows compressed;
    private SentenceIndex sentences;
    private final int nLayers;

    /**
     * A cache with the same encoding for keys and values and heads of {@code kvDim} (one head).
     * Quantized encodings need the head size: use the other constructor.
     */
    public KvCache(int nLayers, int capacity, int kvDim, Precision precision) {
        this(nLayers, capacity, kvDim, kvDim, precision, precision);
    }

    /**
     * @param nLayers number of transformer layers
     * @param capacity context size in tokens
     * @param kvDim floats per token per layer ({@code nKvHeads * headDim})
     * @param headDim values per head (quantization blocks and rotations stay within a head)
     * @param keyPrecision encoding of the keys
     * @param valuePrecision encoding of the values
     * @throws ArgonException if the cache does not fit in Java arrays, or a 4-bit encoding meets a
     *     head size of 1
     */
    public KvCache(int nLayers, int capacity, int kvDim, int headDim, Precision keyPrecision, Precision valuePrecision) {
        if (capacity < 1 || (long) capacity * kvDim > Integer.MAX_VALUE - 16) {
            throw new ArgonException("a KV cache of " + capacity + " tokens x " + kvDim + " floats per layer does not fit in one array"
                    + " (at most " + (Integer.MAX_VALUE - 16) / kvDim + " tokens for this model); use a smaller context (-c)");
        }
        if (headDim < 1 || kvDim % headDim != 0) {
            throw new IllegalArgumentException("head size " + headDim + " for kvDim " + kvDim);
        }
        this.capacity = capacity;
        this.nLayers = nLayers;
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.keyPrecision = keyPrecision;
        this.valuePrecision = valuePrecision;
        this.keys = rows(nLayers, capacity, kvDim, headDim, keyPrecision);
        this.values = rows(nLayers, capacity, kvDim, headDim, valuePrecision);
        this.rotated = keyPrecision.rotated() || valuePrecision.rotated() ? new float[kvDim] : null;
        this.table = null;
    }

    /**
     * A paged cache of {@code capacity} rows whose blocks come from {@code pool} (encodings and
     * sizes are the pool's).
     */
    public KvCache(BlockPool pool, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
        this.nLayers = pool.layers();
        this.kvDim = pool.kvDim();
        this.headDim = pool.headDim();
        this.keyPrecision = pool.keyPrecision();
        this.valuePrecision = pool.valuePrecision();
        this.keys = null;
        this.values = null;
        this.rotated = keyPrecision.rotated() || valuePrecision.rotated() ? new float[kvDim] : null;
        this.table = new BlockTable(pool, capacity);
    }

    /** @return the block table of a paged cache, or null for a contiguous one */
    public BlockTable blockTable() {
        return table;
    }

    private KvRows keyRows(int row) {
        return table == null ? keys : table.writable(row).keys;
    }

    private KvRows valueRows(int row) {
        return table == null ? values : table.block(row / table.pool().blockSize()).values;
    }

    private int at(int row) {
        return table == null ? row : row % table.pool().blockSize();
    }

    /**
     * Makes this cache merge its old rows as {@code policy} (MiniCache or KVMerger) says, from now on
     * ({@link #compress}). Attention then reads each layer's merged rows before its exact rows.
     *
     * @throws IllegalArgumentException if the policy does not merge
     */
    public void compressWith(ContextPolicy policy) {
        requireContiguous("merging rows (" + policy + ")");
        compressed = switch (policy.kind()) {
            case MINICACHE -> new MiniCacheRows(nLayers, kvDim, headDim, keyPrecision, valuePrecision, policy.merge());
            case KVMERGER -> new KvMergerRows(nLayers, kvDim, headDim, keyPrecision, valuePrecision, policy.merge());
            default -> throw new IllegalArgumentException("policy " + policy + " does not merge rows");
        };
    }

    /**
     * Makes attention read, per query, only the rows SentenceKV selects ({@link SentenceIndex}); every row stays stored.
     *
     * @param ends per token id, whether the token ends a sentence ({@link SentenceIndex#endsSentence})
     * @throws IllegalArgumentException if the policy does not select sentences
     */
    public void selectSentences(ContextPolicy policy, boolean[] ends) {
        requireContiguous("selecting sentences (" + policy + ")");
        sentences = new SentenceIndex(nLayers, kvDim, headDim, policy, ends);
    }

    /** @return SentenceKV's index of this cache, or {@code null} when queries read every row */
    public SentenceIndex sentences() {
        return sentences;
    }

    /** @return merged rows of layer {@code layer}, read by attention before the exact rows (0 without a merging policy) */
    public int compressedRows(int layer) {
        return compressed == null ? 0 : compressed.rows(layer);
    }

    /** @return the most merged rows of any layer (0 without a merging policy) */
    public int compressedRowsMax() {
        if (compressed == null) {
            return 0;
        }
        int m = 0;
        for (int l = 0; l < compressed.nLayers; l++) {
            m = Math.max(m, compressed.rows(l));
        }
        return m;
    }

    /**
     * Merges exact rows {@code [0, count)} of every layer into the compressed rows ({@link #compressWith})
     * and moves the exact rows {@code [count, used)} down to row 0 (keeping their rotations and attention sums).
     *
     * @throws IllegalStateException without a merging policy
     */
    public void compress(int count, int used) {
        if (compressed == null || count < 0 || count > used) {
            throw new IllegalStateException("cannot merge " + count + " of " + used + " rows" + (compressed == null ? " (no merging policy)" : ""));
        }
        compressed.absorb(this, count);
        moveRows(count, 0, used - count);
    }

    /** Forgets the merged rows (a new sequence starts in this cache). */
    public void clearCompressed() {
        if (compressed != null) {
            compressed.clear();
        }
    }

    /**
     * @param rows exact rows in use
     * @return bytes of what the cache holds for its tokens: {@code rows} exact rows in every layer plus the merged
     *     rows and magnitudes (without the slack of arrays grown ahead of use)
     */
    public long storedBytes(int rows) {
        long perRow = nLayers * (rowBytes(kvDim, headDim, keyPrecision) + rowBytes(kvDim, headDim, valuePrecision));
        return rows * perRow + (compressed == null ? 0 : compressed.storedBytes()) + (sentences == null ? 0 : sentences.storedBytes());
    }

    /** @return statistics of the merging policy ("merged M of N tokens ..."), or "" without one */
    public String compressionStats() {
        if (compressed instanceof MiniCacheRows m) {
            long all = m.merged + m.retained;
            return String.format(Locale.ROOT, "MiniCache merged %d of %d token-pairs (%.1f %% retained)", m.merged, all,
                    all == 0 ? 0.0 : 100.0 * m.retained / all);
        }
        if (compressed instanceof KvMergerRows k) {
            return String.format(Locale.ROOT, "KVMerger stored %d rows for %d token-layers (%.2fx)", k.rows, k.tokens,
                    k.rows == 0 ? 1.0 : k.tokens / (double) k.rows);
        }
        if (sentences != null) {
            return sentences.statistics();
        }
        return "";
    }

    private void requireContiguous(String what) {
        if (table != null) {
            throw new IllegalStateException(what + " needs a contiguous KV cache, not a paged one");
        }
    }

    static KvRows rows(int nLayers, int capacity, int kvDim, int headDim, Precision p) {
        int block = BlockRows.blockFor(headDim);
        if (block < 2 && p.compareTo(Precision.Q4_0) >= 0) {
            throw new ArgonException(String.format(Locale.ROOT, "KV cache type %s needs an even head size; this model's is %d",
                    p.flagName(), headDim));
        }
        return switch (p) {
            case F32 -> new KvRows.F32Rows(nLayers, capacity, kvDim);
            case F16 -> new KvRows.HalfRows(nLayers, capacity, kvDim, false);
            case BF16 -> new KvRows.HalfRows(nLayers, capacity, kvDim, true);
            case Q8_0 -> new BlockRows(nLayers, capacity, kvDim, block, BlockRows.Kind.Q8_0);
            case Q4_0, Q4_0H -> new BlockRows(nLayers, capacity, kvDim, block, BlockRows.Kind.Q4_0);
            case Q4_1, Q4_1H -> new BlockRows(nLayers, capacity, kvDim, block, BlockRows.Kind.Q4_1);
        };
    }

    /**
     * Stores the key and value vectors {@code [kvDim]} (at {@code k[ko..]} and {@code v[vo..]}) of the
     * token at {@code pos} in layer {@code layer} (the arrays are not changed; a rotated encoding
     * rotates a copy).
     */
    public void store(int layer, int pos, float[] k, int ko, float[] v, int vo) {
        if (pos < 0 || pos >= capacity) {
            throw new IllegalArgumentException("position " + pos + " outside the cache of " + capacity);
        }
        if (table == null) {
            keys.ensure(pos + 1);
            values.ensure(pos + 1);
        }
        KvRows kr = keyRows(pos); // (paged: the block, made writable, holds the values too)
        KvRows vr = valueRows(pos);
        int row = at(pos);
        if (mass != null && layer == 0) {
            for (float[] m : mass) {
                m[pos] = 0;
            }
        }
        if (keyPrecision.rotated()) {
            System.arraycopy(k, ko, rotated, 0, kvDim);
            Hadamard.rotate(rotated, 0, kvDim, Hadamard.blockFor(headDim));
            kr.store(layer, row, rotated, 0);
        } else {
            kr.store(layer, row, k, ko);
        }
        if (valuePrecision.rotated()) {
            System.arraycopy(v, vo, rotated, 0, kvDim);
            Hadamard.rotate(rotated, 0, kvDim, Hadamard.blockFor(headDim));
            vr.store(layer, row, rotated, 0);
        } else {
            vr.store(layer, row, v, vo);
        }
    }

    /**
     * Replaces the key of cache row {@code row} in layer {@code layer} with {@code k[ko .. ko+kvDim)}
     * (not changed; rotated encodings rotate a copy); the value stays.
     */
    public void storeKey(int layer, int row, float[] k, int ko) {
        if (row < 0 || row >= capacity) {
            throw new IllegalArgumentException("row " + row + " outside the cache of " + capacity);
        }
        requireContiguous("replacing a key");
        if (keyPrecision.rotated()) {
            System.arraycopy(k, ko, rotated, 0, kvDim);
            Hadamard.rotate(rotated, 0, kvDim, Hadamard.blockFor(headDim));
            keys.store(layer, row, rotated, 0);
        } else {
            keys.store(layer, row, k, ko);
        }
    }

    /**
     * @return the keys of rows {@code [first, first+count)} of layer {@code layer} as stored, decoded
     *     to floats {@code [count, kvDim]} (a Hadamard rotation undone)
     */
    public float[] copyKeys(int layer, int first, int count) {
        float[] out = new float[count * kvDim];
        readKeys(layer, first, count, 0, kvDim, out, 0);
        if (keyPrecision.rotated()) {
            for (int r = 0; r < count; r++) {
                Hadamard.rotate(out, r * kvDim, kvDim, Hadamard.blockFor(headDim));
            }
        }
        return out;
    }

    /** @return whether the keys are exact F32 rows readable through {@link #keys(int)} */
    public boolean keysAreFloats() {
        return table == null && compressed == null && keys instanceof KvRows.F32Rows;
    }

    /** @return whether the values are exact F32 rows readable through {@link #values(int)} */
    public boolean valuesAreFloats() {
        return table == null && compressed == null && values instanceof KvRows.F32Rows;
    }

    /**
     * @return the keys of layer {@code layer}, {@code [capacity, kvDim]}
     * @throws IllegalStateException unless {@link #keysAreFloats()}
     */
    public float[] keys(int layer) {
        if (keys instanceof KvRows.F32Rows f) {
            return f.floats(layer);
        }
        throw new IllegalStateException("keys are stored as " + keyPrecision + "; use readKeys");
    }

    /**
     * @return the values of layer {@code layer}, {@code [capacity, kvDim]}
     * @throws IllegalStateException unless {@link #valuesAreFloats()}
     */
    public float[] values(int layer) {
        if (values instanceof KvRows.F32Rows f) {
            return f.floats(layer);
        }
        throw new IllegalStateException("values are stored as " + valuePrecision + "; use readValues");
    }

    /**
     * Decodes columns {@code [col, col+n)} (e.g. one head) of the keys at cache rows
     * {@code [first, first+count)} into {@code dst[dstOff + p*n + j]}; rotated encodings return
     * the rotated keys.
     */
    public void readKeys(int layer, int first, int count, int col, int n, float[] dst, int dstOff) {
        if (table != null) {
            table.read(true, layer, first, count, col, n, dst, dstOff);
            return;
        }
        keys.read(layer, first, count, col, n, dst, dstOff);
    }

    /** {@link #readKeys} for the values. */
    public void readValues(int layer, int first, int count, int col, int n, float[] dst, int dstOff) {
        if (table != null) {
            table.read(false, layer, first, count, col, n, dst, dstOff);
            return;
        }
        values.read(layer, first, count, col, n, dst, dstOff);
    }

    /**
     * Attention scores of one query against the keys of one head: {@code out[oo + p] = sum_j
     * q[qo + j] * key(first + p)[col + j]} for {@code p < count}, {@code j < n}, straight from the
     * stored encoding (Q8_0 and Q4_0 blocks are read without decoding them first; rotated
     * encodings dot the rotated keys, so the query must be rotated the same way).
     */
    public void dotKeys(int layer, int first, int count, int col, int n, float[] q, int qo, float[] out, int oo) {
        dotKeys(layer, first, count, col, n, q, qo, n, 1, out, oo, 0);
    }

    /**
     * {@link #dotKeys(int, int, int, int, int, float[], int, float[], int)} for {@code nq} query heads
     * that share this key head (grouped-query attention): query {@code i} at {@code q[qo + i * qs ..]},
     * its scores at {@code out[oo + i * os ..]}. Quantized and two-byte keys are read once for four
     * queries at a time; the scores are bit-identical to one call per query.
     */
    public void dotKeys(int layer, int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os) {
        if (compressed != null) { // merged rows first (rows [0, c)), then the exact rows from row 0
            int c = compressed.rows(layer);
            if (first < c) {
                int k = Math.min(count, c - first);
                compressed.dots(layer, first, k, col, n, q, qo, qs, nq, out, oo, os);
                count -= k;
                oo += k;
                first = c;
            }
            first -= c;
            if (count == 0) {
                return;
            }
        }
        if (table == null) {
            if (nq == 1) {
                keys.dots(layer, first, count, col, n, q, qo, out, oo);
            } else {
                keys.dots(layer, first, count, col, n, q, qo, qs, nq, out, oo, os);
            }
            return;
        }
        // paged: one call per run of rows inside a block (scores are per row: the same bits)
        int bs = table.pool().blockSize();
        for (int done = 0; done < count; ) {
            int row = first + done;
            int run = Math.min(count - done, bs - row % bs);
            KvRows rows = table.block(row / bs).keys;
            if (nq == 1) {
                rows.dots(layer, row % bs, run, col, n, q, qo, out, oo + done);
            } else {
                rows.dots(layer, row % bs, run, col, n, q, qo, qs, nq, out, oo + done, os);
            }
            done += run;
        }
    }

    /**
     * Attention output of one head: {@code out[oo + j] = sum_p w[wo + p] * value(first + p)[col + j]}
     * (overwritten), straight from the stored encoding; with rotated values the result is rotated
     * (the caller rotates it back).
     */
    public void sumValues(int layer, int first, int count, int col, int n, float[] w, int wo, float[] out, int oo) {
        sumValues(layer, first, count, col, n, w, wo, 0, 1, out, oo, 0);
    }

    /**
     * {@link #sumValues(int, int, int, int, int, float[], int, float[], int)} for {@code nq} heads
     * sharing this value head: head {@code i}'s weights at {@code w[wo + i * ws ..]}, its output at
     * {@code out[oo + i * os ..]}; F16/BF16 and Q8_0 values are read once for four heads at a time,
     * bit-identical to one call per head.
     */
    public void sumValues(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os) {
        if (compressed != null) { // the exact rows' sum (overwriting out), then the merged rows' added
            int c = compressed.rows(layer);
            int k = Math.max(0, Math.min(count, c - first));
            if (k < count) {
                sumValues(layer, first + k - c, count - k, col, n, w, wo + k, ws, nq, out, oo, os, true);
            } else {
                for (int i = 0; i < nq; i++) {
                    java.util.Arrays.fill(out, oo + i * os, oo + i * os + n, 0f);
                }
            }
            if (k > 0) {
                compressed.addWeightedSum(layer, first, k, col, n, w, wo, ws, nq, out, oo, os);
            }
            return;
        }
        sumValues(layer, first, count, col, n, w, wo, ws, nq, out, oo, os, true);
    }

    private void sumValues(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os,
                           boolean exact) {
        if (table == null) {
            if (nq == 1) {
                values.weightedSum(layer, first, count, col, n, w, wo, out, oo);
            } else {
                values.weightedSum(layer, first, count, col, n, w, wo, ws, nq, out, oo, os);
            }
            return;
        }
        if (pagedFusedSums(layer, first, count, col, n, w, wo, ws, nq, out, oo, os)) {
            return;
        }
        // paged, other encodings: the rows decoded through the block table, then summed in row order
        float[][] holder = PAGED_VALUES.get();
        if (holder[0].length < count * n) {
            holder[0] = new float[count * n];
        }
        float[] rows = holder[0];
        table.read(false, layer, first, count, col, n, rows, 0);
        for (int i = 0; i < nq; i++) {
            dev.argon.tensor.Ops.weightedSum(out, oo + i * os, w, wo + i * ws, rows, 0, n, count, n);
        }
    }

    /**
     * Paged two-byte values: each block's run of rows summed by the fused kernels, the chains
     * carried from run to run (the bits of the contiguous cache's one call); false when a block's
     * rows cannot (then nothing was written).
     */
    private boolean pagedFusedSums(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out,
                                   int oo, int os) {
        int bs = table.pool().blockSize();
        for (int done = 0; done < count; ) {
            int row = first + done;
            if (!table.block(row / bs).values.canContinueSums(n)) {
                return false;
            }
            done += Math.min(count - done, bs - row % bs);
        }
        if (count == 0) {
            return false;
        }
        for (int done = 0; done < count; ) {
            int row = first + done;
            int run = Math.min(count - done, bs - row % bs);
            table.block(row / bs).values.continueSums(layer, row % bs, run, col, n, w, wo + done, ws, nq, out, oo, os, done > 0);
            done += run;
        }
        return true;
    }

    private static final ThreadLocal<float[][]> PAGED_VALUES = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * Moves cache rows {@code [from, from+count)} to {@code [to, to+count)} in every layer, keys and
     * values (the rows may overlap). The keys keep the rotary embedding of their old positions:
     * whoever moves them re-rotates them.
     */
    public void moveRows(int from, int to, int count) {
        if (from < 0 || to < 0 || count < 0 || from + count > capacity || to + count > capacity) {
            throw new IllegalArgumentException("rows [" + from + ", " + (from + count) + ") to " + to + " in a cache of " + capacity);
        }
        requireContiguous("moving rows");
        keys.move(from, to, count);
        values.move(from, to, count);
        if (mass != null) {
            for (float[] m : mass) {
                System.arraycopy(m, from, m, to, count);
            }
        }
    }

    /**
     * Starts summing, per row, the attention weights it receives ({@link #attentionMass}), for
     * eviction by attention (H2O). Costs {@code nHeads * capacity} floats.
     */
    public void trackAttention(int nHeads) {
        requireContiguous("tracking attention (H2O)");
        mass = new float[nHeads][capacity];
    }

    /**
     * @return the attention weights received so far by each row from query head {@code head},
     *     {@code [capacity]}, to be added to by attention (one thread per head); null when not tracked
     */
    public float[] attentionMass(int head) {
        return mass == null ? null : mass[head];
    }

    /** @return the attention row {@code row} received from every head, layer and query so far (0 when not tracked) */
    public double attentionReceived(int row) {
        double sum = 0;
        if (mass != null) {
            for (float[] m : mass) {
                sum += m[row];
            }
        }
        return sum;
    }

    /**
     * H2O's eviction step: removes, of rows {@code [0, used - window)}, the one that received the
     * least attention so far (the first on ties); later rows (and their attention sums) move down
     * one row, keeping their keys' rotations.
     *
     * @return the row removed
     * @throws IllegalStateException if attention is not tracked or no row lies outside the window
     */
    public int evictLeastAttended(int used, int window) {
        if (mass == null || used - window < 1 || used > keys.allocated) {
            throw new IllegalStateException("cannot evict from " + used + " rows with a window of " + window
                    + (mass == null ? " (attention not tracked)" : ""));
        }
        int victim = 0;
        double least = Double.MAX_VALUE;
        for (int r = 0; r < used - window; r++) {
            double m = attentionReceived(r);
            if (m < least) {
                least = m;
                victim = r;
            }
        }
        moveRows(victim + 1, victim, used - victim - 1);
        return victim;
    }

    /** Forgets the attention received (a new sequence starts in this cache). */
    public void clearAttention() {
        if (mass != null) {
            for (float[] m : mass) {
                java.util.Arrays.fill(m, 0);
            }
        }
    }

    /** @return the context size in tokens */
    public int capacity() {
        return capacity;
    }

    /** @return floats per token per layer */
    public int kvDim() {
        return kvDim;
    }

    /** @return values per head */
    public int headDim() {
        return headDim;
    }

    /** @return the encoding of the keys (also the cache's precision when both sides share one) */
    public Precision precision() {
        return keyPrecision;
    }

    /** @return the encoding of the keys */
    public Precision keyPrecision() {
        return keyPrecision;
    }

    /** @return the encoding of the values */
    public Precision valuePrecision() {
        return valuePrecision;
    }

    /** @return bytes an F32 cache of this size would hold, computed without allocating it (an upper bound for every encoding) */
    public static long bytesFor(int nLayers, long capacity, int kvDim) {
        return 2L * nLayers * capacity * kvDim * Float.BYTES;
    }

    /** @return bytes one token takes in all layers, keys and values, with these encodings */
    public static long bytesPerToken(int nLayers, int kvDim, int headDim, Precision keys, Precision values) {
        return nLayers * (rowBytes(kvDim, headDim, keys) + rowBytes(kvDim, headDim, values));
    }

    static long rowBytes(int kvDim, int headDim, Precision p) {
        int block = BlockRows.blockFor(headDim);
        return switch (p) {
            case F32 -> 4L * kvDim;
            case F16, BF16 -> 2L * kvDim;
            case Q8_0 -> BlockRows.bytesPerRow(kvDim, block, BlockRows.Kind.Q8_0);
            case Q4_0, Q4_0H -> BlockRows.bytesPerRow(kvDim, block, BlockRows.Kind.Q4_0);
            case Q4_1, Q4_1H -> BlockRows.bytesPerRow(kvDim, block, BlockRows.Kind.Q4_1);
        };
    }

    /** @return bytes held by the cache now (memory grows with the rows stored, see {@link #release}) */
    public long bytes() {
        if (table != null) {
            return table.bytes();
        }
        return keys.bytes() + values.bytes() + (compressed == null ? 0 : compressed.bytes());
    }

    /** @return rows whose memory is allocated now */
    public int allocatedRows() {
        if (table != null) {
            return table.mapped() * table.pool().blockSize();
        }
        return keys.allocated;
    }

    /** Frees the memory of rows {@code >= rows}; the first {@code rows} stay as they are. */
    public void release(int rows) {
        if (table != null) {
            table.release(rows);
            return;
        }
        keys.shrink(rows);
        values.shrink(rows);
    }

    /**
     * Copies the keys and values of rows {@code [0, rows)} of every layer from {@code src}, whose
     * encodings and sizes must equal this cache's (a prefix computed by another sequence). Two
     * paged caches of one pool share the full blocks instead of copying them.
     *
     * @throws IllegalArgumentException if the caches differ or {@code rows} exceeds either
     */
    public void copyPrefix(KvCache src, int rows) {
        if (table != null || src.table != null) {
            if (table == null || src.table == null || rows > capacity || rows > src.capacity) {
                throw new IllegalArgumentException("cannot copy " + rows + " rows between a paged and a contiguous cache");
            }
            table.sharePrefix(src.table, rows);
            return;
        }
        if (src.keyPrecision != keyPrecision || src.valuePrecision != valuePrecision || src.kvDim != kvDim
                || src.headDim != headDim || rows > src.keys.allocated || rows > capacity) {
            throw new IllegalArgumentException("cannot copy " + rows + " rows between different caches");
        }
        keys.copyFrom(src.keys, rows);
        values.copyFrom(src.values, rows);
        if (sentences != null && src.sentences != null) {
            sentences.copyPrefix(src.sentences, rows);
        }
    }
}
