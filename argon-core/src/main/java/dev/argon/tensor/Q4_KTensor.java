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
                    ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 16 + 32 * c + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector lo = qs.and((byte) 0x0F);
                    ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
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

    @Override
    public boolean supportsQ8Activations() {
        return true;
    }

    /**
     * {@inheritDoc}
     *
     * <p>With ggml's {@code vec_dot_q4_K} semantics on 32-element activation blocks: sub-block
     * {@code j} of a super-block (32 weights, 6-bit scale {@code sc} and min {@code m}, super-block
     * scales {@code d} and {@code dmin}) meets exactly one activation block {@code b} (scale
     * {@code dx_b}) and contributes {@code dx_b * (d*sc * sum q_i*qx_i - dmin*m * sum qx_i)}; the
     * integer sums are exact and {@code sum qx_i} is precomputed per block
     * ({@link Q8Activations}). Offsets and {@code n} are multiples of 256, {@code xOffset} of 32.
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
        if (GROUPED) {
            return dotQ8Chain(offset, x, xOffset, n);
        }
        if (WIDE) {
            return dotQ8Wide(offset, x, xOffset, n);
        }
        long bo = offset / QK * BYTES;
        float[] xq = x.qf;
        float[] xd = x.d;
        int xb = xOffset / Q8Activations.BLOCK;
        // Lane sums of q*qx (4-bit weights 0..15, activations -127..127) over one sub-block: at
        // most 32 * 15 * 127 = 60960 < 2^24 in magnitude, so the float sums are the exact integers.
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
                FloatVector sl = FloatVector.zero(F);
                FloatVector sh = FloatVector.zero(F);
                for (int u = 0; u < 32; u += BU) {
                    ByteVector qs = ByteVector.fromMemorySegment(BS, data, bo + 16 + 32 * c + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector lo = qs.and((byte) 0x0F);
                    ByteVector hi = qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
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

    /**
     * Whether {@link #dotQ8Wide} is used: 16 or 8 float lanes (512- or 256-bit vectors; the
     * per-super-block scale products use 256-bit vectors).
     */
    private static final boolean WIDE = Simd.ENABLED && (L == 16 || L == 8);
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Int lanes of the float vector's size: 16 quant bytes widen to {@link #P} int vectors. */
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int P = 16 / L;

    /**
     * {@link #dotQ8} for 512- and 256-bit vectors. Per super-block, the eight factors
     * {@code d * sc_j * dx_j} come from one 8-lane vector product, stored and broadcast from
     * memory per sub-block; the min terms {@code dmin * m_j * dx_j * sum(qx)} accumulate in eight
     * lanes folded once at the end ({@link KScales#superBlockFactors}). Quant bytes are widened to 32-bit lanes (nibbles by
     * mask or shift, no byte shuffles) and converted to float; even sub-blocks (low nibbles) and
     * odd ones (high nibbles) accumulate into two vectors (two FMA chains). Chunks go in pairs:
     * as a loop of four the JIT compiled them ~30% slower, and with all four written out the
     * method is near the size at which C1 gives up on it ("out of virtual registers"), which
     * leaves it interpreted for a long time.
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
            // Chunk c, bytes qs[32c + 16t ..+16) (t = 0, 1): low nibbles are elements 64c + 16t + l
            // of sub-block 2c, high nibbles elements 64c + 32 + 16t + l of sub-block 2c + 1. Per
            // sub-block a lane sums 32 / L <= 4 products q*qx with 0 <= q <= 15, |qx| <= 127:
            // at most 4 * 15 * 127 < 2^24, so the float sums are the exact integers.
            ByteVector b0;
            ByteVector b1;
            FloatVector sl;
            FloatVector sh;
            for (int cc = 0; cc < 4; cc += 2) {
                b0 = ByteVector.fromMemorySegment(B16, seg, bo + 16 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                b1 = ByteVector.fromMemorySegment(B16, seg, bo + 32 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                sl = FloatVector.zero(F);
                sh = FloatVector.zero(F);
                for (int p = 0; p < P; p++) {
                    IntVector v0 = b0.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector v1 = b1.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    int xa = xi + 64 * cc + p * L;
                    sl = ((FloatVector) v0.and(0x0F).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa), sl);
                    sl = ((FloatVector) v1.and(0x0F).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa + 16), sl);
                    sh = ((FloatVector) v0.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa + 32), sh);
                    sh = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa + 48), sh);
                }
                even = sl.fma(FloatVector.broadcast(F, lanes[2 * cc]), even);
                odd = sh.fma(FloatVector.broadcast(F, lanes[2 * cc + 1]), odd);
                b0 = ByteVector.fromMemorySegment(B16, seg, bo + 48 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                b1 = ByteVector.fromMemorySegment(B16, seg, bo + 64 + 32 * cc, ByteOrder.LITTLE_ENDIAN);
                sl = FloatVector.zero(F);
                sh = FloatVector.zero(F);
                for (int p = 0; p < P; p++) {
                    IntVector v0 = b0.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector v1 = b1.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    int xa = xi + 64 * cc + 64 + p * L;
                    sl = ((FloatVector) v0.and(0x0F).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa), sl);
                    sl = ((FloatVector) v1.and(0x0F).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa + 16), sl);
                    sh = ((FloatVector) v0.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa + 32), sh);
                    sh = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xq, xa + 48), sh);
                }
                even = sl.fma(FloatVector.broadcast(F, lanes[2 * cc + 2]), even);
                odd = sh.fma(FloatVector.broadcast(F, lanes[2 * cc + 3]), odd);
            }
        }
        even.add(odd).intoArray(lanes, 0);
        float dots = L == 16 ? Simd.sumLanes16(lanes, 0) : Simd.sumLanes(lanes, 0, L);
        return dots - Simd.sumLanes(lanes, KScales.MINS, 8);
    }

    private static final boolean INT16 = Simd.INT16;
    private static final VectorSpecies<Short> SS = Simd.S16;

    /**
     * {@link #dotQ8Wide} for 16-lane vectors with the products in 16-bit integers: each 16 quant
     * bytes widen once to 16-bit lanes holding both nibbles, which multiply the activations'
     * 16-bit copies ({@link Q8Activations#qs}); per sub-block, lane {@code l} adds its two
     * products (elements {@code l} and {@code l + 16}: at most 2 * 15 * 127 in magnitude, no
     * overflow) before one conversion to float. These are exactly the integers that
     * {@link #dotQ8Wide}'s float lanes hold, accumulated in the same order, so the results are
     * the same bits, with about a quarter fewer vector operations.
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
            // chunk c: bytes qs[32c .. 32c+32); low nibbles are sub-block 2c, high ones 2c + 1.
            // Chunks in pairs, as in dotQ8Wide (a loop of four compiled ~25% slower).
            ShortVector v0;
            ShortVector v1;
            ShortVector sl;
            ShortVector sh;
            int xa;
            for (int cc = 0; cc < 4; cc += 2) {
                v0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 16 + 32 * cc, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                v1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 32 + 32 * cc, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                xa = xi + 64 * cc;
                sl = v0.and((short) 0x0F).mul(ShortVector.fromArray(SS, xq, xa))
                        .add(v1.and((short) 0x0F).mul(ShortVector.fromArray(SS, xq, xa + 16)));
                sh = v0.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SS, xq, xa + 32))
                        .add(v1.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SS, xq, xa + 48)));
                even = ((FloatVector) sl.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * cc]), even);
                odd = ((FloatVector) sh.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * cc + 1]), odd);
                v0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 16 + 32 * (cc + 1), ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                v1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 32 + 32 * (cc + 1), ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                xa = xi + 64 * (cc + 1);
                sl = v0.and((short) 0x0F).mul(ShortVector.fromArray(SS, xq, xa))
                        .add(v1.and((short) 0x0F).mul(ShortVector.fromArray(SS, xq, xa + 16)));
                sh = v0.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SS, xq, xa + 32))
                        .add(v1.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SS, xq, xa + 48)));
                even = ((FloatVector) sl.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * (cc + 1)]), even);
                odd = ((FloatVector) sh.convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, lanes[2 * (cc + 1) + 1]), odd);
            }
        }
        even.add(odd).intoArray(lanes, 0);
        float dots = Simd.sumLanes16(lanes, 0);
        return dots - Simd.sumLanes(lanes, KScales.MINS, 8);
    }

    @Override
    protected boolean hasDotQ8x4() {
        return INT16;
    }

    /**
     * {@link #dotQ8} for four tokens (batched decode), 16-lane vectors: each weight chunk is
     * widened, split into nibbles and converted to float once for all four tokens (as in
     * {@link #dotQ8Wide}; per token that leaves two FMAs per 16 lanes and sub-block, cheaper
     * than {@link #dotQ8Int16}'s 16-bit products and conversion, which are paid per token). Per
     * token the values are those of {@link #dotQ8Wide} and {@link #dotQ8Int16}: the factors and
     * min accumulators of {@link KScales#superBlockFactors}, each lane's exact integer sum of its
     * two elements (the first product added to +0, as there), accumulated even/odd in sub-block
     * order and folded the same way: bit-identical results. The first 16-bit version of this
     * kernel ran at 0.9x the single-token kernel's tokens/s.
     */
    @Override
    protected void dotQ8x4(long offset, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os,
                           MemorySegment lanes) {
        MemorySegment seg = data;
        long bo = offset / QK * BYTES;
        short[] q = x.qs;
        float[] xd = x.d;
        float[] xsum = x.sum;
        float[] f = Simd.lanes();
        int bs = xs / Q8Activations.BLOCK;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        java.util.Arrays.fill(f, 32, 64, 0f);
        int xb = x0 / Q8Activations.BLOCK;
        for (int xi = x0; xi < x0 + n; xi += QK, bo += BYTES, xb += 8) {
            // token t's factors in f[8t ..], its min accumulators in f[32 + 8t ..]; out of line,
            // so that this method stays small enough for the JIT to inline all its vector code
            KScales.superBlockFactors4(seg, bo, xd, xsum, xb, bs, f, 0);
            for (int c = 0; c < 4; c++) {
                // chunk c: bytes qs[32c .. 32c+32); low nibbles are sub-block 2c, high ones 2c + 1
                ShortVector v0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 16 + 32 * c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                ShortVector v1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 32 + 32 * c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                ShortVector l0 = v0.and((short) 0x0F);
                ShortVector l1 = v1.and((short) 0x0F);
                ShortVector h0 = v0.lanewise(VectorOperators.LSHR, 4);
                ShortVector h1 = v1.lanewise(VectorOperators.LSHR, 4);
                int xa = xi + 64 * c;
                e0 = ((FloatVector) l0.mul(ShortVector.fromArray(SS, q, xa)).add(l1.mul(ShortVector.fromArray(SS, q, xa + 16)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[0 + 2 * c]), e0);
                o0 = ((FloatVector) h0.mul(ShortVector.fromArray(SS, q, xa + 32)).add(h1.mul(ShortVector.fromArray(SS, q, xa + 48)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[0 + 2 * c + 1]), o0);
                xa += xs;
                e1 = ((FloatVector) l0.mul(ShortVector.fromArray(SS, q, xa)).add(l1.mul(ShortVector.fromArray(SS, q, xa + 16)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[8 + 2 * c]), e1);
                o1 = ((FloatVector) h0.mul(ShortVector.fromArray(SS, q, xa + 32)).add(h1.mul(ShortVector.fromArray(SS, q, xa + 48)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[8 + 2 * c + 1]), o1);
                xa += xs;
                e2 = ((FloatVector) l0.mul(ShortVector.fromArray(SS, q, xa)).add(l1.mul(ShortVector.fromArray(SS, q, xa + 16)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[16 + 2 * c]), e2);
                o2 = ((FloatVector) h0.mul(ShortVector.fromArray(SS, q, xa + 32)).add(h1.mul(ShortVector.fromArray(SS, q, xa + 48)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[16 + 2 * c + 1]), o2);
                xa += xs;
                e3 = ((FloatVector) l0.mul(ShortVector.fromArray(SS, q, xa)).add(l1.mul(ShortVector.fromArray(SS, q, xa + 16)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[24 + 2 * c]), e3);
                o3 = ((FloatVector) h0.mul(ShortVector.fromArray(SS, q, xa + 32)).add(h1.mul(ShortVector.fromArray(SS, q, xa + 48)))
                        .convertShape(VectorOperators.S2F, F, 0)).fma(FloatVector.broadcast(F, f[24 + 2 * c + 1]), o3);
            }
        }
        ByteOrder no = ByteOrder.nativeOrder();
        e0.add(o0).intoMemorySegment(lanes, 0, no);
        e1.add(o1).intoMemorySegment(lanes, 64, no);
        e2.add(o2).intoMemorySegment(lanes, 128, no);
        e3.add(o3).intoMemorySegment(lanes, 192, no);
        Simd.sumLanes16x4(lanes, 0, out, oo, os);
        out[oo] -= Simd.sumLanes(f, 32, 8);
        out[oo + os] -= Simd.sumLanes(f, 40, 8);
        out[oo + 2 * os] -= Simd.sumLanes(f, 48, 8);
        out[oo + 3 * os] -= Simd.sumLanes(f, 56, 8);
    }

    // ---- Row groups: the decode kernel of 4- and 8-lane machines (128-bit NEON/SSE, AVX2) ----

    /** Whether decode runs on row groups ({@link RowGroups}, built once per tensor on first use). */
    static final boolean GROUPED = RowGroups.ENABLED;
    private static final int G = RowGroups.G;
    private static final VectorSpecies<Short> SNS = Simd.SNS;
    private static final VectorSpecies<Byte> SNB = Simd.SNB;
    private static final int SN = Simd.SN;
    private static final VectorSpecies<Integer> SNI = VectorSpecies.of(int.class, Simd.SNS.vectorShape());

    private final GroupedRows<RowGroups> grouped = new GroupedRows<>(QK, this::buildGroups, this::groupDot, this::groupDot2,
            this::groupDot4);

    @Override
    public int q8RowGroup(int cols, ThreadPool pool) {
        return grouped.group(cols, pool);
    }

    /**
     * Builds the row groups: per row and 32-element sub-block {@code j} of super-block with
     * scales {@code d}, {@code dmin}, the nibbles, {@code scale = d * sc_j} and
     * {@code min = dmin * m_j} (floats).
     */
    private RowGroups buildGroups(int cols, ThreadPool pool) {
        int supers = cols / QK;
        RowGroups made = RowGroups.allocate(cols, (int) (size() / cols / G), true);
        if (made == null) {
            return RowGroups.NONE; // too large for Java arrays: the one-row kernels
        }
        pool.parallelFor(made.groups(), (long) made.groups() * G * cols, (start, end) -> {
            int[] nib = new int[32];
            for (int grp = start; grp < end; grp++) {
                for (int r = 0; r < G; r++) {
                    long row = (long) grp * G + r;
                    for (int sbk = 0; sbk < supers; sbk++) {
                        long bo = (row * supers + sbk) * BYTES;
                        float d = Le.f16(data, bo);
                        float dmin = Le.f16(data, bo + 2);
                        long slo = data.get(Le.LONG, bo + 4);
                        int shi = data.get(Le.INT, bo + 12);
                        for (int j = 0; j < 8; j++) {
                            int c = j / 2;
                            for (int e = 0; e < 32; e++) {
                                int q = Le.u8(data, bo + 16 + 32 * c + e);
                                nib[e] = (j & 1) == 0 ? q & 0xF : q >> 4;
                            }
                            int b = sbk * 8 + j;
                            made.put(grp, b, r, nib);
                            made.scales()[made.factor(grp, b, r)] = d * KScales.scale(slo, shi, j);
                            made.mins()[made.factor(grp, b, r)] = dmin * KScales.min(slo, shi, j);
                        }
                    }
                }
            }
        });
        return made;
    }

    @Override
    protected int dotQ8RowGroups(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                 float[] out, int outOffset, int outStride) {
        return grouped.dot(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
    }

    /**
     * One group's {@link #G} dot products with the activations at {@code xo}, into
     * {@code out[oo .. oo + G)}. Per 32-element sub-block: exact integer sums {@code s} of
     * {@code q * qx} in 16-bit lanes (at most 16 * 15 * 127 = 30480), lane pairs added into one
     * 32-bit lane per row, then {@code t = fma(scale, s, min * -sum(qx))} and
     * {@code acc = fma(t, dx, acc)}: the bits of {@link #dotQ8Chain}.
     */
    private void groupDot(RowGroups gs, int g, Q8Activations x, int xo, float[] out, int oo) {
        int nb = gs.n() / 32;
        byte[] nib = gs.nibbles();
        float[] sc = gs.scales();
        float[] mn = gs.mins();
        int[] xp = x.pairs;
        float[] xd = x.d;
        float[] xsum = x.sum;
        int base = g * nb * 16 * G;
        int sb = g * nb * G;
        int pb = xo / 2;
        int xb = xo / 32;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, base += 16 * G, sb += G, pb += 16, xb++) {
            ShortVector a = ShortVector.zero(SNS);
            for (int k = 0; k < 8; k++) {
                ShortVector q = (ShortVector) ByteVector.fromArray(SNB, nib, base + 2 * G * k)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
                a = a.add(q.and((short) 0x0F).mul(IntVector.broadcast(SNI, xp[pb + 2 * k]).reinterpretAsShorts()))
                        .add(q.lanewise(VectorOperators.LSHR, 4).mul(IntVector.broadcast(SNI, xp[pb + 2 * k + 1]).reinterpretAsShorts()));
            }
            IntVector v = a.reinterpretAsInts();
            IntVector s = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v.lanewise(VectorOperators.ASHR, 16));
            FloatVector t = FloatVector.fromArray(F, sc, sb).fma((FloatVector) s.convert(VectorOperators.I2F, 0),
                    FloatVector.fromArray(F, mn, sb).mul(-xsum[xb]));
            acc = t.fma(FloatVector.broadcast(F, xd[xb]), acc);
        }
        acc.intoArray(out, oo);
    }

    /** {@link #groupDot} for two tokens sharing each unpacked chunk; per token the same bits. */
    private void groupDot2(RowGroups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int nb = gs.n() / 32;
        byte[] nib = gs.nibbles();
        float[] sc = gs.scales();
        float[] mn = gs.mins();
        int[] xp = x.pairs;
        float[] xd = x.d;
        float[] xsum = x.sum;
        int base = g * nb * 16 * G;
        int sb = g * nb * G;
        int pb = xo / 2;
        int pc = (xo + xs) / 2;
        int xb = xo / 32;
        int xc = (xo + xs) / 32;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, base += 16 * G, sb += G, pb += 16, pc += 16, xb++, xc++) {
            ShortVector a0 = ShortVector.zero(SNS);
            ShortVector a1 = ShortVector.zero(SNS);
            for (int k = 0; k < 8; k++) {
                ShortVector q = (ShortVector) ByteVector.fromArray(SNB, nib, base + 2 * G * k)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
                ShortVector lo = q.and((short) 0x0F);
                ShortVector hi = q.lanewise(VectorOperators.LSHR, 4);
                a0 = a0.add(lo.mul(IntVector.broadcast(SNI, xp[pb + 2 * k]).reinterpretAsShorts()))
                        .add(hi.mul(IntVector.broadcast(SNI, xp[pb + 2 * k + 1]).reinterpretAsShorts()));
                a1 = a1.add(lo.mul(IntVector.broadcast(SNI, xp[pc + 2 * k]).reinterpretAsShorts()))
                        .add(hi.mul(IntVector.broadcast(SNI, xp[pc + 2 * k + 1]).reinterpretAsShorts()));
            }
            FloatVector scale = FloatVector.fromArray(F, sc, sb);
            FloatVector min = FloatVector.fromArray(F, mn, sb);
            IntVector v = a0.reinterpretAsInts();
            IntVector s = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v.lanewise(VectorOperators.ASHR, 16));
            acc0 = scale.fma((FloatVector) s.convert(VectorOperators.I2F, 0), min.mul(-xsum[xb])).fma(FloatVector.broadcast(F, xd[xb]), acc0);
            v = a1.reinterpretAsInts();
            s = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v.lanewise(VectorOperators.ASHR, 16));
            acc1 = scale.fma((FloatVector) s.convert(VectorOperators.I2F, 0), min.mul(-xsum[xc])).fma(FloatVector.broadcast(F, xd[xc]), acc1);
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
    }

    /**
     * {@link #groupDot} for four tokens (activations at {@code xo + k * xs}, results at
     * {@code out[oo + k * os ..]}, k = 0..3), each chunk unpacked once for all four; per token the
     * operations of {@link #groupDot}, so the same bits. No helper calls (C2's inlining budget:
     * see {@link Q4_0Tensor}'s four-token kernel).
     */
    private void groupDot4(RowGroups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int nb = gs.n() / 32;
        byte[] nib = gs.nibbles();
        float[] sc = gs.scales();
        float[] mn = gs.mins();
        int[] xp = x.pairs;
        float[] xd = x.d;
        float[] xsum = x.sum;
        int base = g * nb * 16 * G;
        int sb = g * nb * G;
        int p0 = xo / 2, p1 = (xo + xs) / 2, p2 = (xo + 2 * xs) / 2, p3 = (xo + 3 * xs) / 2;
        int x0 = xo / 32, x1 = (xo + xs) / 32, x2 = (xo + 2 * xs) / 32, x3 = (xo + 3 * xs) / 32;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < nb; b++, base += 16 * G, sb += G, p0 += 16, p1 += 16, p2 += 16, p3 += 16, x0++, x1++, x2++, x3++) {
            ShortVector a0 = ShortVector.zero(SNS), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < 8; k++) {
                ShortVector q = (ShortVector) ByteVector.fromArray(SNB, nib, base + 2 * G * k)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
                ShortVector lo = q.and((short) 0x0F);
                ShortVector hi = q.lanewise(VectorOperators.LSHR, 4);
                a0 = a0.add(lo.mul(IntVector.broadcast(SNI, xp[p0 + 2 * k]).reinterpretAsShorts()))
                        .add(hi.mul(IntVector.broadcast(SNI, xp[p0 + 2 * k + 1]).reinterpretAsShorts()));
                a1 = a1.add(lo.mul(IntVector.broadcast(SNI, xp[p1 + 2 * k]).reinterpretAsShorts()))
                        .add(hi.mul(IntVector.broadcast(SNI, xp[p1 + 2 * k + 1]).reinterpretAsShorts()));
                a2 = a2.add(lo.mul(IntVector.broadcast(SNI, xp[p2 + 2 * k]).reinterpretAsShorts()))
                        .add(hi.mul(IntVector.broadcast(SNI, xp[p2 + 2 * k + 1]).reinterpretAsShorts()));
                a3 = a3.add(lo.mul(IntVector.broadcast(SNI, xp[p3 + 2 * k]).reinterpretAsShorts()))
                        .add(hi.mul(IntVector.broadcast(SNI, xp[p3 + 2 * k + 1]).reinterpretAsShorts()));
            }
            FloatVector scale = FloatVector.fromArray(F, sc, sb);
            FloatVector min = FloatVector.fromArray(F, mn, sb);
            IntVector v0 = a0.reinterpretAsInts();
            acc0 = scale.fma((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(v0.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0), min.mul(-xsum[x0]))
                    .fma(FloatVector.broadcast(F, xd[x0]), acc0);
            IntVector v1 = a1.reinterpretAsInts();
            acc1 = scale.fma((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(v1.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0), min.mul(-xsum[x1]))
                    .fma(FloatVector.broadcast(F, xd[x1]), acc1);
            IntVector v2 = a2.reinterpretAsInts();
            acc2 = scale.fma((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(v2.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0), min.mul(-xsum[x2]))
                    .fma(FloatVector.broadcast(F, xd[x2]), acc2);
            IntVector v3 = a3.reinterpretAsInts();
            acc3 = scale.fma((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(v3.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0), min.mul(-xsum[x3]))
                    .fma(FloatVector.broadcast(F, xd[x3]), acc3);
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
        acc2.intoArray(out, oo + 2 * os);
        acc3.intoArray(out, oo + 3 * os);
    }

    /**
     * {@link #dotQ8} where row groups are used: per 32-element sub-block, the exact integer sum
     * {@code s} (16-bit lanes, then summed across lanes in 32 bits),
     * {@code t = fma(d*sc, s, dmin*m * -sum(qx))}, {@code acc = fma(t, dx, acc)} in order from 0:
     * one lane of {@link #groupDot}, the same bits. Rows outside whole groups use it.
     */
    float dotQ8Chain(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        short[] xs = x.qs;
        float acc = 0f;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES) {
            float d = Le.f16(data, bo);
            float dmin = Le.f16(data, bo + 2);
            long slo = data.get(Le.LONG, bo + 4);
            int shi = data.get(Le.INT, bo + 12);
            for (int c = 0; c < 4; c++) {
                ShortVector lo = ShortVector.zero(SNS);
                ShortVector hi = ShortVector.zero(SNS);
                for (int u = 0; u < 32; u += SN) {
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(SNB, data, bo + 16 + 32 * c + u, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2S, SNS, 0);
                    lo = lo.add(q.and((short) 0x0F).mul(ShortVector.fromArray(SNS, xs, xi + 64 * c + u)));
                    hi = hi.add(q.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SNS, xs, xi + 64 * c + 32 + u)));
                }
                int s0 = ((IntVector) lo.convertShape(VectorOperators.S2I, SNI, 0)).add((IntVector) lo.convertShape(VectorOperators.S2I, SNI, 1))
                        .reduceLanes(VectorOperators.ADD);
                int s1 = ((IntVector) hi.convertShape(VectorOperators.S2I, SNI, 0)).add((IntVector) hi.convertShape(VectorOperators.S2I, SNI, 1))
                        .reduceLanes(VectorOperators.ADD);
                int xb = (xi + 64 * c) / 32;
                acc = Math.fma(Math.fma(d * KScales.scale(slo, shi, 2 * c), (float) s0, dmin * KScales.min(slo, shi, 2 * c) * -x.sum[xb]),
                        x.d[xb], acc);
                acc = Math.fma(Math.fma(d * KScales.scale(slo, shi, 2 * c + 1), (float) s1, dmin * KScales.min(slo, shi, 2 * c + 1) * -x.sum[xb + 1]),
                        x.d[xb + 1], acc);
            }
        }
        return acc;
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
                    int q = Le.u8(data, bo + 16 + 32 * c + l);
                    int a = x.q[xi + 64 * c + l];
                    int e = x.q[xi + 64 * c + 32 + l];
                    q1 += (q & 0xF) * a;
                    s1 += a;
                    q2 += (q >> 4) * e;
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
