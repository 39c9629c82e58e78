package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q4_1}: blocks of 32 elements in 20 bytes, {@code {f16 d; f16 m; u8 qs[16]}}. For
 * {@code j < 16}, element {@code j} is {@code d * (qs[j] & 0xF) + m} and element {@code j + 16}
 * is {@code d * (qs[j] >> 4) + m}. Layout from ggml {@code block_q4_1} /
 * {@code dequantize_row_q4_1}. Offsets and lengths must be multiples of 32.
 */
public final class Q4_1Tensor extends Tensor implements ScalarDot {
    static final int QK = 32;
    static final int BYTES = 20;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q4_1Tensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        int j = (int) (index % QK);
        int q = Le.u8(data, bo + 4 + (j & 15));
        return Le.f16(data, bo) * (j < 16 ? q & 0xF : q >> 4) + Le.f16(data, bo + 2);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        if (!Simd.ENABLED) {
            dequantizeScalar(offset, out, outOffset, n);
            return;
        }
        long bo = offset / QK * BYTES;
        int o = outOffset;
        for (int b = 0; b < n / QK; b++, bo += BYTES, o += QK) {
            FloatVector d = FloatVector.broadcast(F, Le.f16(data, bo));
            FloatVector m = FloatVector.broadcast(F, Le.f16(data, bo + 2));
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 4 + u, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = qs.and((byte) 0x0F);
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
                for (int p = 0; p < PARTS; p++) {
                    d.mul((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).add(m).intoArray(out, o + u + p * L);
                    d.mul((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).add(m).intoArray(out, o + 16 + u + p * L);
                }
            }
        }
    }

    /** Scalar reference of {@link #dequantize} (the same float operations per element). */
    void dequantizeScalar(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo);
            float m = Le.f16(data, bo + 2);
            int o = outOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 4 + j);
                out[o + j] = d * (q & 0xF) + m;
                out[o + j + 16] = d * (q >> 4) + m;
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
        // sum over blocks of d * q.x + m * sum(x)
        FloatVector accD = FloatVector.zero(F);
        FloatVector accM = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK) {
            FloatVector s = FloatVector.zero(F);
            FloatVector sx = FloatVector.zero(F);
            for (int u = 0; u < 16; u += BU) {
                ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 4 + u, ByteOrder.LITTLE_ENDIAN);
                ByteVector lo = qs.and((byte) 0x0F);
                ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
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
            float s = 0f;
            float sx = 0f;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, bo + 4 + j);
                s += (q & 0xF) * x[xi + j] + (q >> 4) * x[xi + j + 16];
                sx += x[xi + j] + x[xi + j + 16];
            }
            sum += Le.f16(data, bo) * s + Le.f16(data, bo + 2) * sx;
        }
        return sum;
    }
}
