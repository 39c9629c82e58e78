package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import jdk.incubator.vector.VectorShuffle;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q5_0}: blocks of 32 elements in 22 bytes, {@code {f16 d; u32 qh; u8 qs[16]}} with
 * {@code qh} little-endian. For {@code j < 16}, element {@code j} is
 * {@code d * (((qs[j] & 0xF) | bit(qh, j) << 4) - 16)} and element {@code j + 16} is
 * {@code d * (((qs[j] >> 4) | bit(qh, j + 16) << 4) - 16)}. Layout from ggml {@code block_q5_0} /
 * {@code dequantize_row_q5_0}. Offsets and lengths must be multiples of 32.
 */
public final class Q5_0Tensor extends Tensor implements ScalarDot {
    static final int QK = 32;
    static final int BYTES = 22;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;
    /** 16 int lanes (used when {@code L == 16}): element j's fifth bit is bit j of qh. */
    static final VectorSpecies<Integer> I16 = IntVector.SPECIES_512;
    static final IntVector BIT_INDEX = IntVector.fromArray(I16, new int[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0);
    static final IntVector BIT_INDEX_HIGH = BIT_INDEX.add(16);

    /** Unit {@code k}, low elements: lane {@code i} takes qh byte {@code (k*BU + i) / 8}. */
    static final VectorShuffle<Byte> QH_LO0 = spread(0, 0);
    /** Second unit (used when a unit is 8 bytes), low elements. */
    static final VectorShuffle<Byte> QH_LO1 = spread(1, 0);
    /** First unit, high elements: lane {@code i} takes qh byte {@code 2 + i / 8}. */
    static final VectorShuffle<Byte> QH_HI0 = spread(0, 2);
    /** Second unit, high elements. */
    static final VectorShuffle<Byte> QH_HI1 = spread(1, 2);
    /** Lane {@code i} selects bit {@code i % 8}. */
    static final ByteVector BIT = ByteVector.fromArray(BS,
            new byte[] {1, 2, 4, 8, 16, 32, 64, (byte) 128, 1, 2, 4, 8, 16, 32, 64, (byte) 128}, 0);

    Q5_0Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        int j = (int) (index % QK);
        int qh = data.get(Le.INT, bo + 2);
        int q = Le.u8(data, bo + 6 + (j & 15));
        int lo = j < 16 ? q & 0xF : q >> 4;
        return Le.f16(data, bo) * ((lo | ((qh >>> j) & 1) << 4) - 16);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        if (!(Simd.ENABLED && Simd.L == 16)) {
            dequantizeScalar(offset, out, outOffset, n);
            return;
        }
        long bo = offset / QK * BYTES;
        int o = outOffset;
        for (int b = 0; b < n / QK; b++, bo += BYTES, o += QK) {
            FloatVector d = FloatVector.broadcast(F, Le.f16(data, bo));
            int qh = data.get(Le.INT, bo + 2);
            ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 6, ByteOrder.LITTLE_ENDIAN);
            FloatVector bitLo = fifthBits(qh, BIT_INDEX);
            FloatVector bitHi = fifthBits(qh, BIT_INDEX_HIGH);
            FloatVector lo = (FloatVector) qs.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
            FloatVector hi = (FloatVector) qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
            // small integers, exact as floats: the same value as the scalar integer expression
            d.mul(lo.add(bitLo).sub(16f)).intoArray(out, o);
            d.mul(hi.add(bitHi).sub(16f)).intoArray(out, o + 16);
        }
    }

    /**
     * The fifth bits of 16 elements as floats 0 or 16: bit {@code index[i]} of {@code qh} (bit j
     * belongs to element j, bit j + 16 to element j + 16). Shared with Q5_1; 16 lanes only.
     */
    static FloatVector fifthBits(int qh, IntVector index) {
        return (FloatVector) IntVector.broadcast(I16, qh).lanewise(VectorOperators.LSHR, index).and(1)
                .lanewise(VectorOperators.LSHL, 4).convert(VectorOperators.I2F, 0);
    }

    /** Scalar reference of {@link #dequantize} (the same float operations per element). */
    void dequantizeScalar(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo);
            int qh = data.get(Le.INT, bo + 2);
            int o = outOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 6 + j);
                out[o + j] = d * (((q & 0xF) | ((qh >>> j) & 1) << 4) - 16);
                out[o + j + 16] = d * (((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16);
            }
        }
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        if (!Simd.ENABLED) {
            return dotScalar(offset, x, xOffset, n);
        }
        long bo = offset / QK * BYTES;
        int xi = xOffset;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK) {
            // BU bytes from qh: lanes 0..3 are qh, the rest (qs) is ignored; stays inside the block
            ByteVector qh = ByteVector.fromMemorySegment(BS, data, bo + 2, ByteOrder.LITTLE_ENDIAN);
            FloatVector s = FloatVector.zero(F);
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 6 + u, ByteOrder.LITTLE_ENDIAN);
                // lane j gets bit u+j (low nibbles) or u+j+16 (high nibbles) of qh: spread the qh
                // bytes over the lanes, then test one bit per lane
                VectorShuffle<Byte> spreadLo = u == 0 ? QH_LO0 : QH_LO1;
                VectorShuffle<Byte> spreadHi = u == 0 ? QH_HI0 : QH_HI1;
                ByteVector lo = qs.and((byte) 0x0F)
                        .add((byte) 16, qh.rearrange(spreadLo).and(BIT).compare(VectorOperators.NE, 0)).sub((byte) 16);
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                        .add((byte) 16, qh.rearrange(spreadHi).and(BIT).compare(VectorOperators.NE, 0)).sub((byte) 16);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector x0 = FloatVector.fromArray(F, x, xi + u + p * L);
                    FloatVector x1 = FloatVector.fromArray(F, x, xi + 16 + u + p * L);
                    s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(x0, s);
                    s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(x1, s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, Le.f16(data, bo)), acc);
        }
        return Simd.sum(acc);
    }

    // ---- Row groups: 8-bit activations on 4- and 8-lane machines (128-bit NEON/SSE, AVX2) ----

    /**
     * Whether decode runs on 8-bit activations and row groups ({@link ByteRowGroups}: the values
     * {@code q - 16} as signed bytes), as ggml's Q5_0 x Q8_0 dot product; otherwise (16 lanes, or
     * {@code -Dargon.repack=false}) the float-activation {@link #dot}.
     */
    static final boolean GROUPED = RowGroups.ENABLED;

    private final GroupedRows<ByteRowGroups> grouped = new GroupedRows<>(QK, this::buildGroups, ByteRowGroups::dot, ByteRowGroups::dot2, ByteRowGroups::dot4);

    @Override
    public boolean supportsQ8Activations() {
        return GROUPED;
    }

    @Override
    public int q8RowGroup(int cols, ThreadPool pool) {
        return grouped.group(cols, pool);
    }

    private ByteRowGroups buildGroups(int cols, ThreadPool pool) {
        int nb = cols / QK;
        return ByteRowGroups.build(size() / cols, cols, pool, (row, b, q) -> decodeBlock((row * nb + b) * BYTES, q));
    }

    /** Block at byte {@code bo} as 32 signed values {@code q - 16} (-16..15); returns its scale. */
    private float decodeBlock(long bo, byte[] q) {
        int qh = data.get(Le.INT, bo + 2);
        for (int j = 0; j < 16; j++) {
            int v = Le.u8(data, bo + 6 + j);
            q[j] = (byte) (((v & 0xF) | ((qh >>> j) & 1) << 4) - 16);
            q[j + 16] = (byte) (((v >> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16);
        }
        return Le.f16(data, bo);
    }

    @Override
    protected int dotQ8RowGroups(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                 float[] out, int outOffset, int outStride) {
        return grouped.dot(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
    }

    /**
     * ggml's Q5_0 x Q8_0 dot product: per block the exact integer sum {@code s} of
     * {@code (q_w - 16) * q_x}, then {@code acc = fma(s, d_w * d_x, acc)} in block order from 0 —
     * one lane of {@link ByteRowGroups#dot}, the same bits (rows outside whole groups and single
     * calls take this scalar form).
     *
     * @throws UnsupportedOperationException unless {@link #supportsQ8Activations()}
     */
    @Override
    public float dotQ8(long offset, Q8Activations x, int xOffset, int n) {
        if (!GROUPED) {
            return super.dotQ8(offset, x, xOffset, n);
        }
        checkBlockAligned(offset, n);
        long bo = offset / QK * BYTES;
        byte[] q = new byte[QK];
        float acc = 0f;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES) {
            float d = decodeBlock(bo, q);
            int s = 0;
            for (int e = 0; e < QK; e++) {
                s += q[e] * x.q[xi + e];
            }
            acc = Math.fma((float) s, d * x.d[xi / QK], acc);
        }
        return acc;
    }

    private static VectorShuffle<Byte> spread(int unit, int firstByte) {
        int[] index = new int[BU];
        for (int i = 0; i < BU; i++) {
            index[i] = firstByte + (unit * BU + i) / 8;
        }
        return VectorShuffle.fromArray(BS, index, 0);
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        float sum = 0f;
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            int xi = xOffset + b * QK;
            int qh = data.get(Le.INT, bo + 2);
            float s = 0f;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 6 + j);
                s += (((q & 0xF) | ((qh >>> j) & 1) << 4) - 16) * x[xi + j]
                        + (((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16) * x[xi + j + 16];
            }
            sum += Le.f16(data, bo) * s;
        }
        return sum;
    }
}
