package dev.argon.kv;

/**
 * Block-quantized rows in the manner of ggml's {@code q8_0}, {@code q4_0} and {@code q4_1}: each
 * run of {@code block} consecutive values of a row has an F16 scale (and for the asymmetric
 * 4-bit form an F16 minimum) and 8- or 4-bit codes.
 *
 * <ul>
 *   <li>8-bit symmetric ({@code q8_0}): {@code d = max|x| / 127}, {@code q = round(x / d)} in
 *       [-127, 127], value {@code d * q};</li>
 *   <li>4-bit symmetric ({@code q4_0}): {@code d = m / -8} where {@code m} is the value of largest
 *       magnitude (with its sign), {@code q = clamp(trunc(x / d + 8.5), 0, 15)}, value
 *       {@code d * (q - 8)};</li>
 *   <li>4-bit asymmetric ({@code q4_1}): {@code d = (max - min) / 15}, {@code q = round((x - min) / d)}
 *       in [0, 15], value {@code min + d * q}.</li>
 * </ul>
 * The block is 32 values when the head size allows (as ggml), else the largest power of two
 * dividing the head size, so blocks never straddle two heads. 4-bit codes are packed two to a
 * byte (value {@code i} of a row in the low nibble of byte {@code i/2} when {@code i} is even).
 */
final class BlockRows extends KvRows {
    /** The encodings. */
    enum Kind { Q8_0, Q4_0, Q4_1 }

    private final Kind kind;
    private final int block;
    private final int blocksPerRow;
    /** Bytes of codes per row: kvDim (8-bit) or kvDim / 2 (4-bit). */
    private final int codeBytes;
    private final byte[][] codes;
    private final short[][] scales;
    private final short[][] mins; // q4_1 only

    BlockRows(int nLayers, int capacity, int kvDim, int block, Kind kind) {
        super(capacity, kvDim);
        if (kvDim % block != 0) {
            throw new IllegalArgumentException("block " + block + " does not divide kvDim " + kvDim);
        }
        this.kind = kind;
        this.block = block;
        this.blocksPerRow = kvDim / block;
        if (kind != Kind.Q8_0 && kvDim % 2 != 0) {
            throw new IllegalArgumentException("4-bit rows need an even kvDim, not " + kvDim);
        }
        this.codeBytes = kind == Kind.Q8_0 ? kvDim : kvDim / 2;
        codes = new byte[nLayers][];
        scales = new short[nLayers][];
        mins = kind == Kind.Q4_1 ? new short[nLayers][] : null;
        Math.multiplyExact(capacity, codeBytes);
        resize(0);
    }

    @Override
    void resize(int rows) {
        for (int l = 0; l < codes.length; l++) {
            codes[l] = codes[l] == null ? new byte[rows * codeBytes] : java.util.Arrays.copyOf(codes[l], rows * codeBytes);
            scales[l] = scales[l] == null ? new short[rows * blocksPerRow] : java.util.Arrays.copyOf(scales[l], rows * blocksPerRow);
            if (mins != null) {
                mins[l] = mins[l] == null ? new short[rows * blocksPerRow] : java.util.Arrays.copyOf(mins[l], rows * blocksPerRow);
            }
        }
        allocated = rows;
    }

    @Override
    void copyFrom(KvRows src, int rows) {
        ensure(rows);
        BlockRows o = (BlockRows) src;
        for (int l = 0; l < codes.length; l++) {
            System.arraycopy(o.codes[l], 0, codes[l], 0, rows * codeBytes);
            System.arraycopy(o.scales[l], 0, scales[l], 0, rows * blocksPerRow);
            if (mins != null) {
                System.arraycopy(o.mins[l], 0, mins[l], 0, rows * blocksPerRow);
            }
        }
    }

    /** The block size for a head size: 32 when it divides it, else the largest power of two that does. */
    static int blockFor(int headDim) {
        int b = 32;
        while (headDim % b != 0) {
            b >>= 1;
        }
        return b;
    }

    @Override
    void store(int layer, int pos, float[] src, int off) {
        byte[] c = codes[layer];
        short[] s = scales[layer];
        for (int b = 0; b < blocksPerRow; b++) {
            int x0 = off + b * block;
            int c0 = b * block; // index of the block's first value within the row
            int rowBase = pos * codeBytes;
            int si = pos * blocksPerRow + b;
            switch (kind) {
                case Q8_0 -> {
                    float amax = 0f;
                    for (int i = 0; i < block; i++) {
                        amax = Math.max(amax, Math.abs(src[x0 + i]));
                    }
                    float d = amax / 127f;
                    float id = d != 0f ? 1f / d : 0f;
                    s[si] = Float.floatToFloat16(d);
                    for (int i = 0; i < block; i++) {
                        c[rowBase + c0 + i] = (byte) Math.round(src[x0 + i] * id);
                    }
                }
                case Q4_0 -> {
                    float amax = 0f;
                    float max = 0f;
                    for (int i = 0; i < block; i++) {
                        float v = src[x0 + i];
                        if (Math.abs(v) > amax) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0f ? 1f / d : 0f;
                    s[si] = Float.floatToFloat16(d);
                    for (int i = 0; i < block; i++) {
                        putNibble(c, rowBase, c0 + i, Math.min(15, (int) (src[x0 + i] * id + 8.5f)));
                    }
                }
                case Q4_1 -> {
                    float min = Float.POSITIVE_INFINITY;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int i = 0; i < block; i++) {
                        min = Math.min(min, src[x0 + i]);
                        max = Math.max(max, src[x0 + i]);
                    }
                    float d = (max - min) / 15f;
                    float id = d != 0f ? 1f / d : 0f;
                    s[si] = Float.floatToFloat16(d);
                    mins[layer][si] = Float.floatToFloat16(min);
                    float m = Float.float16ToFloat(mins[layer][si]);
                    for (int i = 0; i < block; i++) {
                        putNibble(c, rowBase, c0 + i, Math.max(0, Math.min(15, Math.round((src[x0 + i] - m) * id))));
                    }
                }
            }
        }
    }

    @Override
    void read(int layer, int first, int count, int col, int n, float[] dst, int dstOff) {
        byte[] c = codes[layer];
        short[] s = scales[layer];
        short[] mn = mins != null ? mins[layer] : null;
        if (col % block == 0 && n % block == 0) {
            readBlocks(c, s, mn, first, count, col / block, n / block, dst, dstOff);
            return;
        }
        for (int p = 0; p < count; p++) {
            int row = first + p;
            int o = dstOff + p * n;
            for (int j = 0; j < n; ) {
                int x = col + j;
                int b = x / block;
                int end = Math.min(n, (b + 1) * block - col);
                float d = Float.float16ToFloat(s[row * blocksPerRow + b]);
                int base = row * codeBytes;
                switch (kind) {
                    case Q8_0 -> {
                        for (; j < end; j++) {
                            dst[o + j] = d * c[base + col + j];
                        }
                    }
                    case Q4_0 -> {
                        for (; j < end; j++) {
                            dst[o + j] = d * (nibble(c, base, col + j) - 8);
                        }
                    }
                    case Q4_1 -> {
                        float m = Float.float16ToFloat(mn[row * blocksPerRow + b]);
                        for (; j < end; j++) {
                            dst[o + j] = m + d * nibble(c, base, col + j);
                        }
                    }
                }
            }
        }
    }

    /**
     * {@link #read} of whole blocks {@code [b0, b0+nb)} of each row (a head is always whole
     * blocks): one loop per encoding, no division or switch per block, 4-bit codes unpacked a
     * byte (two values) at a time. Same values as the general path.
     */
    private void readBlocks(byte[] c, short[] s, short[] mn, int first, int count, int b0, int nb, float[] dst, int dstOff) {
        int n = nb * block;
        switch (kind) {
            case Q8_0 -> {
                for (int p = 0; p < count; p++) {
                    int row = first + p;
                    int o = dstOff + p * n;
                    int code = row * codeBytes + b0 * block;
                    int sc = row * blocksPerRow + b0;
                    for (int b = 0; b < nb; b++, o += block, code += block) {
                        float d = Float.float16ToFloat(s[sc + b]);
                        for (int i = 0; i < block; i++) {
                            dst[o + i] = d * c[code + i];
                        }
                    }
                }
            }
            case Q4_0, Q4_1 -> {
                boolean asym = kind == Kind.Q4_1;
                int half = block / 2;
                for (int p = 0; p < count; p++) {
                    int row = first + p;
                    int o = dstOff + p * n;
                    int code = row * codeBytes + b0 * half;
                    int sc = row * blocksPerRow + b0;
                    for (int b = 0; b < nb; b++, o += block, code += half) {
                        float d = Float.float16ToFloat(s[sc + b]);
                        if (asym) {
                            float m = Float.float16ToFloat(mn[sc + b]);
                            for (int i = 0; i < half; i++) {
                                int v = c[code + i];
                                dst[o + 2 * i] = m + d * (v & 0xF);
                                dst[o + 2 * i + 1] = m + d * ((v >> 4) & 0xF);
                            }
                        } else {
                            for (int i = 0; i < half; i++) {
                                int v = c[code + i];
                                dst[o + 2 * i] = d * ((v & 0xF) - 8);
                                dst[o + 2 * i + 1] = d * (((v >> 4) & 0xF) - 8);
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    void dots(int layer, int first, int count, int col, int n, float[] q, int qo, float[] out, int oo) {
        if (!FUSED || col % block != 0 || !BlockKernels.supports(kind, block, n)) {
            super.dots(layer, first, count, col, n, q, qo, out, oo);
            return;
        }
        int co = first * codeBytes + (kind == Kind.Q8_0 ? col : col / 2);
        int so = first * blocksPerRow + col / block;
        if (kind == Kind.Q8_0) {
            BlockKernels.dotsQ8(q, qo, n, block, codes[layer], co, codeBytes, scales[layer], so, blocksPerRow, count, out, oo);
        } else {
            BlockKernels.dotsQ4(q, qo, n, block, codes[layer], co, codeBytes, scales[layer], mins == null ? null : mins[layer], so,
                    blocksPerRow, count, out, oo);
        }
    }

    @Override
    void dots(int layer, int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os) {
        int i = 0;
        if (FUSED && col % block == 0 && BlockKernels.supports(kind, block, n)) {
            int co = first * codeBytes + (kind == Kind.Q8_0 ? col : col / 2);
            int so = first * blocksPerRow + col / block;
            for (; i + 4 <= nq; i += 4) {
                if (kind == Kind.Q8_0) {
                    GroupKernels.dotsQ8(q, qo + i * qs, qs, n, block, codes[layer], co, codeBytes, scales[layer], so, blocksPerRow, count,
                            out, oo + i * os, os);
                } else {
                    float[] qp = BlockKernels.permuteFour(q, qo + i * qs, qs, n, block);
                    GroupKernels.dotsQ4(qp, n, block, codes[layer], co, codeBytes, scales[layer], mins == null ? null : mins[layer], so,
                            blocksPerRow, count, out, oo + i * os, os);
                }
            }
        }
        for (; i < nq; i++) {
            dots(layer, first, count, col, n, q, qo + i * qs, out, oo + i * os);
        }
    }

    @Override
    void weightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os) {
        int i = 0;
        if (FUSED && kind == Kind.Q8_0 && GroupKernels.sumQ8Supported() && col % block == 0 && BlockKernels.supports(kind, block, n)) {
            int co = first * codeBytes + col;
            int so = first * blocksPerRow + col / block;
            for (; i + 4 <= nq; i += 4) {
                float[] scaled = BlockKernels.weightedScalesFour(w, wo + i * ws, ws, scales[layer], so, blocksPerRow, count, n / block);
                GroupKernels.sumQ8(scaled, n, block, codes[layer], co, codeBytes, count, out, oo + i * os, os);
            }
        }
        for (; i < nq; i++) {
            weightedSum(layer, first, count, col, n, w, wo + i * ws, out, oo + i * os);
        }
    }

    @Override
    void weightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, float[] out, int oo) {
        if (!FUSED || col % block != 0 || !BlockKernels.supports(kind, block, n)) {
            super.weightedSum(layer, first, count, col, n, w, wo, out, oo);
            return;
        }
        int co = first * codeBytes + (kind == Kind.Q8_0 ? col : col / 2);
        int so = first * blocksPerRow + col / block;
        if (kind == Kind.Q8_0) {
            BlockKernels.sumQ8(w, wo, n, block, codes[layer], co, codeBytes, scales[layer], so, blocksPerRow, count, out, oo);
        } else {
            BlockKernels.sumQ4(w, wo, n, block, codes[layer], co, codeBytes, scales[layer], mins == null ? null : mins[layer], so,
                    blocksPerRow, count, out, oo);
        }
    }

    @Override
    void move(int from, int to, int count) {
        for (int l = 0; l < codes.length; l++) {
            System.arraycopy(codes[l], from * codeBytes, codes[l], to * codeBytes, count * codeBytes);
            System.arraycopy(scales[l], from * blocksPerRow, scales[l], to * blocksPerRow, count * blocksPerRow);
            if (mins != null) {
                System.arraycopy(mins[l], from * blocksPerRow, mins[l], to * blocksPerRow, count * blocksPerRow);
            }
        }
    }

    private static int nibble(byte[] c, int rowBase, int i) {
        int b = c[rowBase + (i >> 1)];
        return (i & 1) == 0 ? b & 0xF : (b >> 4) & 0xF;
    }

    private static void putNibble(byte[] c, int rowBase, int i, int q) {
        int k = rowBase + (i >> 1);
        c[k] = (byte) ((i & 1) == 0 ? (c[k] & 0xF0) | q : (c[k] & 0x0F) | (q << 4));
    }

    @Override
    long bytes() {
        return (long) codes.length * allocated * bytesPerRow(kvDim, block, kind);
    }

    /** Bytes one row of {@code kvDim} values takes in this encoding (4-bit codes counted packed). */
    static long bytesPerRow(int kvDim, int block, Kind kind) {
        int blocks = kvDim / block;
        return switch (kind) {
            case Q8_0 -> kvDim + 2L * blocks;
            case Q4_0 -> kvDim / 2 + 2L * blocks;
            case Q4_1 -> kvDim / 2 + 4L * blocks;
        };
    }
}
