package dev.argon.kv;

/**
 * One side (keys or values) of a {@link KvCache}: per layer, up to {@code capacity} rows of
 * {@code kvDim} values, row {@code t} holding the token at cache row {@code t}, in one of the
 * encodings of {@link KvCache.Precision}. Attention reads rows back as floats through
 * {@link #read}; the F32 encoding also exposes its arrays ({@link F32Rows#floats}) so the exact
 * path copies nothing.
 *
 * <p>Memory follows use: the arrays hold {@link #allocated} rows, grown on demand (doubling, at
 * least {@value #MIN_ROWS} rows, at most {@code capacity}) and shrunk by {@link #shrink} when a
 * sequence ends, so an idle cache holds only what it keeps for prefix reuse.
 */
abstract sealed class KvRows permits KvRows.F32Rows, KvRows.HalfRows, BlockRows {
    /**
     * Whether attention reads stored rows directly ({@link BlockKernels}, {@link HalfKernels});
     * {@code -Dargon.kv.fused=false} decodes them to floats first instead (the older path, the same
     * results up to the order of additions), for comparing the two.
     */
    static final boolean FUSED = !"false".equals(System.getProperty("argon.kv.fused"));

    /** Rows allocated at the first store. */
    static final int MIN_ROWS = 64;

    final int capacity;
    final int kvDim;
    /** Rows the arrays hold now. */
    int allocated;

    KvRows(int capacity, int kvDim) {
        this.capacity = capacity;
        this.kvDim = kvDim;
    }

    /** Makes sure rows {@code [0, rows)} exist (contents kept). */
    final void ensure(int rows) {
        if (rows > allocated) {
            resize(Math.min(capacity, Math.max(rows, Math.max(MIN_ROWS, 2 * allocated))));
        }
    }

    /** Releases the memory of rows {@code >= rows} (contents of the first {@code rows} kept). */
    final void shrink(int rows) {
        if (rows < allocated) {
            resize(rows);
        }
    }

    /** Reallocates every layer's arrays to {@code rows} rows, keeping the contents that fit. */
    abstract void resize(int rows);

    /** Copies rows {@code [0, rows)} of every layer from {@code src} (same encoding and sizes). */
    abstract void copyFrom(KvRows src, int rows);

    /** Encodes {@code src[off .. off+kvDim)} as row {@code pos} of layer {@code layer}. */
    abstract void store(int layer, int pos, float[] src, int off);

    /**
     * Decodes columns {@code [col, col+n)} of rows {@code [first, first+count)} of layer
     * {@code layer} into {@code dst[dstOff + p*n + j]} (rows packed, {@code n} apart).
     */
    abstract void read(int layer, int first, int count, int col, int n, float[] dst, int dstOff);

    /**
     * Scores of one query against columns {@code [col, col+n)} (one head) of rows
     * {@code [first, first+count)} of layer {@code layer}: {@code out[oo + p] = sum_j q[qo + j] *
     * row(first + p)[col + j]}. This default decodes the rows ({@link #read}) and dots the floats;
     * encodings with a direct kernel override it.
     */
    void dots(int layer, int first, int count, int col, int n, float[] q, int qo, float[] out, int oo) {
        float[] rows = decoded(count * n);
        read(layer, first, count, col, n, rows, 0);
        dev.argon.tensor.Ops.dots(q, qo, rows, 0, n, count, n, out, oo);
    }

    /**
     * {@link #dots} for {@code nq} queries sharing these rows (query heads of one GQA group): query
     * {@code i} at {@code q[qo + i * qs ..]}, its scores at {@code out[oo + i * os ..]}. This
     * default calls {@link #dots} per query; encodings with a group kernel read each row once.
     */
    void dots(int layer, int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os) {
        for (int i = 0; i < nq; i++) {
            dots(layer, first, count, col, n, q, qo + i * qs, out, oo + i * os);
        }
    }

    /**
     * Weighted sum of columns {@code [col, col+n)} of rows {@code [first, first+count)}:
     * {@code out[oo + j] = sum_p w[wo + p] * row(first + p)[col + j]} (overwritten). Default:
     * decode, then the float kernel.
     */
    void weightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, float[] out, int oo) {
        float[] rows = decoded(count * n);
        read(layer, first, count, col, n, rows, 0);
        dev.argon.tensor.Ops.weightedSum(out, oo, w, wo, rows, 0, n, count, n);
    }

    /**
     * Whether {@link #continueSums} serves rows of {@code n} values here (the fused two-byte kernels;
     * other encodings answer false and a paged cache decodes their rows first).
     */
    boolean canContinueSums(int n) {
        return false;
    }

    /**
     * {@link #weightedSum(int, int, int, int, int, float[], int, int, int, float[], int, int)}, with
     * {@code accumulate} continuing each output's chain from {@code out}'s values: a paged cache sums
     * its blocks' runs of rows in order and gets the bits of one call over all rows. Only where
     * {@link #canContinueSums} is true.
     */
    void continueSums(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os,
                      boolean accumulate) {
        throw new UnsupportedOperationException("continueSums on " + getClass().getSimpleName());
    }

    /**
     * {@link #weightedSum} for {@code nq} heads sharing these rows: head {@code i}'s weights at
     * {@code w[wo + i * ws ..]}, its output at {@code out[oo + i * os ..]}. Default: one call per head.
     */
    void weightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os) {
        for (int i = 0; i < nq; i++) {
            weightedSum(layer, first, count, col, n, w, wo + i * ws, out, oo + i * os);
        }
    }

    /** Per-thread buffer for decoded rows of one head. */
    private static final ThreadLocal<float[][]> DECODED = ThreadLocal.withInitial(() -> new float[][]{new float[0]});

    private static float[] decoded(int n) {
        float[][] h = DECODED.get();
        if (h[0].length < n) {
            h[0] = new float[Math.max(n, 2 * h[0].length)];
        }
        return h[0];
    }

    /** Moves rows {@code [from, from+count)} to {@code [to, to+count)} in every layer (overlap allowed). */
    abstract void move(int from, int to, int count);

    /** @return bytes held */
    abstract long bytes();

    /** Exact float32 rows. */
    static final class F32Rows extends KvRows {
        private final float[][] data;

        F32Rows(int nLayers, int capacity, int kvDim) {
            super(capacity, kvDim);
            data = new float[nLayers][];
            Math.multiplyExact(capacity, kvDim);
            resize(0);
        }

        @Override
        void resize(int rows) {
            for (int l = 0; l < data.length; l++) {
                data[l] = data[l] == null ? new float[rows * kvDim] : java.util.Arrays.copyOf(data[l], rows * kvDim);
            }
            allocated = rows;
        }

        @Override
        void copyFrom(KvRows src, int rows) {
            ensure(rows);
            F32Rows o = (F32Rows) src;
            for (int l = 0; l < data.length; l++) {
                System.arraycopy(o.data[l], 0, data[l], 0, rows * kvDim);
            }
        }

        float[] floats(int layer) {
            return data[layer];
        }

        @Override
        void store(int layer, int pos, float[] src, int off) {
            System.arraycopy(src, off, data[layer], pos * kvDim, kvDim);
        }

        @Override
        void read(int layer, int first, int count, int col, int n, float[] dst, int dstOff) {
            float[] d = data[layer];
            for (int p = 0; p < count; p++) {
                System.arraycopy(d, (first + p) * kvDim + col, dst, dstOff + p * n, n);
            }
        }

        @Override
        void dots(int layer, int first, int count, int col, int n, float[] q, int qo, float[] out, int oo) {
            dev.argon.tensor.Ops.dots(q, qo, data[layer], first * kvDim + col, kvDim, count, n, out, oo);
        }

        @Override
        void weightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, float[] out, int oo) {
            dev.argon.tensor.Ops.weightedSum(out, oo, w, wo, data[layer], first * kvDim + col, kvDim, count, n);
        }

        @Override
        void move(int from, int to, int count) {
            for (float[] d : data) {
                System.arraycopy(d, from * kvDim, d, to * kvDim, count * kvDim);
            }
        }

        @Override
        long bytes() {
            return (long) data.length * allocated * kvDim * Float.BYTES;
        }
    }

    /**
     * Two bytes per value: IEEE half precision (llama.cpp's default {@code f16}) or bfloat16
     * (the upper half of a float32, rounded to nearest even).
     */
    static final class HalfRows extends KvRows {
        private final short[][] data;
        private final boolean bf16;
        /**
         * Whether an infinite or NaN half was ever stored (a value beyond the half's range): then
         * attention decodes the rows to floats instead of widening them in registers
         * ({@link HalfKernels} handles finite halves only).
         */
        private boolean nonFinite;

        HalfRows(int nLayers, int capacity, int kvDim, boolean bf16) {
            super(capacity, kvDim);
            this.bf16 = bf16;
            data = new short[nLayers][];
            Math.multiplyExact(capacity, kvDim);
            resize(0);
        }

        @Override
        void resize(int rows) {
            for (int l = 0; l < data.length; l++) {
                data[l] = data[l] == null ? new short[rows * kvDim] : java.util.Arrays.copyOf(data[l], rows * kvDim);
            }
            allocated = rows;
        }

        @Override
        void copyFrom(KvRows src, int rows) {
            ensure(rows);
            HalfRows o = (HalfRows) src;
            nonFinite |= o.nonFinite;
            for (int l = 0; l < data.length; l++) {
                System.arraycopy(o.data[l], 0, data[l], 0, rows * kvDim);
            }
        }

        @Override
        void store(int layer, int pos, float[] src, int off) {
            short[] d = data[layer];
            int o = pos * kvDim;
            int special = 0;
            if (bf16) {
                for (int i = 0; i < kvDim; i++) {
                    d[o + i] = toBf16(src[off + i]); // widening a bfloat16 is exact for every value
                }
            } else {
                for (int i = 0; i < kvDim; i++) {
                    short h = Float.floatToFloat16(src[off + i]);
                    d[o + i] = h;
                    special |= (h & 0x7C00) == 0x7C00 ? 1 : 0;
                }
            }
            if (special != 0) {
                nonFinite = true;
            }
        }

        @Override
        void dots(int layer, int first, int count, int col, int n, float[] q, int qo, float[] out, int oo) {
            if (FUSED && HalfKernels.shortRows(n)) { // small heads: the decode-then-dot bits, read in place (no per-call buffer)
                HalfKernels.shortDots(bf16, q, qo, n, data[layer], first * kvDim + col, kvDim, count, out, oo);
                return;
            }
            if (nonFinite || !FUSED || !HalfKernels.supports(n)) {
                super.dots(layer, first, count, col, n, q, qo, out, oo);
                return;
            }
            HalfKernels.dots(bf16, q, qo, n, data[layer], first * kvDim + col, kvDim, count, out, oo);
        }

        @Override
        void dots(int layer, int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os) {
            int i = 0;
            if (!nonFinite && FUSED && HalfKernels.supports(n)) {
                for (; i + 4 <= nq; i += 4) {
                    GroupKernels.dotsHalf(bf16, q, qo + i * qs, qs, n, data[layer], first * kvDim + col, kvDim, count, out, oo + i * os, os);
                }
            }
            for (; i < nq; i++) {
                dots(layer, first, count, col, n, q, qo + i * qs, out, oo + i * os);
            }
        }

        @Override
        void weightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os) {
            int i = 0;
            if (!nonFinite && FUSED && HalfKernels.supports(n)) {
                for (; i + 4 <= nq; i += 4) {
                    GroupKernels.sumHalf(bf16, w, wo + i * ws, ws, n, data[layer], first * kvDim + col, kvDim, count, out, oo + i * os, os);
                }
            }
            for (; i < nq; i++) {
                weightedSum(layer, first, count, col, n, w, wo + i * ws, out, oo + i * os);
            }
        }

        @Override
        boolean canContinueSums(int n) {
            return !nonFinite && FUSED && HalfKernels.supports(n);
        }

        @Override
        void continueSums(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os,
                          boolean accumulate) {
            int i = 0;
            for (; i + 4 <= nq; i += 4) {
                GroupKernels.sumHalf(bf16, w, wo + i * ws, ws, n, data[layer], first * kvDim + col, kvDim, count, out, oo + i * os, os,
                        accumulate);
            }
            for (; i < nq; i++) {
                HalfKernels.weightedSum(bf16, w, wo + i * ws, n, data[layer], first * kvDim + col, kvDim, count, out, oo + i * os,
                        accumulate);
            }
        }

        @Override
        void weightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, float[] out, int oo) {
            if (FUSED && HalfKernels.shortRows(n)) {
                HalfKernels.shortWeightedSum(bf16, w, wo, n, data[layer], first * kvDim + col, kvDim, count, out, oo);
                return;
            }
            if (nonFinite || !FUSED || !HalfKernels.supports(n)) {
                super.weightedSum(layer, first, count, col, n, w, wo, out, oo);
                return;
            }
            HalfKernels.weightedSum(bf16, w, wo, n, data[layer], first * kvDim + col, kvDim, count, out, oo);
        }

        @Override
        void read(int layer, int first, int count, int col, int n, float[] dst, int dstOff) {
            short[] d = data[layer];
            for (int p = 0; p < count; p++) {
                int s = (first + p) * kvDim + col;
                int o = dstOff + p * n;
                if (bf16) {
                    for (int j = 0; j < n; j++) {
                        dst[o + j] = Float.intBitsToFloat(d[s + j] << 16);
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        dst[o + j] = Float.float16ToFloat(d[s + j]);
                    }
                }
            }
        }

        @Override
        void move(int from, int to, int count) {
            for (short[] d : data) {
                System.arraycopy(d, from * kvDim, d, to * kvDim, count * kvDim);
            }
        }

        @Override
        long bytes() {
            return (long) data.length * allocated * kvDim * 2;
        }

        /** float32 → bfloat16 bits, rounding to nearest even; NaN stays NaN. */
        static short toBf16(float x) {
            int bits = Float.floatToRawIntBits(x);
            if (Float.isNaN(x)) {
                return (short) ((bits >>> 16) | 0x40);
            }
            return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
        }
    }
}
