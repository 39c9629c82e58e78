package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q6_K}: super-blocks of 256 elements in 210 bytes,
 * {@code {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}}. Two halves of 128 elements; half
 * {@code h} uses {@code ql[64h ..]}, {@code qh[32h ..]}, {@code scales[8h ..]}. For {@code l} in
 * 0..31 and group {@code g} in 0..3, element {@code 128h + 32g + l} has low 4 bits from
 * {@code ql[64h + l + 32*(g&1)]} (low nibble for {@code g < 2}, high nibble otherwise), high 2 bits
 * {@code (qh[32h + l] >> 2g) & 3}, and value {@code d * scales[8h + l/16 + 2g] * (q - 32)}. Layout
 * from ggml {@code block_q6_K} / {@code dequantize_row_q6_K}. Offsets and lengths must be
 * multiples of 256.
 */
public final class Q6_KTensor extends Tensor implements ScalarDot {
    static final int QK = 256;
    static final int BYTES = 210;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q6_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        int e = (int) (index % QK);
        int h = e / 128;
        int g = e % 128 / 32;
        int l = e % 32;
        int ql = Le.u8(data, bo + 64 * h + l + 32 * (g & 1));
        int lo = g < 2 ? ql & 0xF : ql >> 4;
        int hi = (Le.u8(data, bo + 128 + 32 * h + l) >> (2 * g)) & 3;
        int sc = Le.i8(data, bo + 192 + 8 * h + l / 16 + 2 * g);
        return Le.f16(data, bo + 208) * sc * ((lo | hi << 4) - 32);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo + 208);
            for (int h = 0; h < 2; h++) {
                long ql = bo + 64 * h;
                long qh = bo + 128 + 32 * h;
                long sc = bo + 192 + 8 * h;
                int o = outOffset + b * QK + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int a = Le.u8(data, ql + l);
                    int c = Le.u8(data, ql + l + 32);
                    int hb = Le.u8(data, qh + l);
                    out[o + l] = d * Le.i8(data, sc + is) * (((a & 0xF) | (hb & 3) << 4) - 32);
                    out[o + l + 32] = d * Le.i8(data, sc + is + 2) * (((c & 0xF) | ((hb >> 2) & 3) << 4) - 32);
                    out[o + l + 64] = d * Le.i8(data, sc + is + 4) * (((a >> 4) | ((hb >> 4) & 3) << 4) - 32);
                    out[o + l + 96] = d * Le.i8(data, sc + is + 6) * (((c >> 4) | ((hb >> 6) & 3) << 4) - 32);
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
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        FloatVector acc4 = FloatVector.zero(F);
        for (int b = 0; b < n / QK; b++, bo += BYTES, xi += QK) {
            float d = Le.f16(data, bo + 208);
            for (int h = 0; h < 2; h++) {
                // the 8 int8 scales of this half, one per 16 elements
                long sc = data.get(Le.LONG, bo + 192 + 8 * h);
                for (int u = 0; u < 32; u += BU) {
                    // l = u .. u+BU-1: ql[l], ql[l+32], qh[l] of this half
                    ByteVector a = ByteVector.fromMemorySegment(BS, data, bo + 64 * h + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector c = ByteVector.fromMemorySegment(BS, data, bo + 64 * h + 32 + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector hb = ByteVector.fromMemorySegment(BS, data, bo + 128 + 32 * h + u, ByteOrder.LITTLE_ENDIAN);
                    // byte shifts via 16-bit lanes; masking with 0x30 drops bits shifted in from the neighbour byte
                    ByteVector h1 = hb.reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x30);
                    ByteVector h2 = hb.reinterpretAsShorts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes().and((byte) 0x30);
                    ByteVector h4 = hb.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and((byte) 0x30);
                    ByteVector q1 = a.and((byte) 0x0F).or(h1).sub((byte) 32);
                    ByteVector q2 = c.and((byte) 0x0F).or(h2).sub((byte) 32);
                    ByteVector q3 = a.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(hb.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q4 = c.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(h4).sub((byte) 32);
                    int xa = xi + 128 * h + u;
                    FloatVector t1 = FloatVector.zero(F);
                    FloatVector t2 = FloatVector.zero(F);
                    FloatVector t3 = FloatVector.zero(F);
                    FloatVector t4 = FloatVector.zero(F);
                    for (int p = 0; p < PARTS; p++) {
                        int xp = xa + p * L;
                        t1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xp), t1);
                        t2 = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xp + 32), t2);
                        t3 = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xp + 64), t3);
                        t4 = ((FloatVector) q4.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xp + 96), t4);
                    }
                    // scales g, g+2, g+4, g+6 of this half, g = l / 16
                    int g = u / 16;
                    acc1 = t1.fma(FloatVector.broadcast(F, d * (byte) (sc >> (8 * g))), acc1);
                    acc2 = t2.fma(FloatVector.broadcast(F, d * (byte) (sc >> (8 * g + 16))), acc2);
                    acc3 = t3.fma(FloatVector.broadcast(F, d * (byte) (sc >> (8 * g + 32))), acc3);
                    acc4 = t4.fma(FloatVector.broadcast(F, d * (byte) (sc >> (8 * g + 48))), acc4);
                }
            }
        }
        return Simd.sum(acc1.add(acc2).add(acc3.add(acc4)));
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        float sum = 0f;
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo + 208);
            for (int h = 0; h < 2; h++) {
                long ql = bo + 64 * h;
                long qh = bo + 128 + 32 * h;
                long sc = bo + 192 + 8 * h;
                int xa = xOffset + b * QK + 128 * h;
                for (int is = 0; is < 2; is++) {
                    float s1 = 0f;
                    float s2 = 0f;
                    float s3 = 0f;
                    float s4 = 0f;
                    for (int l = 16 * is; l < 16 * is + 16; l++) {
                        int a = Le.u8(data, ql + l);
                        int c = Le.u8(data, ql + l + 32);
                        int hb = Le.u8(data, qh + l);
                        s1 += (((a & 0xF) | (hb & 3) << 4) - 32) * x[xa + l];
                        s2 += (((c & 0xF) | ((hb >> 2) & 3) << 4) - 32) * x[xa + l + 32];
                        s3 += (((a >> 4) | ((hb >> 4) & 3) << 4) - 32) * x[xa + l + 64];
                        s4 += (((c >> 4) | ((hb >> 6) & 3) << 4) - 32) * x[xa + l + 96];
                    }
                    sum += d * (Le.i8(data, sc + is) * s1 + Le.i8(data, sc + is + 2) * s2
                            + Le.i8(data, sc + is + 4) * s3 + Le.i8(data, sc + is + 6) * s4);
                }
            }
        }
        return sum;
    }
}
