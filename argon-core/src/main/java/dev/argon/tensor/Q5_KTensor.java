package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * ggml {@code Q5_K}: super-blocks of 256 elements in 176 bytes,
 * {@code {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}}. Like {@link Q4_KTensor} with a
 * fifth bit per quant: in chunk {@code c} (64 elements), low-nibble element {@code l} (0..31) takes
 * bit {@code 2c} of {@code qh[l]} and high-nibble element {@code l} takes bit {@code 2c+1};
 * {@code q = nibble + 16*bit} and an element is {@code d*sc*q - dmin*m}. Layout from ggml
 * {@code block_q5_K} / {@code dequantize_row_q5_K}. Offsets and lengths must be multiples of 256.
 */
public final class Q5_KTensor extends Tensor implements ScalarDot {
    static final int QK = 256;
    static final int BYTES = 176;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BS = Simd.BS;
    private static final int L = Simd.L;
    private static final int BU = Simd.BU;
    private static final int PARTS = Simd.PARTS;

    Q5_KTensor(MemorySegment data, long size) {
        super(data, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public float getFloat(long index) {
        long bo = index / QK * BYTES;
        int e = (int) (index % QK);
        int c = e / 64;
        int r = e % 64;
        int l = r % 32;
        int sub = 2 * c + r / 32;
        int q = Le.u8(data, bo + 48 + 32 * c + l);
        q = r < 32 ? q & 0xF : q >> 4;
        q += ((Le.u8(data, bo + 16 + l) >> sub) & 1) << 4;
        long slo = data.get(Le.LONG, bo + 4);
        int shi = data.get(Le.INT, bo + 12);
        return Le.f16(data, bo) * KScales.scale(slo, shi, sub) * q - Le.f16(data, bo + 2) * KScales.min(slo, shi, sub);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        checkBlockAligned(offset, n);
        if (!Simd.ENABLED) {
            dequantizeScalar(offset, out, outOffset, n);
            return;
        }
        long bo = offset / QK * BYTES;
        int ob = outOffset;
        for (int b = 0; b < n / QK; b++, bo += BYTES, ob += QK) {
            float d = Le.f16(data, bo);
            float dmin = Le.f16(data, bo + 2);
            long slo = data.get(Le.LONG, bo + 4);
            int shi = data.get(Le.INT, bo + 12);
            for (int c = 0; c < 4; c++) {
                FloatVector d1 = FloatVector.broadcast(F, d * KScales.scale(slo, shi, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, dmin * KScales.min(slo, shi, 2 * c));
                FloatVector d2 = FloatVector.broadcast(F, d * KScales.scale(slo, shi, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * KScales.min(slo, shi, 2 * c + 1));
                int o = ob + 64 * c;
                for (int u = 0; u < 32; u += BU) {
                    ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 48 + 32 * c + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector qh = ByteVector.fromMemorySegment(BS, data, bo + 16 + u, ByteOrder.LITTLE_ENDIAN);
                    // bit 2c (low nibbles) and 2c + 1 (high nibbles) of qh, moved to bit 4
                    ByteVector bits = qh.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2 * c).reinterpretAsBytes();
                    ByteVector lo = qs.and((byte) 0x0F)
                            .or(bits.reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x10));
                    ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .or(bits.reinterpretAsShorts().lanewise(VectorOperators.LSHL, 3).reinterpretAsBytes().and((byte) 0x10));
                    for (int p = 0; p < PARTS; p++) {
                        ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).mul(d1).sub(m1).intoArray(out, o + u + p * L);
                        ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).mul(d2).sub(m2).intoArray(out, o + 32 + u + p * L);
                    }
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
                    int q = Le.u8(data, bo + 48 + 32 * c + l);
                    int h = Le.u8(data, bo + 16 + l);
                    out[o + l] = d1 * ((q & 0xF) + (((h >> (2 * c)) & 1) << 4)) - m1;
                    out[o + 32 + l] = d2 * ((q >> 4) + (((h >> (2 * c + 1)) & 1) << 4)) - m2;
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
                byte bitLo = (byte) (1 << (2 * c));
                byte bitHi = (byte) (2 << (2 * c));
                for (int u = 0; u < 32; u += BU) {
                    ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 48 + 32 * c + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector qh = ByteVector.fromMemorySegment(BS, data, bo + 16 + u, ByteOrder.LITTLE_ENDIAN);
                    // fifth bit: bit 2c (low nibbles) or 2c+1 (high nibbles) of qh[l] adds 16
                    ByteVector lo = qs.and((byte) 0x0F).add((byte) 16, qh.and(bitLo).compare(VectorOperators.NE, 0));
                    ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .add((byte) 16, qh.and(bitHi).compare(VectorOperators.NE, 0));
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
                    int q = Le.u8(data, bo + 48 + 32 * c + l);
                    int h = Le.u8(data, bo + 16 + l);
                    q1 += ((q & 0xF) + (((h >> (2 * c)) & 1) << 4)) * x[xa + l];
                    s1 += x[xa + l];
                    q2 += ((q >> 4) + (((h >> (2 * c + 1)) & 1) << 4)) * x[xa + 32 + l];
                    s2 += x[xa + 32 + l];
                }
                sum += d * KScales.scale(slo, shi, 2 * c) * q1 - dmin * KScales.min(slo, shi, 2 * c) * s1
                        + d * KScales.scale(slo, shi, 2 * c + 1) * q2 - dmin * KScales.min(slo, shi, 2 * c + 1) * s2;
            }
        }
        return sum;
    }

    @Override
    public boolean supportsQ8Activations() {
        return true;
    }

    /**
     * {@inheritDoc}
     *
     * <p>With ggml's {@code vec_dot_q5_K} semantics on 32-element activation blocks: sub-block
     * {@code j} (32 weights {@code q} in 0..31, 6-bit scale {@code sc} and min {@code m}) meets
     * exactly one activation block {@code b} and contributes
     * {@code dx_b * (d*sc * sum q_i*qx_i - dmin*m * sum qx_i)}, as for {@link Q4_KTensor#dotQ8}.
     * Offsets and {@code n} are multiples of 256, {@code xOffset} of 32.
     */
    @Override
    public float dotQ8(long offset, Q8Activations x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        if (!Simd.ENABLED) {
            return dotQ8Scalar(offset, x, xOffset, n);
        }
        if (INT16) {
            return dotQ8Int16(offset, x, xOffset, n);
        }
        if (WIDE) {
            return dotQ8Wide(offset, x, xOffset, n);
        }
        long bo = offset / QK * BYTES;
        float[] xq = x.qf;
        float[] xd = x.d;
        int xb = xOffset / Q8Activations.BLOCK;
        // Lane sums of q*qx (5-bit weights 0..31, activations -127..127) over one sub-block: at
        // most 32 * 31 * 127 = 125984 < 2^24 in magnitude, so the float sums are the exact integers.
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        float mins = 0f;
        for (int off = 0; off < n; off += QK, bo += BYTES, xb += 8) {
            float d = Le.f16(data, bo);
            long packedLo = data.get(Le.LONG, bo + 4);
            int packedHi = data.get(Le.INT, bo + 12);
            long scales = KScales.scales(packedLo, packedHi);
            int xi = xOffset + off;
            for (int c = 0; c < 4; c++) {
                byte bitLo = (byte) (1 << (2 * c));
                byte bitHi = (byte) (2 << (2 * c));
                FloatVector sl = FloatVector.zero(F);
                FloatVector sh = FloatVector.zero(F);
                for (int u = 0; u < 32; u += BU) {
                    ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 48 + 32 * c + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector qh = ByteVector.fromMemorySegment(BS, data, bo + 16 + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector lo = qs.and((byte) 0x0F).add((byte) 16, qh.and(bitLo).compare(VectorOperators.NE, 0));
                    ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)
                            .add((byte) 16, qh.and(bitHi).compare(VectorOperators.NE, 0));
                    int xa = xi + 64 * c + u;
                    for (int p = 0; p < PARTS; p++) {
                        sl = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xa + p * L), sl);
                        sh = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xa + 32 + p * L), sh);
                    }
                }
                even = sl.fma(FloatVector.broadcast(F, d * KScales.at(scales, 2 * c) * xd[xb + 2 * c]), even);
                odd = sh.fma(FloatVector.broadcast(F, d * KScales.at(scales, 2 * c + 1) * xd[xb + 2 * c + 1]), odd);
            }
            mins += Le.f16(data, bo + 2) * KScales.minDot(KScales.mins(packedLo, packedHi), x, xb);
        }
        FloatVector acc = even.add(odd);
        // scalar fold with Simd.sum's additions: Simd.sum is not always inlined into this
        // method, and a vector passed to a call that is not inlined is allocated on the heap
        float[] lanes = Simd.lanes();
        acc.intoArray(lanes, 0);
        return Simd.sumLanes(lanes, 0, L) - mins;
    }

    /** Whether {@link #dotQ8Wide} is used: 16 or 8 float lanes (512- or 256-bit vectors). */
    private static final boolean WIDE = Simd.ENABLED && (L == 16 || L == 8);
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Int lanes of the float vector's size: 16 quant bytes widen to {@link #P} int vectors. */
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int P = 16 / L;

    private static final boolean INT16 = Simd.INT16;
    private static final VectorSpecies<Short> SS = Simd.S16;

    /**
     * {@link #dotQ8Wide} for 16-lane vectors with the products in 16-bit integers: quant and
     * high-bit bytes widen once to 16-bit lanes, the 5-bit weights multiply the activations'
     * 16-bit copies ({@link Q8Activations#qs}), and per sub-block lane {@code l} adds its two
     * products (elements {@code l} and {@code l + 16}: at most 2 * 31 * 127 in magnitude) before
     * one conversion to float. The same integers as {@link #dotQ8Wide}'s float lanes, accumulated
     * in the same order: the same bits.
     */
    private float dotQ8Int16(long offset, Q8Activations x, int xOffset, int n) {
        MemorySegment seg = data;
        long bo = offset / QK * BYTES;
        short[] xq = x.qs;
        float[] xd = x.d;
        float[] xs = x.sum;
        float[] lanes = Simd.lanes();
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        java.util.Arrays.fill(lanes, KScales.MINS, KScales.MINS + 8, 0f);
        int xb = xOffset / Q8Activations.BLOCK;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES, xb += 8) {
            KScales.superBlockFactors(seg, bo, xd, xs, xb, lanes, 0, KScales.MINS);
            ShortVector qh0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 16, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
            ShortVector qh1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 32, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
            ShortVector v0;
            ShortVector v1;
            ShortVector h0;
            ShortVector h1;
            ShortVector sl;
            ShortVector sh;
            int xa;
            // chunks in pairs as in dotQ8Wide: after qh >>> 2cc the fifth bits of chunk cc are bits
            // 0 (low nibbles) and 1 (high), of chunk cc + 1 bits 2 and 3, each shifted to bit 4
            for (int cc = 0; cc < 4; cc += 2) {
                h0 = qh0.lanewise(VectorOperators.LSHR, 2 * cc);
                h1 = qh1.lanewise(VectorOperators.LSHR, 2 * cc);
                v0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 48 + 32 * cc, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                v1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 64 + 32 * cc, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                xa = xi + 64 * cc;
                sl = v0.and((short) 0x0F).or(h0.lanewise(VectorOperators.LSHL, 4).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa))
                        .add(v1.and((short) 0x0F).or(h1.lanewise(VectorOperators.LSHL, 4).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa + 16)));
                sh = v0.lanewise(VectorOperators.LSHR, 4).or(h0.lanewise(VectorOperators.LSHL, 3).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa + 32))
                        .add(v1.lanewise(VectorOperators.LSHR, 4).or(h1.lanewise(VectorOperators.LSHL, 3).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa + 48)));
                even = ((FloatVector) sl.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * cc]), even);
                odd = ((FloatVector) sh.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * cc + 1]), odd);
                v0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 48 + 32 * (cc + 1), ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                v1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 64 + 32 * (cc + 1), ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                xa = xi + 64 * (cc + 1);
                sl = v0.and((short) 0x0F).or(h0.lanewise(VectorOperators.LSHL, 2).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa))
                        .add(v1.and((short) 0x0F).or(h1.lanewise(VectorOperators.LSHL, 2).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa + 16)));
                sh = v0.lanewise(VectorOperators.LSHR, 4).or(h0.lanewise(VectorOperators.LSHL, 1).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa + 32))
                        .add(v1.lanewise(VectorOperators.LSHR, 4).or(h1.lanewise(VectorOperators.LSHL, 1).and((short) 0x10)).mul(ShortVector.fromArray(SS, xq, xa + 48)));
                even = ((FloatVector) sl.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * (cc + 1)]), even);
                odd = ((FloatVector) sh.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * (cc + 1) + 1]), odd);
            }
        }
        even.add(odd).intoArray(lanes, 0);
        float dots = Simd.sumLanes16(lanes, 0);
        return dots - Simd.sumLanes(lanes, KScales.MINS, 8);
    }

    /**
     * {@link #dotQ8} for 512- and 256-bit vectors, structured as {@code Q4_KTensor.dotQ8Wide}:
     * per super-block the factors {@code d * sc_j * dx_j} come from one 8-lane product, stored and
     * broadcast from memory; quant bytes are widened to 32-bit lanes (nibble by mask or shift,
     * fifth bit from {@code qh} shifted to bit 4), then converted to float; chunks go in pairs
     * (see there).
     */
    private float dotQ8Wide(long offset, Q8Activations x, int xOffset, int n) {
        MemorySegment seg = data;
        long bo = offset / QK * BYTES;
        float[] xq = x.qf;
        float[] xd = x.d;
        float[] xs = x.sum;
        float[] lanes = Simd.lanes();
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        java.util.Arrays.fill(lanes, KScales.MINS, KScales.MINS + 8, 0f);
        int xb = xOffset / Q8Activations.BLOCK;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES, xb += 8) {
            KScales.superBlockFactors(seg, bo, xd, xs, xb, lanes, 0, KScales.MINS);
            // qh[l], l = 0..15 and 16..31: bit 2c of qh[l] is the fifth bit of low-nibble element
            // l of chunk c, bit 2c + 1 that of its high-nibble element.
            ByteVector qh0 = ByteVector.fromMemorySegment(B16, seg, bo + 16, ByteOrder.LITTLE_ENDIAN);
            ByteVector qh1 = ByteVector.fromMemorySegment(B16, seg, bo + 32, ByteOrder.LITTLE_ENDIAN);
            // Chunk c, bytes qs[32c + 16t ..+16) (t = 0, 1): low nibbles are elements 64c + 16t + l
            // of sub-block 2c, high nibbles elements 64c + 32 + 16t + l of sub-block 2c + 1. Per
            // sub-block a lane sums 32 / L <= 4 products q*qx with 0 <= q <= 31, |qx| <= 127:
            // at most 4 * 31 * 127 < 2^24, so the float sums are the exact integers.
            ByteVector b0;
            ByteVector b1;
            FloatVector sl;
            FloatVector sh;
            // Chunks cc and cc + 1: after qh >>> 2cc their fifth bits are bit 0 (low nibbles of
            // chunk cc), 1 (its high nibbles), 2 and 3 (chunk cc + 1), each shifted to bit 4.
            for (int cc = 0; cc < 4; cc += 2) {
                b0 = ByteVector.fromMemorySegment(B16, seg, bo + 48 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                b1 = ByteVector.fromMemorySegment(B16, seg, bo + 64 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                sl = FloatVector.zero(F);
                sh = FloatVector.zero(F);
                for (int p = 0; p < P; p++) {
                    IntVector v0 = b0.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector v1 = b1.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector h0 = qh0.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * cc);
                    IntVector h1 = qh1.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * cc);
                    int xa = xi + 64 * cc + p * L;
                    sl = ((FloatVector) v0.and(0x0F).or(h0.lanewise(VectorOperators.LSHL, 4).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa), sl);
                    sl = ((FloatVector) v1.and(0x0F).or(h1.lanewise(VectorOperators.LSHL, 4).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa + 16), sl);
                    sh = ((FloatVector) v0.lanewise(VectorOperators.LSHR, 4).or(h0.lanewise(VectorOperators.LSHL, 3).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa + 32), sh);
                    sh = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).or(h1.lanewise(VectorOperators.LSHL, 3).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa + 48), sh);
                }
                even = sl.fma(FloatVector.broadcast(F, lanes[2 * cc]), even);
                odd = sh.fma(FloatVector.broadcast(F, lanes[2 * cc + 1]), odd);
                b0 = ByteVector.fromMemorySegment(B16, seg, bo + 80 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                b1 = ByteVector.fromMemorySegment(B16, seg, bo + 96 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                sl = FloatVector.zero(F);
                sh = FloatVector.zero(F);
                for (int p = 0; p < P; p++) {
                    IntVector v0 = b0.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector v1 = b1.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector h0 = qh0.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * cc);
                    IntVector h1 = qh1.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts().lanewise(VectorOperators.LSHR, 2 * cc);
                    int xa = xi + 64 * cc + 64 + p * L;
                    sl = ((FloatVector) v0.and(0x0F).or(h0.lanewise(VectorOperators.LSHL, 2).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa), sl);
                    sl = ((FloatVector) v1.and(0x0F).or(h1.lanewise(VectorOperators.LSHL, 2).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa + 16), sl);
                    sh = ((FloatVector) v0.lanewise(VectorOperators.LSHR, 4).or(h0.lanewise(VectorOperators.LSHL, 1).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa + 32), sh);
                    sh = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).or(h1.lanewise(VectorOperators.LSHL, 1).and(0x10)).convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.fromArray(F, xq, xa + 48), sh);
                }
                even = sl.fma(FloatVector.broadcast(F, lanes[2 * cc + 2]), even);
                odd = sh.fma(FloatVector.broadcast(F, lanes[2 * cc + 3]), odd);
            }
        }
        even.add(odd).intoArray(lanes, 0);
        float dots = L == 16 ? Simd.sumLanes16(lanes, 0) : Simd.sumLanes(lanes, 0, L);
        return dots - Simd.sumLanes(lanes, KScales.MINS, 8);
    }

    /**
     * Scalar form of {@link #dotQ8} with integer inner sums, used when the Vector API is off:
     * per sub-block {@code dx * (d*sc * isum(q*qx) - dmin*m * isum(qx))}.
     */
    float dotQ8Scalar(long offset, Q8Activations x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        float sum = 0f;
        for (int b = 0; b < n / QK; b++) {
            long bo = (offset / QK + b) * BYTES;
            float d = Le.f16(data, bo);
            float dmin = Le.f16(data, bo + 2);
            long slo = data.get(Le.LONG, bo + 4);
            int shi = data.get(Le.INT, bo + 12);
            int xi = xOffset + b * QK;
            for (int c = 0; c < 4; c++) {
                int q1 = 0;
                int q2 = 0;
                int s1 = 0;
                int s2 = 0;
                for (int l = 0; l < 32; l++) {
                    int q = Le.u8(data, bo + 48 + 32 * c + l);
                    int h = Le.u8(data, bo + 16 + l);
                    int a = x.q[xi + 64 * c + l];
                    int e = x.q[xi + 64 * c + 32 + l];
                    q1 += ((q & 0xF) + (((h >> (2 * c)) & 1) << 4)) * a;
                    s1 += a;
                    q2 += ((q >> 4) + (((h >> (2 * c + 1)) & 1) << 4)) * e;
                    s2 += e;
                }
                int xb = (xi + 64 * c) / Q8Activations.BLOCK;
                sum += x.d[xb] * (d * KScales.scale(slo, shi, 2 * c) * q1 - dmin * KScales.min(slo, shi, 2 * c) * s1)
                        + x.d[xb + 1] * (d * KScales.scale(slo, shi, 2 * c + 1) * q2 - dmin * KScales.min(slo, shi, 2 * c + 1) * s2);
            }
        }
        return sum;
    }
}
