package dev.argon.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
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
    /**
     * Whether the single-token 8-bit kernels multiply in 16-bit integer lanes: on 16-lane
     * machines a 256-bit vector of shorts converts to exactly one float vector.
     */
    static final boolean INT16 = ENABLED && L == 16;
    /** 16 lanes of 16-bit integers (256 bits). */
    static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    /**
     * Whether the single-token 8-bit kernels of 4- and 8-lane machines (128-bit NEON/SSE,
     * AVX2) multiply in 16-bit integer lanes: a vector of {@link #SN} shorts (twice the float
     * lanes, the same register width) converts to two float vectors. {@code -Dargon.int16=false}
     * keeps the older float form (every weight widened to a float; the same results), for
     * comparing the two.
     */
    static final boolean NARROW_INT16 = ENABLED && (L == 4 || L == 8) && !"false".equals(System.getProperty("argon.int16"));
    /** Shorts per 16-bit vector of the narrow kernels: {@code 2 * L} (8 or 16). */
    static final int SN = 2 * L;
    /** {@link #SN} 16-bit lanes: a full register at 4 and 8 float lanes. */
    static final VectorSpecies<Short> SNS = NARROW_INT16 ? VectorSpecies.of(short.class, VectorShape.forBitSize(16 * SN)) : S16;
    /** {@link #SN} bytes, widened to {@link #SNS}. */
    static final VectorSpecies<Byte> SNB = NARROW_INT16 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * SN)) : BS;

    // Shuffles that fold lanes i + w onto lanes i (w = 8, 4, 2, 1). Each is its own static final
    // field: the JIT only intrinsifies rearrange() when the shuffle is a compile-time constant.
    private static final VectorShuffle<Float> FOLD_8 = fold(8);
    private static final VectorShuffle<Float> FOLD_4 = fold(4);
    private static final VectorShuffle<Float> FOLD_2 = fold(2);
    private static final VectorShuffle<Float> FOLD_1 = fold(1);
    /** 8-lane halves of 16-lane accumulators (only used when {@link #L} is 16). */
    private static final VectorSpecies<Float> H = FloatVector.SPECIES_256;
    private static final VectorShuffle<Float> H_ROT_1 = VectorShuffle.fromOp(H, i -> (i + 1) % 8);
    private static final VectorShuffle<Float> H_ROT_2 = VectorShuffle.fromOp(H, i -> (i + 2) % 8);
    private static final VectorShuffle<Float> H_ROT_4 = VectorShuffle.fromOp(H, i -> (i + 4) % 8);
    private static final VectorShuffle<Float> H_ROT_6 = VectorShuffle.fromOp(H, i -> (i + 6) % 8);
    /** Lanes 4..7 of an 8-lane vector. */
    private static final VectorMask<Float> H_HIGH_4 = VectorMask.fromLong(H, 0xF0L);
    /** Lanes 2, 3, 6, 7 of an 8-lane vector. */
    private static final VectorMask<Float> H_ODD_2 = VectorMask.fromLong(H, 0xCCL);

    private Simd() {
    }

    /**
     * @return the vector width the kernels run with, for reports: e.g. {@code "256-bit vectors (8
     *     float lanes)"}, or {@code "scalar kernels"} when vectors are off or unsupported
     */
    public static String describe() {
        return ENABLED ? (32 * L) + "-bit vectors (" + L + " float lanes)" : "scalar kernels";
    }

    /**
     * @return the float vector width the kernels run with in bits (128, 256, 512), or 0 for the
     *     scalar kernels; results may differ between widths (the lane sums' order follows it)
     */
    public static int vectorBits() {
        return ENABLED ? 32 * L : 0;
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

    /**
     * {@link #sum} of the {@code n} (a power of two) lanes stored at {@code a[o..o+n)}, in
     * scalar code with the same additions in the same order (lane i + lane i+n/2, then +n/4, ...),
     * so the result is bit-identical; overwrites {@code a[o..o+n/2)}. For kernels that must not
     * pass a vector to a call the JIT may not inline.
     */
    static float sumLanes(float[] a, int o, int n) {
        for (int w = n / 2; w >= 1; w /= 2) {
            for (int i = o; i < o + w; i++) {
                a[i] += a[i + w];
            }
        }
        return a[o];
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0]});

    /**
     * @return this thread's scratch array of at least {@code n} floats (grown when too short, so a
     *     decode loop allocates only on its first steps); its contents are undefined
     */
    static float[] scratch(int n) {
        float[][] holder = SCRATCH.get();
        if (holder[0].length < n) {
            holder[0] = new float[n];
        }
        return holder[0];
    }

    /** Per-thread buffer of 128 floats where kernels store 16-lane accumulators for {@link #sumLanes16} (and per-block factors). */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[128]);

    /**
     * @return this thread's 128-float buffer for accumulators folded in scalar code. Large kernels
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
        // A transposed fold on 8-lane halves: the four sums share each vector addition, and level
        // by level it makes exactly the additions of sum(): lane i + lane i+8, then +4, +2, +1
        // (float addition is commutative, so operand order does not matter). Loading halves
        // rather than whole 16-lane vectors matters on cores that store 512-bit vectors as two
        // 256-bit halves (AMD Zen 4/5): a load that needs both halves of a recent store is not
        // forwarded from the store buffer and waits for the store to complete.
        ByteOrder no = ByteOrder.nativeOrder();
        // b_k[i] = a_k[i] + a_k[i+8]
        FloatVector b0 = FloatVector.fromMemorySegment(H, lanes, at, no).add(FloatVector.fromMemorySegment(H, lanes, at + 32, no));
        FloatVector b1 = FloatVector.fromMemorySegment(H, lanes, at + 64, no).add(FloatVector.fromMemorySegment(H, lanes, at + 96, no));
        FloatVector b2 = FloatVector.fromMemorySegment(H, lanes, at + 128, no).add(FloatVector.fromMemorySegment(H, lanes, at + 160, no));
        FloatVector b3 = FloatVector.fromMemorySegment(H, lanes, at + 192, no).add(FloatVector.fromMemorySegment(H, lanes, at + 224, no));
        // [c0 | c1] and [c2 | c3], four lanes each: c[i] = b[i] + b[i+4]
        FloatVector x = b0.blend(b1.rearrange(H_ROT_4), H_HIGH_4).add(b0.rearrange(H_ROT_4).blend(b1, H_HIGH_4));
        FloatVector y = b2.blend(b3.rearrange(H_ROT_4), H_HIGH_4).add(b2.rearrange(H_ROT_4).blend(b3, H_HIGH_4));
        // lanes 0,1: d0; 2,3: d2; 4,5: d1; 6,7: d3 (d[j] = c[j] + c[j+2])
        FloatVector d = x.blend(y.rearrange(H_ROT_6), H_ODD_2).add(x.rearrange(H_ROT_2).blend(y, H_ODD_2));
        // lanes 0, 2, 4, 6: (d[0] + d[1]) of vectors 0, 2, 1, 3
        FloatVector e = d.add(d.rearrange(H_ROT_1));
        out[o0] = e.lane(0);
        out[o1] = e.lane(4);
        out[o2] = e.lane(2);
        out[o3] = e.lane(6);
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
