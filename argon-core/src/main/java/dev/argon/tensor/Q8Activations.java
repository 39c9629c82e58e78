package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * An activation vector quantized to 8 bits in ggml's {@code Q8_0} scheme: blocks of 32 values share
 * one scale {@code d = max|x| / 127} (stored rounded to F16, as in a {@code block_q8_0}) and each
 * value is {@code q = rint(x * 127 / max|x|)}. Quantized weight types whose ggml dot product runs
 * on Q8_0 activations (Q4_0, Q8_0) use it through {@link Tensor#dotQ8}, so their results follow
 * llama.cpp's and the inner products are exact small-integer sums. The K-quants (Q4_K, Q5_K, Q6_K)
 * use the same 32-element blocks, with the block sums {@link #sum} for their min terms (ggml pairs
 * them with 256-element {@code Q8_K} blocks instead, so their results follow ggml's formula but
 * not its activation rounding).
 *
 * <p>Reusable: {@link #quantize} overwrites the previous contents; no allocation after construction.
 */
public final class Q8Activations {
    /** Values per block. */
    public static final int BLOCK = 32;
    final byte[] q;
    /** The same integers as {@link #q}, as floats: kernels load them without a conversion per row. */
    final float[] qf;
    /**
     * The same integers as {@link #q}, as 16-bit lanes: single-token kernels multiply them with
     * weight integers in 16-bit arithmetic (cheaper than widening each weight to a float).
     */
    final short[] qs;
    /**
     * Per block and lane {@code l < 16}: {@code 8 * (q[l] + q[l + 16])}, the offset term of
     * ggml's Q4_0 ({@code (w - 8) * x}), so that its 16-bit kernel can multiply the unsigned
     * 4-bit weights directly ({@code [blocks * 16]}).
     */
    final short[] offset8;
    /**
     * The 16-bit values in pairs, {@code pairs[i] = (qs[2i] & 0xFFFF) | qs[2i + 1] << 16}
     * ({@code [blocks * 16]}): the row-group kernels of 4- and 8-lane machines broadcast one pair to
     * every 32-bit lane ({@link Q4_0Tensor}). Filled only where those kernels run.
     */
    final int[] pairs;
    final float[] d;
    /**
     * Per block, the sum of its integers {@code sum q} as a float (exact: at most 32 * 127 in
     * magnitude). Kernels of weight types with an offset per sub-block (ggml's K-quant mins) use
     * it for the {@code min * sum x} term, as ggml uses the {@code bsums} of {@code block_q8_K}.
     */
    final float[] sum;
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude <= 2^22 to an integer, ties to even. */
    private static final float ROUNDING = 12582912f;
    /** The dequantized values {@code d * q}. */
    private final float[] deq;
    private int length;

    /** @param capacity the longest vector to hold; a multiple of 32 */
    public Q8Activations(int capacity) {
        int blocks = (capacity + BLOCK - 1) / BLOCK;
        this.q = new byte[blocks * BLOCK];
        this.qf = new float[blocks * BLOCK];
        this.qs = new short[blocks * BLOCK];
        this.offset8 = new short[blocks * 16];
        this.pairs = new int[blocks * 16];
        this.d = new float[blocks];
        this.sum = new float[blocks];
        this.deq = new float[blocks * BLOCK];
    }

    /** @return the number of values quantized by the last {@link #quantize} */
    public int length() {
        return length;
    }

    /**
     * Quantizes {@code x[0..n)}; {@code n} must be a multiple of 32 (callers fall back to F32
     * activations otherwise).
     */
    public void quantize(float[] x, int n) {
        quantize(x, n, 0);
    }

    /**
     * {@link #quantize(float[], int)} where values {@code [0, gemmValues)} are only read as their
     * dequantized values ({@link #dequantized}: prompt rows of {@link Ops#matmul} go through the
     * GEMM): their integer forms ({@link #q}, {@link #qs}, {@link #offset8}, {@link #pairs}) are
     * not filled, which saves ~5% of a prompt pass (JFR, SmolLM2-135M pp64). {@code gemmValues} is rounded down to whole blocks.
     */
    public void quantize(float[] x, int n, int gemmValues) {
        if (n % BLOCK != 0 || n > q.length) {
            throw new IllegalArgumentException("cannot quantize " + n + " values into Q8_0 blocks of capacity " + q.length);
        }
        if (Simd.ENABLED && BLOCK % Simd.L == 0) {
            quantizeVector(x, n, Math.max(0, gemmValues) / BLOCK);
        } else {
            quantizeScalar(x, n);
        }
        length = n;
    }

    /**
     * The vector form of {@link #quantizeScalar}, with the same results bit for bit: the maximum is
     * order-free, {@code rint} is an addition and subtraction of 1.5 * 2^23 (exact round-half-even
     * for |v| <= 2^22; here |v| <= 127) plus the input's sign for zero results (rint(-0.3) is -0.0),
     * and the block sum adds small integers, exact in any order.
     */
    private void quantizeVector(float[] x, int n, int firstShortBlock) {
        VectorSpecies<Float> f = Simd.F;
        int l = Simd.L;
        FloatVector magic = FloatVector.broadcast(f, ROUNDING);
        for (int b = 0; b < n / BLOCK; b++) {
            int o = b * BLOCK;
            FloatVector m = FloatVector.fromArray(f, x, o).abs();
            for (int j = l; j < BLOCK; j += l) {
                m = m.max(FloatVector.fromArray(f, x, o + j).abs());
            }
            float amax = m.reduceLanes(VectorOperators.MAX);
            float id = amax != 0f ? 127f / amax : 0f;
            float db = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            d[b] = db;
            FloatVector sums = FloatVector.zero(f);
            for (int j = 0; j < BLOCK; j += l) {
                FloatVector v = FloatVector.fromArray(f, x, o + j).mul(id);
                IntVector sign = v.reinterpretAsInts().and(0x8000_0000);
                FloatVector r = v.add(magic).sub(magic).reinterpretAsInts().or(sign).reinterpretAsFloats();
                r.intoArray(qf, o + j);
                r.mul(db).intoArray(deq, o + j);
                sums = sums.add(r);
            }
            sum[b] = sums.reduceLanes(VectorOperators.ADD);
            if (b < firstShortBlock) {
                continue; // a GEMM row's block: only deq (and d, sum) are read
            }
            for (int i = o; i < o + BLOCK; i++) {
                q[i] = (byte) qf[i];
            }
            if (l == 16) {
                FloatVector lo = FloatVector.fromArray(f, qf, o);
                FloatVector hi = FloatVector.fromArray(f, qf, o + 16);
                ((ShortVector) lo.convertShape(VectorOperators.F2S, ShortVector.SPECIES_256, 0)).intoArray(qs, o);
                ((ShortVector) hi.convertShape(VectorOperators.F2S, ShortVector.SPECIES_256, 0)).intoArray(qs, o + 16);
                ((ShortVector) lo.add(hi).mul(8f).convertShape(VectorOperators.F2S, ShortVector.SPECIES_256, 0)).intoArray(offset8, b * 16);
            } else {
                shortForms(b);
            }
        }
    }

    /** Fills {@link #qs} and {@link #offset8} of block {@code b} from {@link #q}. */
    private void shortForms(int b) {
        int o = b * BLOCK;
        for (int i = o; i < o + BLOCK; i++) {
            qs[i] = q[i];
        }
        for (int l = 0; l < 16; l++) {
            offset8[b * 16 + l] = (short) (8 * (q[o + l] + q[o + l + 16]));
            pairs[b * 16 + l] = (q[o + 2 * l] & 0xFFFF) | q[o + 2 * l + 1] << 16;
        }
    }

    /** The reference: one value at a time, as ggml's {@code quantize_row_q8_0_ref}. */
    void quantizeScalar(float[] x, int n) {
        for (int b = 0; b < n / BLOCK; b++) {
            int o = b * BLOCK;
            float amax = 0f;
            for (int i = 0; i < BLOCK; i++) {
                amax = Math.max(amax, Math.abs(x[o + i]));
            }
            float id = amax != 0f ? 127f / amax : 0f;
            d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            int s = 0;
            for (int i = 0; i < BLOCK; i++) {
                float v = (float) Math.rint(x[o + i] * id);
                q[o + i] = (byte) v;
                qf[o + i] = v;
                deq[o + i] = d[b] * v;
                s += (int) v;
            }
            sum[b] = s;
            shortForms(b);
        }
        length = n;
    }

    /** @return the dequantized values {@code d * q}, {@code [length()]} (a buffer owned by this object) */
    public float[] dequantized() {
        return deq;
    }

    /** @return the dequantized value {@code i} (for tests) */
    public float get(int i) {
        return d[i / BLOCK] * q[i];
    }
}
