package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and reduction kernels on float arrays used by the forward pass: RMSNorm, softmax,
 * SiLU-gated products, RoPE rotation and matrix-vector products over {@link Tensor} weights.
 */
public final class Ops {
    private static final VectorSpecies<Float> S = Simd.F;

    private Ops() {
    }

    /**
     * RMSNorm (Zhang and Sennrich, 2019): {@code out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]}.
     *
     * @param out [n], may alias x
     * @param x [n]
     * @param weight [n]
     */
    public static void rmsNorm(float[] out, float[] x, float[] weight, int n, float eps) {
        float ss = dot(x, 0, x, 0, n);
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, x, i).mul(scale).mul(FloatVector.fromArray(S, weight, i)).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = x[i] * scale * weight[i];
        }
    }

    /** @return the dot product of {@code a[ao..ao+n)} and {@code b[bo..bo+n)} */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        }
        float sum = Simd.sum(acc);
        for (; i < n; i++) {
            sum += a[ao + i] * b[bo + i];
        }
        return sum;
    }

    /** {@code y[yo..yo+n) += a * x[xo..xo+n)} */
    public static void axpy(float[] y, int yo, float a, float[] x, int xo, int n) {
        int i = 0;
        FloatVector va = FloatVector.broadcast(S, a);
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += a * x[xo + i];
        }
    }

    /** {@code x[i] += y[i]} for {@code i < n} */
    public static void add(float[] x, float[] y, int n) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, x, i).add(FloatVector.fromArray(S, y, i)).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] += y[i];
        }
    }

    /** In-place numerically stable softmax of {@code x[off..off+n)}. */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /** SwiGLU gate (Shazeer, 2020): {@code gate[i] = silu(gate[i]) * up[i]}, silu(x) = x / (1 + e^-x). */
    public static void swiglu(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /**
     * Matrix-vector product {@code out[r] = sum_c w[r, c] * x[c]} for a row-major weight matrix
     * {@code w [rows, cols]}, rows split across the pool's threads.
     */
    public static void matvec(Tensor w, float[] x, float[] out, int rows, int cols, ThreadPool pool) {
        pool.parallelFor(rows, (start, end) -> {
            for (int r = start; r < end; r++) {
                out[r] = w.dot((long) r * cols, x, 0, cols);
            }
        });
    }

    /**
     * Matrix-vector product that uses the 8-bit activations {@code xq} (a quantized copy of
     * {@code x}) when the weight type computes on them ({@link Tensor#supportsQ8Activations()}),
     * and the float activations {@code x} otherwise. {@code xq} may be null: then always {@code x}.
     */
    public static void matvec(Tensor w, float[] x, Q8Activations xq, float[] out, int rows, int cols, ThreadPool pool) {
        if (xq == null || !w.supportsQ8Activations() || xq.length() != cols) {
            matvec(w, x, out, rows, cols, pool);
            return;
        }
        pool.parallelFor(rows, (start, end) -> {
            for (int r = start; r < end; r++) {
                out[r] = w.dotQ8((long) r * cols, xq, 0, cols);
            }
        });
    }
}
