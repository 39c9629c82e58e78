package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q4_K}: super-blocks of 256 elements in 144 bytes,
 * {@code {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}}, made of eight 32-element sub-blocks with
 * 6-bit scale {@code sc} and min {@code m} (see {@link KScales}). Elements come in four chunks of 64:
 * chunk {@code c} reads {@code qs[32c .. 32c+32)}, its first 32 elements are the low nibbles
 * (sub-block {@code 2c}), the next 32 the high nibbles (sub-block {@code 2c+1}); an element is
 * {@code d*sc*q - dmin*m}. Layout from ggml {@code block_q4_K} / {@code dequantize_row_q4_K}.
 * Offsets and lengths must be multiples of 256.
 */
public final class Q4_KTensor extends Tensor implements ScalarDot {
    static final int QK = 256;
    static final int BYTES = 144;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q4_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        int e = (int) (index % QK);
        int c = e / 64;
        int r = e % 64;
        int sub = 2 * c + r / 32;
        int q = Le.u8(data, bo + 16 + 32 * c + r % 32);
        q = r < 32 ? q & 0xF : q >> 4;
        long slo = data.get(Le.LONG, bo + 4);
        int shi = data.get(Le.INT, bo + 12);
        return Le.f16(data, bo) * KScales.scale(slo, shi, sub) * q - Le.f16(data, bo + 2) * KScales.min(slo, shi, sub);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo);
            float dmin = Le.f16(data, bo + 2);
            long slo = data.get(Le.LONG, bo + 4);
            int shi = data.get(Le.INT, bo + 12);
            for (int c = 0; c < 4; c++) {
                float d1 = d * KScales.scale(slo, shi, 2 * c);
                float m1 = dmin * KScales.min(slo, shi, 2 * c);
                float d2 = d * KScales.scale(slo, shi, 2 * c + 1);
                float m2 = dmin * KScales.min(slo, shi, 2 * c + 1);
                int o = outOffset + b * QK + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int q = Le.u8(data, bo + 16 + 32 * c + l);
                    out[o + l] = d1 * (q & 0xF) - m1;
                    out[o + 32 + l] = d2 * (q >> 4) - m2;
                }
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
        // per sub-block: (d*sc*q - dmin*m) . x, with the weights formed by one FMA; two accumulators
        // for low and two for high nibbles, swapped every unit, keep the FMA chains short
        FloatVector lo0 = FloatVector.zero(F);
        FloatVector lo1 = FloatVector.zero(F);
        FloatVector hi0 = FloatVector.zero(F);
        FloatVector hi1 = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK) {
            float d = Le.f16(data, bo);
            float dmin = -Le.f16(data, bo + 2);
            long packedLo = data.get(Le.LONG, bo + 4);
            int packedHi = data.get(Le.INT, bo + 12);
            long scales = KScales.scales(packedLo, packedHi);
            long mins = KScales.mins(packedLo, packedHi);
            for (int c = 0; c < 4; c++) {
                FloatVector d1 = FloatVector.broadcast(F, d * KScales.at(scales, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, dmin * KScales.at(mins, 2 * c));
                FloatVector d2 = FloatVector.broadcast(F, d * KScales.at(scales, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * KScales.at(mins, 2 * c + 1));
                for (int u = 0; u < 32; u += BU) {
                    ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 16 + 32 * c + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector lo = qs.and((byte) 0x0F);
                    ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
                    int xa = xi + 64 * c + u;
                    for (int p = 0; p < PARTS; p++) {
                        FloatVector wl = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(d1, m1);
                        FloatVector wh = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(d2, m2);
                        FloatVector t = lo0;
                        lo0 = lo1;
                        lo1 = wl.fma(FloatVector.fromArray(F, x, xa + p * L), t);
                        t = hi0;
                        hi0 = hi1;
                        hi1 = wh.fma(FloatVector.fromArray(F, x, xa + 32 + p * L), t);
                    }
                }
            }
        }
        return Simd.sum(lo0.add(lo1).add(hi0.add(hi1)));
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        float sum = 0f;
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            int xi = xOffset + b * QK;
            float d = Le.f16(data, bo);
            float dmin = Le.f16(data, bo + 2);
            long slo = data.get(Le.LONG, bo + 4);
            int shi = data.get(Le.INT, bo + 12);
            for (int c = 0; c < 4; c++) {
                float q1 = 0f;
                float s1 = 0f;
                float q2 = 0f;
                float s2 = 0f;
                int xa = xi + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int q = Le.u8(data, bo + 16 + 32 * c + l);
                    q1 += (q & 0xF) * x[xa + l];
                    s1 += x[xa + l];
                    q2 += (q >> 4) * x[xa + 32 + l];
                    s2 += x[xa + 32 + l];
                }
                sum += d * KScales.scale(slo, shi, 2 * c) * q1 - dmin * KScales.min(slo, shi, 2 * c) * s1
                        + d * KScales.scale(slo, shi, 2 * c + 1) * q2 - dmin * KScales.min(slo, shi, 2 * c + 1) * s2;
            }
        }
        return sum;
    }
}
