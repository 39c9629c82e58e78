package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector API set-up shared by the fast {@code dot} kernels.
 *
 * <p>Quantized kernels work on units of {@link #BU} packed bytes: a unit is loaded into a
 * {@link ByteVector} of species {@link #BS}, unpacked with byte arithmetic, and widened to
 * {@link #PARTS} float vectors of {@link #L} lanes: 16 bytes to one 16-float vector with AVX-512,
 * 8 bytes to one 8-float vector with AVX2, 8 bytes to two 4-float vectors with 128-bit SIMD. Units
 * never straddle a 16-element boundary, so every unit has a single (sub-)block scale.
 *
 * <p>Kernels call Vector API methods directly and never pass vectors through helper methods of
 * their own: the JIT may decline to inline such a helper (node-count or code-size limits, or
 * because it was compiled on its own first), and then every vector crossing the call is
 * allocated on the heap. Helpers called from kernels return primitives only.
 *
 * <p>The system property {@code argon.simd} chooses the float vector size: {@code 128},
 * {@code 256} or {@code 512} bits, {@code off} (scalar kernels only), or unset (the platform's
 * preferred size). Kernels fall back to scalar loops when the size is not 4, 8 or 16 floats.
 */
public final class Simd {
    /** Float species used by every kernel. */
    public static final VectorSpecies<Float> F = chooseSpecies();
    /** Float lanes per vector. */
    static final int L = F.length();
    /** Whether the vector kernels are used (else the scalar ones). */
    static final boolean ENABLED = L >= 4 && L <= 16 && !"off".equals(System.getProperty("argon.simd"));
    /** Bytes per unit: {@link #L}, but at least 8 (the smallest byte vector). */
    static final int BU = Math.max(L, 8);
    /** Byte species of one unit. */
    static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * BU));
    /** Float vectors per unit (1 unless {@link #L} is 4). */
    static final int PARTS = BU / L;

    // Shuffles that fold lanes i + w onto lanes i (w = 8, 4, 2, 1). Each is its own static final
    // field: the JIT only intrinsifies rearrange() when the shuffle is a compile-time constant.
    private static final VectorShuffle<Float> FOLD_8 = fold(8);
    private static final VectorShuffle<Float> FOLD_4 = fold(4);
    private static final VectorShuffle<Float> FOLD_2 = fold(2);
    private static final VectorShuffle<Float> FOLD_1 = fold(1);
    private static final VectorShuffle<Float> FOLD_12 = fold(12);
    /** Lanes 8..15 (for 16-lane vectors). */
    private static final VectorMask<Float> HIGH_8 = VectorMask.fromLong(F, 0xFF00L);
    /** Lanes 4..7 and 12..15 (for 16-lane vectors). */
    private static final VectorMask<Float> ODD_4 = VectorMask.fromLong(F, 0xF0F0L);

    private Simd() {
    }

    /**
     * Sums the lanes of {@code v} in a fixed pairwise order. {@code reduceLanes(ADD)} leaves the
     * order of a floating-point reduction unspecified, and the interpreter and the JIT-compiled
     * code do use different orders, so the same input could give different results before and
     * after warm-up; this sum is the same in every tier.
     */
    public static float sum(FloatVector v) {
        FloatVector s = v;
        if (L >= 16) {
            s = s.add(s.rearrange(FOLD_8));
        }
        if (L >= 8) {
            s = s.add(s.rearrange(FOLD_4));
        }
        if (L >= 4) {
            s = s.add(s.rearrange(FOLD_2));
        }
        s = s.add(s.rearrange(FOLD_1));
        return s.lane(0);
    }

    /**
     * {@link #sum} of 16 lanes stored at {@code a[o..o+16)}, in scalar code with exactly the same
     * additions in the same order (lane i + lane i+8, then +4, +2, +1), so the result is
     * bit-identical to {@code sum} of the 16-lane vector.
     */
    public static float sumLanes16(float[] a, int o) {
        float b0 = a[o] + a[o + 8], b1 = a[o + 1] + a[o + 9], b2 = a[o + 2] + a[o + 10], b3 = a[o + 3] + a[o + 11];
        float b4 = a[o + 4] + a[o + 12], b5 = a[o + 5] + a[o + 13], b6 = a[o + 6] + a[o + 14], b7 = a[o + 7] + a[o + 15];
        float c0 = b0 + b4, c1 = b1 + b5, c2 = b2 + b6, c3 = b3 + b7;
        float d0 = c0 + c2, d1 = c1 + c3;
        return d0 + d1;
    }

    /** Per-thread buffer of 64 floats where kernels store 16-lane accumulators for {@link #sumLanes16}. */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[64]);

    /**
     * @return this thread's 64-float buffer for accumulators folded in scalar code. Large kernels
     *     use it instead of {@link #sum}: a vector fold the JIT does not inline (it stops inlining
     *     in big Vector API methods) boxes its argument on every call.
     */
    static float[] lanes() {
        return LANES.get();
    }

    private static final ThreadLocal<MemorySegment> LANE_SEGMENT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8 * 16 * Float.BYTES, 64));

    /**
     * @return this thread's buffer for eight 16-lane float accumulators (512 bytes), 64-byte
     *     aligned. Multi-token kernels store their accumulators here and fold them with
     *     {@link #sumLanes16x4(MemorySegment, long, float[], int, int)}: aligned, a stored vector is
     *     forwarded straight to the load that reads it back (a heap array may straddle cache lines,
     *     and then it is not). Fetch it once per loop, not per call: a thread-local lookup costs.
     */
    static MemorySegment laneSegment() {
        return LANE_SEGMENT.get();
    }

    /**
     * Folds the four 16-lane accumulators stored at byte {@code at} of {@code lanes} (see
     * {@link #laneSegment()}) into {@code out[oo]}, {@code out[oo + os]}, {@code out[oo + 2 os]},
     * {@code out[oo + 3 os]}, each bit-identical to {@link #sum} of that vector; overwrites the
     * first of them. 16-lane vectors only.
     */
    static void sumLanes16x4(MemorySegment lanes, long at, float[] out, int oo, int os) {
        sumLanes16x4(lanes, at, out, oo, oo + os, oo + 2 * os, oo + 3 * os);
    }

    /**
     * {@link #sumLanes16x4(MemorySegment, long, float[], int, int)} with the four results going to
     * {@code out[o0]}, {@code out[o1]}, {@code out[o2]}, {@code out[o3]}.
     */
    static void sumLanes16x4(MemorySegment lanes, long at, float[] out, int o0, int o1, int o2, int o3) {
        // A transposed fold: the four sums share each vector addition. Level by level it makes
        // exactly the additions of sum(): lane i + lane i+8, then +4, +2, +1 (float addition is
        // commutative, so operand order does not matter).
        ByteOrder no = ByteOrder.nativeOrder();
        FloatVector a0 = FloatVector.fromMemorySegment(F, lanes, at, no);
        FloatVector a1 = FloatVector.fromMemorySegment(F, lanes, at + 64, no);
        FloatVector a2 = FloatVector.fromMemorySegment(F, lanes, at + 128, no);
        FloatVector a3 = FloatVector.fromMemorySegment(F, lanes, at + 192, no);
        // [b0 | b1] and [b2 | b3]: the eight half-sums a[i] + a[i+8] of two vectors side by side
        FloatVector x = a0.blend(a1.rearrange(FOLD_8), HIGH_8).add(a0.rearrange(FOLD_8).blend(a1, HIGH_8));
        FloatVector y = a2.blend(a3.rearrange(FOLD_8), HIGH_8).add(a2.rearrange(FOLD_8).blend(a3, HIGH_8));
        // [c0 | c2 | c1 | c3]: b[i] + b[i+4], four lanes each
        FloatVector c = x.blend(y.rearrange(FOLD_12), ODD_4).add(x.rearrange(FOLD_4).blend(y, ODD_4));
        // lane 4k: (c[0] + c[2]) + (c[1] + c[3])
        FloatVector d = c.add(c.rearrange(FOLD_2));
        d.add(d.rearrange(FOLD_1)).intoMemorySegment(lanes, at, no);
        out[o0] = lanes.get(ValueLayout.JAVA_FLOAT, at);
        out[o1] = lanes.get(ValueLayout.JAVA_FLOAT, at + 32);
        out[o2] = lanes.get(ValueLayout.JAVA_FLOAT, at + 16);
        out[o3] = lanes.get(ValueLayout.JAVA_FLOAT, at + 48);
    }

    private static VectorShuffle<Float> fold(int w) {
        return VectorShuffle.fromOp(F, i -> (i + w) % L);
    }

    private static VectorSpecies<Float> chooseSpecies() {
        String p = System.getProperty("argon.simd", "");
        return switch (p) {
            case "128", "256", "512" -> VectorSpecies.of(float.class, VectorShape.forBitSize(Integer.parseInt(p)));
            default -> FloatVector.SPECIES_PREFERRED;
        };
    }
}
