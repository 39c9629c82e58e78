package dev.argon.sampling;

import dev.argon.tensor.Simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vectorised unnormalised softmax weights, shared by {@link TopP} and {@link Distribution}. */
final class Softmax {
    private static final VectorSpecies<Float> S = Simd.F;
    /** Elements summed in float lanes before the partial sum is added to a double. */
    private static final int BLOCK = 1024;

    private Softmax() {}

    /**
     * Writes {@code out[i] = exp(logits[i] - max)} for {@code i < n} and returns their sum
     * (NaN if any logit is NaN). Float lanes are flushed into a double every {@value #BLOCK}
     * elements so the sum stays accurate for 150k-entry vocabularies.
     */
    static double expShifted(float[] logits, int n, float max, float[] out) {
        double sum = 0;
        int i = 0;
        int upper = S.loopBound(n);
        while (i < upper) {
            int blockEnd = Math.min(upper, i + BLOCK);
            FloatVector acc = FloatVector.zero(S);
            for (; i < blockEnd; i += S.length()) {
                FloatVector e = FloatVector.fromArray(S, logits, i).sub(max).lanewise(VectorOperators.EXP);
                e.intoArray(out, i);
                acc = acc.add(e);
            }
            sum += Simd.sum(acc);
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(logits[i] - max);
            out[i] = e;
            sum += e;
        }
        return sum;
    }
}
