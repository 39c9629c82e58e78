package dev.argon.kv;

import dev.argon.ArgonException;

/**
 * Key/value cache for causal self-attention, preallocated for the whole context: per layer, keys
 * and values as row-major {@code [capacity, kvDim]} float arrays, where {@code kvDim =
 * nKvHeads * headDim} and row {@code t} holds the projections of the token at position {@code t}.
 *
 * <p>{@link Precision#F16} rounds every stored value to IEEE half precision, as llama.cpp's
 * default F16 cache does, so results can be compared with llama.cpp's; storage itself stays F32
 * (a compact F16/quantized layout is separate work).
 */
public final class KvCache {
    /** Precision of cached keys and values. */
    public enum Precision {
        /** Exact float32. */
        F32,
        /** Rounded to float16 (llama.cpp's default {@code --cache-type-k f16}). */
        F16
    }

    private final float[][] keys;
    private final float[][] values;
    private final int capacity;
    private final int kvDim;
    private final Precision precision;

    /**
     * @param nLayers number of transformer layers
     * @param capacity context size in tokens
     * @param kvDim floats per token per layer ({@code nKvHeads * headDim})
     * @param precision precision of stored values
     */
    public KvCache(int nLayers, int capacity, int kvDim, Precision precision) {
        if (capacity < 1 || (long) capacity * kvDim > Integer.MAX_VALUE - 16) {
            throw new ArgonException("a KV cache of " + capacity + " tokens x " + kvDim + " floats per layer does not fit in one array"
                    + " (at most " + (Integer.MAX_VALUE - 16) / kvDim + " tokens for this model); use a smaller context (-c)");
        }
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.precision = precision;
        this.keys = new float[nLayers][];
        this.values = new float[nLayers][];
        for (int l = 0; l < nLayers; l++) {
            keys[l] = new float[Math.multiplyExact(capacity, kvDim)];
            values[l] = new float[capacity * kvDim];
        }
    }

    /**
     * Stores the key and value vectors {@code [kvDim]} (at {@code k[ko..]} and {@code v[vo..]}) of the
     * token at {@code pos} in layer {@code layer}.
     */
    public void store(int layer, int pos, float[] k, int ko, float[] v, int vo) {
        int o = pos * kvDim;
        float[] kd = keys[layer];
        float[] vd = values[layer];
        if (precision == Precision.F16) {
            for (int i = 0; i < kvDim; i++) {
                kd[o + i] = Float.float16ToFloat(Float.floatToFloat16(k[ko + i]));
                vd[o + i] = Float.float16ToFloat(Float.floatToFloat16(v[vo + i]));
            }
        } else {
            System.arraycopy(k, ko, kd, o, kvDim);
            System.arraycopy(v, vo, vd, o, kvDim);
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

    /** @return the precision of stored values */
    public Precision precision() {
        return precision;
    }

    /** @return bytes a cache of this size holds, computed without allocating it */
    public static long bytesFor(int nLayers, long capacity, int kvDim) {
        return 2L * nLayers * capacity * kvDim * Float.BYTES;
    }

    /** @return bytes held by the cache */
    public long bytes() {
        return 2L * keys.length * capacity * kvDim * Float.BYTES;
    }
}
