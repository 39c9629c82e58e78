package dev.argon.sampling;

import dev.argon.tensor.Simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vectorised unnormalised softmax weights, shared by {@link TopP} and {@link Distribution}. */
final class Softmax {
    private static final VectorSpecies<Float> S = Simd.F;
    /** Weights summed right after they are written, while they are still in the L1 cache. */
    private static final int BLOCK = 1024;

    private Softmax() {}

    /**
     * Writes {@code out[i] = exp(logits[i] - max)} for {@code i < n} and returns their sum
     * (NaN if any logit is NaN).
     *
     * <p>The sum is taken in double, in an order that does not depend on the vector width
     * ({@link #sum}): callers compare it with running double sums of the same weights (top-p's
     * target mass, the draw's threshold), and a total accumulated in float lanes would differ from
     * those by float rounding (about 1e-8 relative for a 32k vocabulary), in a way that changed
     * with the lane count, so the top-p cut could move by a token from one CPU to another. Blocks
     * of {@value #BLOCK} weights start at multiples of {@value #BLOCK} whatever the width. (The
     * last {@code n} modulo the lane count weights come from {@link Math#exp}, the others from the vector exp; the
     * two may differ by an ulp.)
     */
    static double expShifted(float[] logits, int n, float max, float[] out) {
        double total = 0;
        for (int from = 0; from < n; from += BLOCK) {
            int to = Math.min(n, from + BLOCK);
            int i = from;
            for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
                FloatVector.fromArray(S, logits, i).sub(max).lanewise(VectorOperators.EXP).intoArray(out, i);
            }
            for (; i < to; i++) {
                out[i] = (float) Math.exp(logits[i] - max);
            }
            total += sum(out, from, to);
        }
        return total;
    }

    /**
     * The sum of {@code w[from..to)} in double: eight interleaved accumulators (element
     * {@code from + j} goes to accumulator {@code j % 8}), combined pairwise as
     * {@code ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))}. A fixed order, so the result does
     * not depend on the SIMD width; eight independent chains of additions keep it fast.
     */
    static double sum(float[] w, int from, int to) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        double s4 = 0;
        double s5 = 0;
        double s6 = 0;
        double s7 = 0;
        int i = from;
        for (; i + 8 <= to; i += 8) {
            s0 += w[i];
            s1 += w[i + 1];
            s2 += w[i + 2];
            s3 += w[i + 3];
            s4 += w[i + 4];
            s5 += w[i + 5];
            s6 += w[i + 6];
            s7 += w[i + 7];
        }
        for (; i < to; i++) {
            s0 += w[i];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }
}
