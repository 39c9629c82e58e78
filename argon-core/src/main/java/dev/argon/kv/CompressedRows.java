package dev.argon.kv;

/**
 * The rows a merging {@link ContextPolicy} ({@link ContextPolicy.Kind#MINICACHE},
 * {@link ContextPolicy.Kind#KVMERGER}) took out of a {@link KvCache}'s exact rows, in a compressed
 * form, per layer. Attention sees them as the layer's first {@link #rows(int)} rows, before the
 * exact ones ({@link KvCache#dotKeys}, {@link KvCache#sumValues}); since the keys are stored after
 * their rotary embedding and every merged token precedes every exact one, the order of these rows
 * does not matter to attention. Rows are stored in the cache's encodings (a quantized cache stays
 * quantized), in stores that grow on use.
 */
abstract sealed class CompressedRows permits MiniCacheRows, KvMergerRows {
    final int nLayers;
    final int kvDim;
    final int headDim;
    final KvCache.Precision keyPrecision;
    final KvCache.Precision valuePrecision;

    CompressedRows(int nLayers, int kvDim, int headDim, KvCache.Precision keyPrecision, KvCache.Precision valuePrecision) {
        this.nLayers = nLayers;
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.keyPrecision = keyPrecision;
        this.valuePrecision = valuePrecision;
    }

    /** @return rows layer {@code layer} holds here */
    abstract int rows(int layer);

    /** Scores of {@code nq} queries against rows {@code [first, first+count)} of this store, as {@link KvRows#dots}. */
    abstract void dots(int layer, int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os);

    /** Adds the weighted sum of rows {@code [first, first+count)} to {@code out} (not overwritten), for {@code nq} heads. */
    abstract void addWeightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os);

    /** Merges the exact rows {@code [0, count)} of every layer of {@code cache} into this store (the cache then drops them). */
    abstract void absorb(KvCache cache, int count);

    /** @return bytes allocated now */
    abstract long bytes();

    /** @return bytes of the rows and magnitudes held (without the slack of growing arrays) */
    abstract long storedBytes();

    /** Forgets every row and frees the memory. */
    abstract void clear();

    /** A growable store of key and value rows of one layer, in the cache's encodings. */
    final class Plain {
        private final KvRows keys;
        private final KvRows values;
        int count;

        Plain() {
            int capacity = (Integer.MAX_VALUE - 16) / kvDim;
            keys = KvCache.rows(1, capacity, kvDim, headDim, keyPrecision);
            values = KvCache.rows(1, capacity, kvDim, headDim, valuePrecision);
        }

        /** Appends one row: the key at {@code k[ko ..]} and the value at {@code v[vo ..]} ({@code kvDim} each, as stored). */
        void append(float[] k, int ko, float[] v, int vo) {
            keys.ensure(count + 1);
            values.ensure(count + 1);
            keys.store(0, count, k, ko);
            values.store(0, count, v, vo);
            count++;
        }

        void dots(int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os) {
            if (nq == 1) {
                keys.dots(0, first, count, col, n, q, qo, out, oo);
            } else {
                keys.dots(0, first, count, col, n, q, qo, qs, nq, out, oo, os);
            }
        }

        void addWeightedSum(int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os) {
            float[] tmp = scratch(n);
            for (int i = 0; i < nq; i++) {
                values.weightedSum(0, first, count, col, n, w, wo + i * ws, tmp, 0);
                for (int j = 0; j < n; j++) {
                    out[oo + i * os + j] += tmp[j];
                }
            }
        }

        /** Decodes row {@code row}'s key or value into {@code dst[off ..]} (as stored). */
        void read(boolean key, int row, float[] dst, int off) {
            (key ? keys : values).read(0, row, 1, 0, kvDim, dst, off);
        }

        long bytes() {
            return keys.bytes() + values.bytes();
        }

        long storedBytes() {
            return count * (KvCache.rowBytes(kvDim, headDim, keyPrecision) + KvCache.rowBytes(kvDim, headDim, valuePrecision));
        }

        void clear() {
            count = 0;
            keys.shrink(0);
            values.shrink(0);
        }
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    /** @return a per-thread buffer of at least {@code n} floats (slot 0) */
    static float[] scratch(int n) {
        float[][] h = SCRATCH.get();
        if (h[0].length < n) {
            h[0] = new float[Math.max(n, 2 * h[0].length)];
        }
        return h[0];
    }

    /** @return a second per-thread buffer of at least {@code n} floats (slot 1) */
    static float[] scratch2(int n) {
        float[][] h = SCRATCH.get();
        if (h[1].length < n) {
            h[1] = new float[Math.max(n, 2 * h[1].length)];
        }
        return h[1];
    }

    /** @return the Euclidean norm of {@code x[o .. o+n)}, in double */
    static double norm(float[] x, int o, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) x[o + i] * x[o + i];
        }
        return Math.sqrt(s);
    }

    /** @return the cosine of the angle between {@code a[ao ..]} and {@code b[bo ..]} ({@code n} values; 1 if either is zero) */
    static double cosine(float[] a, int ao, float[] b, int bo, int n) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < n; i++) {
            dot += (double) a[ao + i] * b[bo + i];
            na += (double) a[ao + i] * a[ao + i];
            nb += (double) b[bo + i] * b[bo + i];
        }
        if (na == 0 || nb == 0) {
            return 1;
        }
        return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
    }
}
