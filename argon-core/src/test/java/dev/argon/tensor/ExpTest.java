package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ExpTest {
    /** Inputs: a dense sweep of the range, the clamp edges, and random values. */
    private static float[] inputs() {
        Random r = new Random(7);
        float[] x = new float[200_000 + 64];
        int n = 0;
        for (float v = -90f; v <= 90f && n < 180_000; v += 0.001f) {
            x[n++] = v;
        }
        while (n < x.length - 8) {
            x[n++] = (float) (r.nextGaussian() * 20);
        }
        float[] edges = {0f, -0f, Exp.LO, Exp.HI, 1e-30f, -1e-30f, 1f, -1f};
        System.arraycopy(edges, 0, x, n, edges.length);
        return x;
    }

    @Test
    void vectorFormEqualsScalarFormBitForBit() {
        float[] x = inputs();
        int l = Simd.F.length();
        for (int i = 0; i + l <= x.length; i += l) {
            float[] got = new float[l];
            Exp.exp(FloatVector.fromArray(Simd.F, x, i)).intoArray(got, 0);
            for (int j = 0; j < l; j++) {
                assertThat(Float.floatToRawIntBits(got[j])).as("x = %s", x[i + j])
                        .isEqualTo(Float.floatToRawIntBits(Exp.exp(x[i + j])));
            }
        }
    }

    @Test
    void withinTwoUlpOfMathExpInsideTheRange() {
        for (float v : inputs()) {
            if (v < Exp.LO || v > Exp.HI) {
                continue;
            }
            float want = (float) Math.exp(v);
            assertThat(Math.abs(Exp.exp(v) - want)).as("x = %s", v).isLessThanOrEqualTo(2 * Math.ulp(want));
        }
    }

    @Test
    void saturatesOutsideTheRange() {
        assertThat(Exp.exp(200f)).isEqualTo(Exp.exp(Exp.HI)).isFinite().isGreaterThan(1e38f);
        assertThat(Exp.exp(-200f)).isEqualTo(Exp.exp(Exp.LO)).isPositive().isLessThan(1e-37f);
        assertThat(Exp.exp(0f)).isEqualTo(1f);
    }

    @Test
    void swigluMatchesTheFormulaWithMathExpAndIsTheSameForEveryRange() {
        Random r = new Random(3);
        int n = 3001;
        float[] g = new float[n];
        float[] u = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) (r.nextGaussian() * 6);
            u[i] = (float) r.nextGaussian();
        }
        float[] whole = g.clone();
        Ops.swiglu(whole, u, n);
        for (int i = 0; i < n; i++) {
            double want = g[i] / (1 + Math.exp(-g[i])) * u[i];
            assertThat((double) whole[i]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * (1 + Math.abs(want))));
        }
        // split at odd places: the same bits (vector body and scalar tails agree)
        try (ThreadPool pool = new ThreadPool(3)) {
            float[] split = g.clone();
            Ops.swiglu(split, u, n, pool);
            assertThat(split).containsExactly(whole);
        }
        float[] parts = g.clone();
        float[] head = java.util.Arrays.copyOfRange(parts, 0, 13);
        float[] tail = java.util.Arrays.copyOfRange(parts, 13, n);
        Ops.swiglu(head, java.util.Arrays.copyOfRange(u, 0, 13), 13);
        Ops.swiglu(tail, java.util.Arrays.copyOfRange(u, 13, n), n - 13);
        for (int i = 0; i < n; i++) {
            assertThat(i < 13 ? head[i] : tail[i - 13]).isEqualTo(whole[i]);
        }
    }
}
