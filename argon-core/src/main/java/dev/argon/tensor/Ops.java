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
     * RMSNorm (Zhang and Sennrich, 2019) of {@code n} rows of width {@code width}:
     * {@code out[t, i] = x[t, i] / sqrt(mean(x[t, :]^2) + eps) * weight[i]}; {@code out} may alias {@code x}.
     */
    public static void rmsNorm(float[] out, float[] x, float[] weight, int n, int width, float eps) {
        for (int t = 0; t < n; t++) {
            rmsNorm(out, t * width, x, t * width, weight, width, eps);
        }
    }

    /** RMSNorm of one row: {@code out[oo..oo+n) = x[xo..xo+n) / sqrt(mean(x^2) + eps) * weight}. */
    public static void rmsNorm(float[] out, int oo, float[] x, int xo, float[] weight, int n, float eps) {
        float ss = dot(x, xo, x, xo, n);
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromArray(S, x, xo + i).mul(scale).mul(FloatVector.fromArray(S, weight, i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = x[xo + i] * scale * weight[i];
        }
    }

    /** @return the dot product of {@code a[ao..ao+n)} and {@code b[bo..bo+n)} */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        if (n < S.length()) {
            // short rows (attention heads of small models): no vector to fold; the same bits as
            // the loop below, whose vector part would contribute an exact 0
            float sum = 0f;
            for (int i = 0; i < n; i++) {
                sum += a[ao + i] * b[bo + i];
            }
            return sum;
        }
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
        swiglu(gate, up, 0, n);
    }

    /**
     * {@link #swiglu(float[], float[], int)} split across the pool's threads when {@code n} is
     * large enough to pay for it (batched decode: {@code n = tokens * ff}); the same results.
     */
    public static void swiglu(float[] gate, float[] up, int n, ThreadPool pool) {
        if (n < 1024 || pool.threads() == 1) {
            swiglu(gate, up, 0, n);
            return;
        }
        pool.parallelFor(n, (start, end) -> swiglu(gate, up, start, end));
    }

    private static void swiglu(float[] gate, float[] up, int start, int end) {
        for (int i = start; i < end; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /**
     * Matrix product for {@code n} activation rows: {@code out[t, r] = sum_c w[r, c] * x[t, c]},
     * with {@code x [n, cols]} and {@code out [n, rows]} row-major, weight rows split across the
     * pool's threads. Uses the 8-bit activations {@code xq} (a quantized copy of {@code x}, or
     * null) when the weight type computes on them.
     *
     * <p>Two arithmetics, chosen per activation row so that a row's result never depends on which
     * rows share the call (batch invariance: a sequence's output is the same alone or batched):
     * <ul>
     *   <li>rows {@code [0, gemmRows)} (prompt tokens) go through {@link Gemm}, which dequantizes
     *       each weight tile once for all of them (the 8-bit activations then enter as their
     *       dequantized values, equal to ggml's integer block sums up to float rounding);</li>
     *   <li>rows {@code [gemmRows, n)} (generated tokens) use the type's dot kernels
     *       ({@link Tensor#dotQ8Tokens}, several tokens per pass over a weight row, results
     *       identical to one dot product per token).</li>
     * </ul>
     */
    public static void matmul(Tensor w, float[] x, Q8Activations xq, float[] out, int n, int gemmRows, int rows, int cols,
                              ThreadPool pool) {
        boolean q8 = xq != null && w.supportsQ8Activations() && xq.length() == n * cols;
        if (gemmRows > 0) {
            Gemm.matmul(w, q8 ? xq.dequantized() : x, out, gemmRows, rows, cols, pool);
        }
        int tokens = n - gemmRows;
        if (tokens <= 0) {
            return;
        }
        int xo = gemmRows * cols;
        int oo = gemmRows * rows;
        pool.parallelFor(rows, (start, end) -> {
            if (q8) {
                w.dotQ8Rows((long) start * cols, end - start, xq, xo, cols, tokens, cols, out, oo + start, rows);
                return;
            }
            for (int r = start; r < end; r++) {
                long wo = (long) r * cols;
                for (int t = 0; t < tokens; t++) {
                    out[oo + t * rows + r] = w.dot(wo, x, xo + t * cols, cols);
                }
            }
        });
    }
}
