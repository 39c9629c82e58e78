package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q5_1}: blocks of 32 elements in 24 bytes, {@code {f16 d; f16 m; u32 qh; u8 qs[16]}}
 * with {@code qh} little-endian. For {@code j < 16}, element {@code j} is
 * {@code d * ((qs[j] & 0xF) | bit(qh, j) << 4) + m} and element {@code j + 16} is
 * {@code d * ((qs[j] >> 4) | bit(qh, j + 16) << 4) + m}. Layout from ggml {@code block_q5_1} /
 * {@code dequantize_row_q5_1}. Offsets and lengths must be multiples of 32.
 */
public final class Q5_1Tensor extends Tensor implements ScalarDot {
    static final int QK = 32;
    static final int BYTES = 24;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q5_1Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        int j = (int) (index % QK);
        int qh = data.get(Le.INT, bo + 4);
        int q = Le.u8(data, bo + 8 + (j & 15));
        int lo = j < 16 ? q & 0xF : q >> 4;
        return Le.f16(data, bo) * (lo | ((qh >>> j) & 1) << 4) + Le.f16(data, bo + 2);
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
            FloatVector m = FloatVector.broadcast(F, Le.f16(data, bo + 2));
            int qh = data.get(Le.INT, bo + 4);
            ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 8, ByteOrder.LITTLE_ENDIAN);
            FloatVector bitLo = Q5_0Tensor.fifthBits(qh, Q5_0Tensor.BIT_INDEX);
            FloatVector bitHi = Q5_0Tensor.fifthBits(qh, Q5_0Tensor.BIT_INDEX_HIGH);
            FloatVector lo = (FloatVector) qs.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
            FloatVector hi = (FloatVector) qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0);
            // small integers, exact as floats: the same value as the scalar integer expression
            d.mul(lo.add(bitLo)).add(m).intoArray(out, o);
            d.mul(hi.add(bitHi)).add(m).intoArray(out, o + 16);
        }
    }

    /** Scalar reference of {@link #dequantize} (the same float operations per element). */
    void dequantizeScalar(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo);
            float m = Le.f16(data, bo + 2);
            int qh = data.get(Le.INT, bo + 4);
            int o = outOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 8 + j);
                out[o + j] = d * ((q & 0xF) | ((qh >>> j) & 1) << 4) + m;
                out[o + j + 16] = d * ((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) + m;
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
        FloatVector accD = FloatVector.zero(F);
        FloatVector accM = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK) {
            // BU bytes from qh: lanes 0..3 are qh, the rest (qs) is ignored; stays inside the block
            ByteVector qh = ByteVector.fromMemorySegment(BS, data, bo + 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector s = FloatVector.zero(F);
            FloatVector sx = FloatVector.zero(F);
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 8 + u, ByteOrder.LITTLE_ENDIAN);
                // lane j gets bit u+j (low nibbles) or u+j+16 (high nibbles) of qh: spread the qh
                // bytes over the lanes, then test one bit per lane
                VectorShuffle<Byte> spreadLo = u == 0 ? Q5_0Tensor.QH_LO0 : Q5_0Tensor.QH_LO1;
                VectorShuffle<Byte> spreadHi = u == 0 ? Q5_0Tensor.QH_HI0 : Q5_0Tensor.QH_HI1;
                ByteVector lo = qs.and((byte) 0x0F)
                        .add((byte) 16, qh.rearrange(spreadLo).and(Q5_0Tensor.BIT).compare(VectorOperators.NE, 0));
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                        .add((byte) 16, qh.rearrange(spreadHi).and(Q5_0Tensor.BIT).compare(VectorOperators.NE, 0));
                for (int p = 0; p < PARTS; p++) {
                    FloatVector x0 = FloatVector.fromArray(F, x, xi + u + p * L);
                    FloatVector x1 = FloatVector.fromArray(F, x, xi + 16 + u + p * L);
                    s = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(x0, s);
                    s = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(x1, s);
                    sx = sx.add(x0).add(x1);
                }
            }
            accD = s.fma(FloatVector.broadcast(F, Le.f16(data, bo)), accD);
            accM = sx.fma(FloatVector.broadcast(F, Le.f16(data, bo + 2)), accM);
        }
        return Simd.sum(accD.add(accM));
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        float sum = 0f;
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            int xi = xOffset + b * QK;
            int qh = data.get(Le.INT, bo + 4);
            float s = 0f;
            float sx = 0f;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 8 + j);
                s += ((q & 0xF) | ((qh >>> j) & 1) << 4) * x[xi + j]
                        + ((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) * x[xi + j + 16];
                sx += x[xi + j] + x[xi + j + 16];
            }
            sum += Le.f16(data, bo) * s + Le.f16(data, bo + 2) * sx;
        }
        return sum;
    }
}
