package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ExpTest {
    /** A dense sweep of [-110, 110] plus random values and edge cases. */
    private static float[] inputs() {
        Random r = new Random(7);
        float[] x = new float[240_000];
        int n = 0;
        for (float v = -110f; v <= 110f && n < 220_000; v += 0.001f) {
            x[n++] = v;
        }
        float[] edges = {0f, -0f, 1e-30f, -1e-30f, 1f, -1f, 88.7f, 88.8f, -87.4f, -103.9f, -104f, 1e30f, -1e30f};
        System.arraycopy(edges, 0, x, n, edges.length);
        n += edges.length;
        while (n < x.length) {
            x[n++] = (float) (r.nextGaussian() * 20);
        }
        return x;
    }

    @Test
    void vectorFormEqualsScalarFormBitForBit() {
        float[] x = inputs();
        int l = Exp.F.length();
        float[] got = new float[l];
        for (int i = 0; i + l <= x.length; i += l) {
            Exp.exp(FloatVector.fromArray(Exp.F, x, i)).intoArray(got, 0);
            for (int j = 0; j < l; j++) {
                assertThat(Float.floatToRawIntBits(got[j])).as("x = %s", x[i + j])
                        .isEqualTo(Float.floatToRawIntBits(Exp.exp(x[i + j])));
            }
        }
    }

    @Test
    void roundsLikeMathExpExceptInRareNearTies() {
        int differ = 0;
        float[] x = inputs();
        for (float v : x) {
            float want = (float) Math.exp(v);
            float got = Exp.exp(v);
            if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(want)) {
                differ++;
                assertThat(Math.abs(got - want)).as("x = %s", v).isLessThanOrEqualTo(Math.ulp(want));
            }
        }
        assertThat(differ).as("of %d inputs", x.length).isLessThanOrEqualTo(2);
        assertThat(Exp.exp(200f)).isInfinite();
        assertThat(Exp.exp(-200f)).isZero();
        assertThat(Exp.exp(0f)).isEqualTo(1f);
    }

    @Test
    void swigluIsTheFormulaAndTheSameForEveryRange() {
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
            assertThat(whole[i]).isEqualTo(g[i] / (1f + (float) Math.exp(-g[i])) * u[i]);
        }
        try (ThreadPool pool = new ThreadPool(3)) {
            float[] split = g.clone();
            Ops.swiglu(split, u, n, pool);
            assertThat(split).containsExactly(whole);
        }
        float[] head = Arrays.copyOfRange(g, 0, 13);
        float[] tail = Arrays.copyOfRange(g, 13, n);
        Ops.swiglu(head, Arrays.copyOfRange(u, 0, 13), 13);
        Ops.swiglu(tail, Arrays.copyOfRange(u, 13, n), n - 13);
        for (int i = 0; i < n; i++) {
            assertThat(i < 13 ? head[i] : tail[i - 13]).isEqualTo(whole[i]);
        }
    }
}
