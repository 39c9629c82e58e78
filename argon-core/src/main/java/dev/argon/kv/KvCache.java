package dev.argon.kv;

/**
 * Key/value cache for causal self-attention, preallocated for the whole context: per layer, keys
 * and values as row-major {@code [capacity, kvDim]} float arrays, where {@code kvDim =
 * nKvHeads * headDim} and row {@code t} holds the projections of the token at position {@code t}.
 */
public final class KvCache {
    private final float[][] keys;
    private final float[][] values;
    private final int capacity;
    private final int kvDim;

    /**
     * @param nLayers number of transformer layers
     * @param capacity context size in tokens
     * @param kvDim floats per token per layer ({@code nKvHeads * headDim})
     */
    public KvCache(int nLayers, int capacity, int kvDim) {
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.keys = new float[nLayers][];
        this.values = new float[nLayers][];
        for (int l = 0; l < nLayers; l++) {
            keys[l] = new float[Math.multiplyExact(capacity, kvDim)];
            values[l] = new float[capacity * kvDim];
        }
    }

    /** @return the keys of layer {@code layer}, {@code [capacity, kvDim]} */
    public float[] keys(int layer) {
        return keys[layer];
    }

    /** @return the values of layer {@code layer}, {@code [capacity, kvDim]} */
    public float[] values(int layer) {
        return values[layer];
    }

    /** @return the context size in tokens */
    public int capacity() {
        return capacity;
    }

    /** @return floats per token per layer */
    public int kvDim() {
        return kvDim;
    }

    /** @return bytes held by the cache */
    public long bytes() {
        return 2L * keys.length * capacity * kvDim * Float.BYTES;
    }
}
