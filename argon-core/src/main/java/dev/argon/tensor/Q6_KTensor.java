package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
        if (!Simd.ENABLED) {
            dequantizeScalar(offset, out, outOffset, n);
            return;
        }
        long bo = offset / QK * BYTES;
        int ob = outOffset;
        for (int b = 0; b < n / QK; b++, bo += BYTES, ob += QK) {
            float d = Le.f16(data, bo + 208);
            for (int h = 0; h < 2; h++) {
                long ql = bo + 64 * h;
                long qh = bo + 128 + 32 * h;
                long sc = bo + 192 + 8 * h;
                int o = ob + 128 * h;
                for (int u = 0; u < 32; u += BU) {
                    // one scale per 16 elements; a unit of BU <= 16 bytes never straddles two
                    int is = u / 16;
                    ByteVector a = ByteVector.fromMemorySegment(BS, data, ql + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector c = ByteVector.fromMemorySegment(BS, data, ql + u + 32, ByteOrder.LITTLE_ENDIAN);
                    ByteVector hb = ByteVector.fromMemorySegment(BS, data, qh + u, ByteOrder.LITTLE_ENDIAN);
                    // the two high bits of each element moved to bits 4..5 (shifts on 16-bit lanes, then masked)
                    ByteVector h0 = hb.reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x30);
                    ByteVector h1 = hb.reinterpretAsShorts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes().and((byte) 0x30);
                    ByteVector h2 = hb.and((byte) 0x30);
                    ByteVector h3 = hb.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and((byte) 0x30);
                    ByteVector q0 = a.and((byte) 0x0F).or(h0).sub((byte) 32);
                    ByteVector q1 = c.and((byte) 0x0F).or(h1).sub((byte) 32);
                    ByteVector q2 = a.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(h2).sub((byte) 32);
                    ByteVector q3 = c.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(h3).sub((byte) 32);
                    FloatVector s0 = FloatVector.broadcast(F, d * Le.i8(data, sc + is));
                    FloatVector s1 = FloatVector.broadcast(F, d * Le.i8(data, sc + is + 2));
                    FloatVector s2 = FloatVector.broadcast(F, d * Le.i8(data, sc + is + 4));
                    FloatVector s3 = FloatVector.broadcast(F, d * Le.i8(data, sc + is + 6));
                    for (int p = 0; p < PARTS; p++) {
                        int at = o + u + p * L;
                        ((FloatVector) q0.convertShape(VectorOperators.B2F, F, p)).mul(s0).intoArray(out, at);
                        ((FloatVector) q1.convertShape(VectorOperators.B2F, F, p)).mul(s1).intoArray(out, at + 32);
                        ((FloatVector) q2.convertShape(VectorOperators.B2F, F, p)).mul(s2).intoArray(out, at + 64);
                        ((FloatVector) q3.convertShape(VectorOperators.B2F, F, p)).mul(s3).intoArray(out, at + 96);
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

    @Override
    public boolean supportsQ8Activations() {
        return true;
    }

    /**
     * {@inheritDoc}
     *
     * <p>With ggml's {@code vec_dot_q6_K} semantics on 32-element activation blocks: each
     * 16-element sub-block {@code k} (weights {@code d * sc_k * (q - 32)}, {@code q} in 0..63,
     * {@code sc_k} an int8) lies in one activation block {@code b} (scale {@code dx_b}) and
     * contributes {@code dx_b * d * sc_k * sum (q_i - 32) * qx_i}, the integer sum exact. Offsets
     * and {@code n} are multiples of 256, {@code xOffset} of 32.
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
        // Per lane a unit's sum t adds PARTS <= 2 products (q - 32) * qx with |q - 32| <= 32 and
        // |qx| <= 127: at most 8128 < 2^24, so the float sums are the exact integers.
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        FloatVector acc4 = FloatVector.zero(F);
        for (int off = 0; off < n; off += QK, bo += BYTES, xb += 8) {
            float d = Le.f16(data, bo + 208);
            int xi = xOffset + off;
            for (int h = 0; h < 2; h++) {
                long sc = data.get(Le.LONG, bo + 192 + 8 * h);
                // activation blocks of groups g = 0..3 of this half
                float d1 = d * xd[xb + 4 * h];
                float d2 = d * xd[xb + 4 * h + 1];
                float d3 = d * xd[xb + 4 * h + 2];
                float d4 = d * xd[xb + 4 * h + 3];
                for (int u = 0; u < 32; u += BU) {
                    ByteVector a = ByteVector.fromMemorySegment(BS, data, bo + 64 * h + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector c = ByteVector.fromMemorySegment(BS, data, bo + 64 * h + 32 + u, ByteOrder.LITTLE_ENDIAN);
                    ByteVector hb = ByteVector.fromMemorySegment(BS, data, bo + 128 + 32 * h + u, ByteOrder.LITTLE_ENDIAN);
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
                        t1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xp), t1);
                        t2 = ((FloatVector) q2.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xp + 32), t2);
                        t3 = ((FloatVector) q3.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xp + 64), t3);
                        t4 = ((FloatVector) q4.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, xq, xp + 96), t4);
                    }
                    // scales g, g+2, g+4, g+6 of this half, g = u / 16
                    int g = u / 16;
                    acc1 = t1.fma(FloatVector.broadcast(F, (byte) (sc >> (8 * g)) * d1), acc1);
                    acc2 = t2.fma(FloatVector.broadcast(F, (byte) (sc >> (8 * g + 16)) * d2), acc2);
                    acc3 = t3.fma(FloatVector.broadcast(F, (byte) (sc >> (8 * g + 32)) * d3), acc3);
                    acc4 = t4.fma(FloatVector.broadcast(F, (byte) (sc >> (8 * g + 48)) * d4), acc4);
                }
            }
        }
        FloatVector acc = acc1.add(acc2).add(acc3.add(acc4));
        // scalar fold with Simd.sum's additions: Simd.sum is not always inlined into this
        // method, and a vector passed to a call that is not inlined is allocated on the heap
        float[] lanes = Simd.lanes();
        acc.intoArray(lanes, 0);
        return Simd.sumLanes(lanes, 0, L);
    }

    /** Whether {@link #dotQ8Wide} is used: 16 or 8 float lanes (512- or 256-bit vectors). */
    private static final boolean WIDE = Simd.ENABLED && (L == 16 || L == 8);
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Int lanes of the float vector's size: 16 quant bytes widen to {@link #P} int vectors. */
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int P = 16 / L;
    /** Lanes k = 0..7 take lane k / 2: the activation scale of scale sub-blocks 0..7. */
    private static final VectorShuffle<Float> PAIRS_LOW = VectorShuffle.fromValues(F8, 0, 0, 1, 1, 2, 2, 3, 3);
    /** Lanes k = 0..7 take lane 4 + k / 2: the activation scale of scale sub-blocks 8..15. */
    private static final VectorShuffle<Float> PAIRS_HIGH = VectorShuffle.fromValues(F8, 4, 4, 5, 5, 6, 6, 7, 7);

    /**
     * The sixteen factors {@code d * sc_k * dx} of the super-block at byte {@code bo} for the
     * 8-bit kernels: {@code lanes[k]} for the 16-element group {@code k} (int8 scale {@code sc_k}),
     * whose activation block {@code xb + k / 2} has scale {@code dx}.
     */
    private static void groupFactors(MemorySegment seg, long bo, float[] xd, int xb, float[] lanes) {
        FloatVector dx = FloatVector.fromArray(F8, xd, xb).mul(Le.f16(seg, bo + 208));
        ByteVector sc = ByteVector.fromMemorySegment(B16, seg, bo + 192, ByteOrder.LITTLE_ENDIAN);
        ((FloatVector) sc.convertShape(VectorOperators.B2F, F8, 0)).mul(dx.rearrange(PAIRS_LOW)).intoArray(lanes, 0);
        ((FloatVector) sc.convertShape(VectorOperators.B2F, F8, 1)).mul(dx.rearrange(PAIRS_HIGH)).intoArray(lanes, 8);
    }

    private static final boolean INT16 = Simd.INT16;
    private static final VectorSpecies<Short> SS = Simd.S16;

    /**
     * {@link #dotQ8Wide} for 16-lane vectors with the 6-bit assembly and the products in 16-bit
     * integers: the quant bytes widen once to 16-bit lanes (not to 32-bit ones), and each
     * product {@code (q - 32) * qx} (at most 32 * 127 in magnitude) is converted to float once.
     * {@link #dotQ8Wide} computes the same exact products as floats and then the same FMAs with
     * the same scales, so the results are the same bits.
     */
    private float dotQ8Int16(long offset, Q8Activations x, int xOffset, int n) {
        MemorySegment seg = data;
        long bo = offset / QK * BYTES;
        short[] xq = x.qs;
        float[] xd = x.d;
        float[] lanes = Simd.lanes();
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        int xb = xOffset / Q8Activations.BLOCK;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES, xb += 8) {
            groupFactors(seg, bo, xd, xb, lanes);
            // the (h, t) of dotQ8Wide, one loop of four for the same reasons
            for (int k = 0; k < 4; k++) {
                int h = k >> 1;
                int t = k & 1;
                long ql = bo + 64 * h + 16 * t;
                ShortVector va = (ShortVector) ByteVector.fromMemorySegment(B16, seg, ql, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                ShortVector vc = (ShortVector) ByteVector.fromMemorySegment(B16, seg, ql + 32, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                ShortVector vh = (ShortVector) ByteVector.fromMemorySegment(B16, seg, bo + 128 + 32 * h + 16 * t, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
                int s = 8 * h + t;
                int xa = xi + 128 * h + 16 * t;
                ShortVector q0 = va.and((short) 0x0F).or(vh.lanewise(VectorOperators.LSHL, 4).and((short) 0x30)).sub((short) 32);
                ShortVector q1 = vc.and((short) 0x0F).or(vh.lanewise(VectorOperators.LSHL, 2).and((short) 0x30)).sub((short) 32);
                ShortVector q2 = va.lanewise(VectorOperators.LSHR, 4).or(vh.and((short) 0x30)).sub((short) 32);
                ShortVector q3 = vc.lanewise(VectorOperators.LSHR, 4).or(vh.lanewise(VectorOperators.LSHR, 2).and((short) 0x30)).sub((short) 32);
                acc0 = ((FloatVector) q0.mul(ShortVector.fromArray(SS, xq, xa)).convertShape(VectorOperators.S2F, F, 0))
                        .fma(FloatVector.broadcast(F, lanes[s]), acc0);
                acc1 = ((FloatVector) q1.mul(ShortVector.fromArray(SS, xq, xa + 32)).convertShape(VectorOperators.S2F, F, 0))
                        .fma(FloatVector.broadcast(F, lanes[s + 2]), acc1);
                acc2 = ((FloatVector) q2.mul(ShortVector.fromArray(SS, xq, xa + 64)).convertShape(VectorOperators.S2F, F, 0))
                        .fma(FloatVector.broadcast(F, lanes[s + 4]), acc2);
                acc3 = ((FloatVector) q3.mul(ShortVector.fromArray(SS, xq, xa + 96)).convertShape(VectorOperators.S2F, F, 0))
                        .fma(FloatVector.broadcast(F, lanes[s + 6]), acc3);
            }
        }
        acc0.add(acc1).add(acc2.add(acc3)).intoArray(lanes, 0);
        return Simd.sumLanes16(lanes, 0);
    }

    /**
     * {@link #dotQ8} for 512- and 256-bit vectors. Per super-block the sixteen factors
     * {@code d * sc_k * dx_(k/2)} (scale sub-block {@code k = 8h + 2g + t} of half {@code h},
     * group {@code g}, {@code l / 16 = t}, lies in activation block {@code 4h + g}) come from two
     * 8-lane products, stored and broadcast from memory. Quant bytes are widened to 32-bit lanes:
     * low 4 bits from {@code ql} by mask or shift, high 2 bits from {@code qh} shifted to bits 4..5;
     * groups g = 0..3 accumulate into four vectors (four FMA chains). Per lane the sums are exact
     * integers ({@code |q - 32| * |qx| <= 32 * 127}, one product per lane and sub-block).
     */
    private float dotQ8Wide(long offset, Q8Activations x, int xOffset, int n) {
        MemorySegment seg = data;
        long bo = offset / QK * BYTES;
        float[] xq = x.qf;
        float[] xd = x.d;
        float[] lanes = Simd.lanes();
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        int xb = xOffset / Q8Activations.BLOCK;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES, xb += 8) {
            groupFactors(seg, bo, xd, xb, lanes);
            // Half h, t = 0, 1: ql[64h + 16t ..+16) and ql[64h + 32 + 16t ..+16) hold groups 0, 2
            // and 1, 3 (low, high nibble), qh[32h + 16t ..+16) their high bits. One loop over the
            // four (h, t): written out (all four, or two per iteration) the method is faster when
            // it compiles well, but C1 gave up on it ("out of virtual registers") or C2 left one
            // of its vector operations as an allocating call in about one compilation in four.
            for (int k = 0; k < 4; k++) {
                int h = k >> 1;
                int t = k & 1;
                long ql = bo + 64 * h + 16 * t;
                ByteVector a = ByteVector.fromMemorySegment(B16, seg, ql, ByteOrder.LITTLE_ENDIAN);
                ByteVector c = ByteVector.fromMemorySegment(B16, seg, ql + 32, ByteOrder.LITTLE_ENDIAN);
                ByteVector hb = ByteVector.fromMemorySegment(B16, seg, bo + 128 + 32 * h + 16 * t, ByteOrder.LITTLE_ENDIAN);
                int s = 8 * h + t;
                for (int p = 0; p < P; p++) {
                    IntVector va = a.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector vc = c.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    IntVector vh = hb.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p).reinterpretAsInts();
                    int xa = xi + 128 * h + 16 * t + p * L;
                    acc0 = ((FloatVector) va.and(0x0F).or(vh.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(FloatVector.fromArray(F, xq, xa)).fma(FloatVector.broadcast(F, lanes[s]), acc0);
                    acc1 = ((FloatVector) vc.and(0x0F).or(vh.lanewise(VectorOperators.LSHL, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(FloatVector.fromArray(F, xq, xa + 32)).fma(FloatVector.broadcast(F, lanes[s + 2]), acc1);
                    acc2 = ((FloatVector) va.lanewise(VectorOperators.LSHR, 4).or(vh.and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(FloatVector.fromArray(F, xq, xa + 64)).fma(FloatVector.broadcast(F, lanes[s + 4]), acc2);
                    acc3 = ((FloatVector) vc.lanewise(VectorOperators.LSHR, 4).or(vh.lanewise(VectorOperators.LSHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(FloatVector.fromArray(F, xq, xa + 96)).fma(FloatVector.broadcast(F, lanes[s + 6]), acc3);
                }
            }
        }
        acc0.add(acc1).add(acc2.add(acc3)).intoArray(lanes, 0);
        return L == 16 ? Simd.sumLanes16(lanes, 0) : Simd.sumLanes(lanes, 0, L);
    }

    // ---- Row groups: the decode kernel of 4- and 8-lane machines (128-bit NEON/SSE, AVX2) ----

    /**
     * Whether decode runs on row groups (as {@link RowGroups}, but one signed byte per element:
     * built once per tensor on first use; {@code -Dargon.repack=false} turns it off).
     */
    static final boolean GROUPED = RowGroups.ENABLED;
    private static final int G = RowGroups.G;
    private static final VectorSpecies<Short> SNS = Simd.SNS;
    private static final VectorSpecies<Byte> SNB = Simd.SNB;
    private static final VectorSpecies<Integer> SNI = VectorSpecies.of(int.class, Simd.SNS.vectorShape());

    /**
     * The row-group copy: for group {@code g} and 16-element sub-block {@code s} of each row
     * ({@code ns = n / 16} per row), 8 chunks of {@code 2G} bytes at {@code (g * ns + s) * 16 G},
     * byte {@code 2r + j} of chunk {@code k} holding row {@code r}'s element {@code 2k + j} as
     * {@code q - 32} (a signed byte), and the factor {@code d * scale_s} at
     * {@code factors[(g * ns + s) * G + r]}. Costs 10 bits per grouped weight (Q6_K: 6.56).
     */
    private record Groups(int n, int groups, byte[] bytes, float[] factors) implements GroupedRows.Layout {
    }

    private final GroupedRows<Groups> grouped = new GroupedRows<>(QK, this::buildGroups, this::groupDot, this::groupDot2,
            this::groupDot4);

    @Override
    public int q8RowGroup(int cols, ThreadPool pool) {
        return grouped.group(cols, pool);
    }

    private Groups buildGroups(int cols, ThreadPool pool) {
        int supers = cols / QK;
        int ns = cols / 16;
        int count = (int) (size() / cols / G);
        if ((long) count * ns * 16 * G > Integer.MAX_VALUE - 64) {
            return new Groups(-1, 0, new byte[0], new float[0]); // too large for Java arrays: one-row kernels
        }
        byte[] bytes = new byte[count * ns * 16 * G];
        float[] factors = new float[count * ns * G];
        pool.parallelFor(count, (long) count * G * cols, (start, end) -> {
            for (int grp = start; grp < end; grp++) {
                for (int r = 0; r < G; r++) {
                    long row = (long) grp * G + r;
                    for (int sbk = 0; sbk < supers; sbk++) {
                        long bo = (row * supers + sbk) * BYTES;
                        float d = Le.f16(data, bo + 208);
                        for (int e = 0; e < QK; e++) {
                            int sub = sbk * 16 + e / 16;
                            int k = (e % 16) / 2;
                            bytes[(grp * ns + sub) * 16 * G + 2 * G * k + 2 * r + (e & 1)] = (byte) q6(bo, e);
                        }
                        for (int j = 0; j < 16; j++) {
                            factors[(grp * ns + sbk * 16 + j) * G + r] = d * Le.i8(data, bo + 192 + j);
                        }
                    }
                }
            }
        });
        return new Groups(cols, count, bytes, factors);
    }

    /** Element {@code e} (0..255) of the super-block at byte {@code bo}: {@code q - 32}, in -32..31. */
    private int q6(long bo, int e) {
        int h = e / 128;
        int w = e % 128;
        int g = w / 32;
        int l = w % 32;
        int ql = Le.u8(data, bo + 64 * h + l + 32 * (g & 1));
        int lo = g < 2 ? ql & 0xF : ql >> 4;
        int hi = (Le.u8(data, bo + 128 + 32 * h + l) >> (2 * g)) & 3;
        return (lo | hi << 4) - 32;
    }

    @Override
    protected int dotQ8RowGroups(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                 float[] out, int outOffset, int outStride) {
        return grouped.dot(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
    }

    /**
     * One group's {@link #G} dot products with the activations at {@code xo}, into
     * {@code out[oo .. oo + G)}. Per 16-element sub-block: the exact sums of
     * {@code (q - 32) * qx} in 16-bit lanes (8 products of at most 32 * 127: 32512), lane pairs
     * added into one 32-bit lane per row, and {@code acc = fma(s, d*scale * dx, acc)}: the bits of
     * {@link #dotQ8Chain}.
     */
    private void groupDot(Groups gs, int g, Q8Activations x, int xo, float[] out, int oo) {
        int ns = gs.n / 16;
        byte[] by = gs.bytes;
        float[] f = gs.factors;
        int[] xp = x.pairs;
        float[] xd = x.d;
        int base = g * ns * 16 * G;
        int sb = g * ns * G;
        int pb = xo / 2;
        int xb = xo / 32;
        FloatVector acc = FloatVector.zero(F);
        for (int s = 0; s < ns; s++, base += 16 * G, sb += G, pb += 8) {
            ShortVector a = ShortVector.zero(SNS);
            for (int k = 0; k < 8; k++) {
                ShortVector q = (ShortVector) ByteVector.fromArray(SNB, by, base + 2 * G * k)
                        .convertShape(VectorOperators.B2S, SNS, 0);
                a = a.add(q.mul(IntVector.broadcast(SNI, xp[pb + k]).reinterpretAsShorts()));
            }
            IntVector v = a.reinterpretAsInts();
            IntVector sum = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v.lanewise(VectorOperators.ASHR, 16));
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, f, sb).mul(xd[xb + s / 2]), acc);
        }
        acc.intoArray(out, oo);
    }

    /** {@link #groupDot} for two tokens sharing each widened chunk; per token the same bits. */
    private void groupDot2(Groups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int ns = gs.n / 16;
        byte[] by = gs.bytes;
        float[] f = gs.factors;
        int[] xp = x.pairs;
        float[] xd = x.d;
        int base = g * ns * 16 * G;
        int sb = g * ns * G;
        int pb = xo / 2;
        int pc = (xo + xs) / 2;
        int xb = xo / 32;
        int xc = (xo + xs) / 32;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int s = 0; s < ns; s++, base += 16 * G, sb += G, pb += 8, pc += 8) {
            ShortVector a0 = ShortVector.zero(SNS);
            ShortVector a1 = ShortVector.zero(SNS);
            for (int k = 0; k < 8; k++) {
                ShortVector q = (ShortVector) ByteVector.fromArray(SNB, by, base + 2 * G * k)
                        .convertShape(VectorOperators.B2S, SNS, 0);
                a0 = a0.add(q.mul(IntVector.broadcast(SNI, xp[pb + k]).reinterpretAsShorts()));
                a1 = a1.add(q.mul(IntVector.broadcast(SNI, xp[pc + k]).reinterpretAsShorts()));
            }
            FloatVector factor = FloatVector.fromArray(F, f, sb);
            IntVector v = a0.reinterpretAsInts();
            IntVector sum = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v.lanewise(VectorOperators.ASHR, 16));
            acc0 = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(factor.mul(xd[xb + s / 2]), acc0);
            v = a1.reinterpretAsInts();
            sum = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v.lanewise(VectorOperators.ASHR, 16));
            acc1 = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(factor.mul(xd[xc + s / 2]), acc1);
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
    }

    /**
     * {@link #groupDot} for four tokens (activations at {@code xo + k * xs}, results at
     * {@code out[oo + k * os ..]}, k = 0..3), each chunk widened once for all four; per token the
     * operations of {@link #groupDot}, so the same bits. No helper calls (C2's inlining budget:
     * see {@link Q4_0Tensor}'s four-token kernel).
     */
    private void groupDot4(Groups gs, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os) {
        int ns = gs.n / 16;
        byte[] by = gs.bytes;
        float[] f = gs.factors;
        int[] xp = x.pairs;
        float[] xd = x.d;
        int base = g * ns * 16 * G;
        int sb = g * ns * G;
        int p0 = xo / 2, p1 = (xo + xs) / 2, p2 = (xo + 2 * xs) / 2, p3 = (xo + 3 * xs) / 2;
        int x0 = xo / 32, x1 = (xo + xs) / 32, x2 = (xo + 2 * xs) / 32, x3 = (xo + 3 * xs) / 32;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int s = 0; s < ns; s++, base += 16 * G, sb += G, p0 += 8, p1 += 8, p2 += 8, p3 += 8) {
            ShortVector a0 = ShortVector.zero(SNS), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < 8; k++) {
                ShortVector q = (ShortVector) ByteVector.fromArray(SNB, by, base + 2 * G * k)
                        .convertShape(VectorOperators.B2S, SNS, 0);
                a0 = a0.add(q.mul(IntVector.broadcast(SNI, xp[p0 + k]).reinterpretAsShorts()));
                a1 = a1.add(q.mul(IntVector.broadcast(SNI, xp[p1 + k]).reinterpretAsShorts()));
                a2 = a2.add(q.mul(IntVector.broadcast(SNI, xp[p2 + k]).reinterpretAsShorts()));
                a3 = a3.add(q.mul(IntVector.broadcast(SNI, xp[p3 + k]).reinterpretAsShorts()));
            }
            FloatVector factor = FloatVector.fromArray(F, f, sb);
            IntVector v0 = a0.reinterpretAsInts();
            acc0 = ((FloatVector) v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v0.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(factor.mul(xd[x0 + s / 2]), acc0);
            IntVector v1 = a1.reinterpretAsInts();
            acc1 = ((FloatVector) v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v1.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(factor.mul(xd[x1 + s / 2]), acc1);
            IntVector v2 = a2.reinterpretAsInts();
            acc2 = ((FloatVector) v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v2.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(factor.mul(xd[x2 + s / 2]), acc2);
            IntVector v3 = a3.reinterpretAsInts();
            acc3 = ((FloatVector) v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(v3.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(factor.mul(xd[x3 + s / 2]), acc3);
        }
        acc0.intoArray(out, oo);
        acc1.intoArray(out, oo + os);
        acc2.intoArray(out, oo + 2 * os);
        acc3.intoArray(out, oo + 3 * os);
    }

    /**
     * {@link #dotQ8} where row groups are used: per 16-element sub-block the exact integer sum
     * {@code s} of {@code (q - 32) * qx}, then {@code acc = fma(s, d*scale * dx, acc)} in order
     * from 0: one lane of {@link #groupDot}, the same bits. Scalar: only rows outside whole groups
     * and single calls take it.
     */
    float dotQ8Chain(long offset, Q8Activations x, int xOffset, int n) {
        long bo = offset / QK * BYTES;
        float acc = 0f;
        for (int xi = xOffset; xi < xOffset + n; xi += QK, bo += BYTES) {
            float d = Le.f16(data, bo + 208);
            for (int j = 0; j < 16; j++) {
                int s = 0;
                for (int e = 16 * j; e < 16 * j + 16; e++) {
                    s += q6(bo, e) * x.q[xi + e];
                }
                acc = Math.fma((float) s, d * Le.i8(data, bo + 192 + j) * x.d[(xi + 16 * j) / 32], acc);
            }
        }
        return acc;
    }

    /**
     * Scalar form of {@link #dotQ8} with integer inner sums, used when the Vector API is off:
     * per 16-element sub-block {@code dx * d * sc * isum((q - 32) * qx)}.
     */
    float dotQ8Scalar(long offset, Q8Activations x, int xOffset, int n) {
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
                float dx1 = x.d[xa / Q8Activations.BLOCK];
                float dx2 = x.d[xa / Q8Activations.BLOCK + 1];
                float dx3 = x.d[xa / Q8Activations.BLOCK + 2];
                float dx4 = x.d[xa / Q8Activations.BLOCK + 3];
                for (int is = 0; is < 2; is++) {
                    int s1 = 0;
                    int s2 = 0;
                    int s3 = 0;
                    int s4 = 0;
                    for (int l = 16 * is; l < 16 * is + 16; l++) {
                        int a = Le.u8(data, ql + l);
                        int c = Le.u8(data, ql + l + 32);
                        int hb = Le.u8(data, qh + l);
                        s1 += (((a & 0xF) | (hb & 3) << 4) - 32) * x.q[xa + l];
                        s2 += (((c & 0xF) | ((hb >> 2) & 3) << 4) - 32) * x.q[xa + l + 32];
                        s3 += (((a >> 4) | ((hb >> 4) & 3) << 4) - 32) * x.q[xa + l + 64];
                        s4 += (((c >> 4) | ((hb >> 6) & 3) << 4) - 32) * x.q[xa + l + 96];
                    }
                    sum += d * (dx1 * Le.i8(data, sc + is) * s1 + dx2 * Le.i8(data, sc + is + 2) * s2
                            + dx3 * Le.i8(data, sc + is + 4) * s3 + dx4 * Le.i8(data, sc + is + 6) * s4);
                }
            }
        }
        return sum;
    }
}
