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

    /**
     * Dot products of one vector with {@code count} rows: {@code out[oo + p] = dot(a[ao..ao+n),
     * b[bo + p * stride ..))} for {@code p < count}, the same bits as {@link #dot} per row. Rows
     * shorter than a vector (4-wide attention heads) are done four at a time, so that four add
     * chains run side by side.
     */
    public static void dots(float[] a, int ao, float[] b, int bo, int stride, int count, int n, float[] out, int oo) {
        int p = 0;
        if (n < S.length()) {
            for (; p + 4 <= count; p += 4) {
                int b0 = bo + p * stride;
                int b1 = b0 + stride;
                int b2 = b1 + stride;
                int b3 = b2 + stride;
                float s0 = 0f;
                float s1 = 0f;
                float s2 = 0f;
                float s3 = 0f;
                for (int i = 0; i < n; i++) {
                    float ai = a[ao + i];
                    s0 += ai * b[b0 + i];
                    s1 += ai * b[b1 + i];
                    s2 += ai * b[b2 + i];
                    s3 += ai * b[b3 + i];
                }
                out[oo + p] = s0;
                out[oo + p + 1] = s1;
                out[oo + p + 2] = s2;
                out[oo + p + 3] = s3;
            }
        } else if (S.length() == 16 && n % 16 == 0 && count >= 4) {
            // four rows at a time: four FMA chains side by side and one transposed fold of the
            // four accumulators, each bit-identical to dot()'s Simd.sum (a 64-wide head: 4 vectors)
            java.lang.foreign.MemorySegment lanes = Simd.laneSegment();
            java.nio.ByteOrder no = java.nio.ByteOrder.nativeOrder();
            for (; p + 4 <= count; p += 4) {
                int b0 = bo + p * stride;
                int b1 = b0 + stride;
                int b2 = b1 + stride;
                int b3 = b2 + stride;
                FloatVector s0 = FloatVector.zero(S);
                FloatVector s1 = FloatVector.zero(S);
                FloatVector s2 = FloatVector.zero(S);
                FloatVector s3 = FloatVector.zero(S);
                for (int i = 0; i < n; i += 16) {
                    FloatVector ai = FloatVector.fromArray(S, a, ao + i);
                    s0 = ai.fma(FloatVector.fromArray(S, b, b0 + i), s0);
                    s1 = ai.fma(FloatVector.fromArray(S, b, b1 + i), s1);
                    s2 = ai.fma(FloatVector.fromArray(S, b, b2 + i), s2);
                    s3 = ai.fma(FloatVector.fromArray(S, b, b3 + i), s3);
                }
                s0.intoMemorySegment(lanes, 0, no);
                s1.intoMemorySegment(lanes, 64, no);
                s2.intoMemorySegment(lanes, 128, no);
                s3.intoMemorySegment(lanes, 192, no);
                Simd.sumLanes16x4(lanes, 0, out, oo + p, 1);
            }
        }
        for (; p < count; p++) {
            out[oo + p] = dot(a, ao, b, bo + p * stride, n);
        }
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

    /**
     * Weighted sum of {@code count} rows: {@code out[oo + d] = sum over p < count of
     * w[wo + p] * x[xo + p * stride + d]} for {@code d < n}, summed in order of {@code p} (the same
     * bits as zeroing {@code out} and calling {@link #axpy} once per row). Rows shorter than a
     * vector (the 4-wide attention heads of small models) keep each output in a register instead
     * of storing and reloading it once per row.
     */
    public static void weightedSum(float[] out, int oo, float[] w, int wo, float[] x, int xo, int stride, int count, int n) {
        if (n < S.length()) {
            int d = 0;
            for (; d + 4 <= n; d += 4) {
                // four outputs at once: four independent add chains, each in the order of p
                float a0 = 0f;
                float a1 = 0f;
                float a2 = 0f;
                float a3 = 0f;
                for (int p = 0, at = xo + d; p < count; p++, at += stride) {
                    float wp = w[wo + p];
                    a0 += wp * x[at];
                    a1 += wp * x[at + 1];
                    a2 += wp * x[at + 2];
                    a3 += wp * x[at + 3];
                }
                out[oo + d] = a0;
                out[oo + d + 1] = a1;
                out[oo + d + 2] = a2;
                out[oo + d + 3] = a3;
            }
            for (; d < n; d++) {
                float acc = 0f;
                for (int p = 0, at = xo + d; p < count; p++, at += stride) {
                    acc += w[wo + p] * x[at];
                }
                out[oo + d] = acc;
            }
            return;
        }
        int vectors = S.loopBound(n);
        int d = 0;
        for (; d + 4 * S.length() <= vectors; d += 4 * S.length()) {
            // four vectors of outputs kept in registers over all rows: the fma of axpy, per element
            int l = S.length();
            FloatVector y0 = FloatVector.zero(S);
            FloatVector y1 = FloatVector.zero(S);
            FloatVector y2 = FloatVector.zero(S);
            FloatVector y3 = FloatVector.zero(S);
            for (int p = 0, at = xo + d; p < count; p++, at += stride) {
                FloatVector wp = FloatVector.broadcast(S, w[wo + p]);
                y0 = FloatVector.fromArray(S, x, at).fma(wp, y0);
                y1 = FloatVector.fromArray(S, x, at + l).fma(wp, y1);
                y2 = FloatVector.fromArray(S, x, at + 2 * l).fma(wp, y2);
                y3 = FloatVector.fromArray(S, x, at + 3 * l).fma(wp, y3);
            }
            y0.intoArray(out, oo + d);
            y1.intoArray(out, oo + d + l);
            y2.intoArray(out, oo + d + 2 * l);
            y3.intoArray(out, oo + d + 3 * l);
        }
        java.util.Arrays.fill(out, oo + d, oo + n, 0f);
        for (int p = 0; p < count; p++) {
            axpy(out, oo + d, w[wo + p], x, xo + p * stride + d, n - d);
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

    /**
     * {@code g / (1 + e^-g) * up} with {@link Exp} (double-precision e^x rounded to float: the bits
     * of {@code (float) Math.exp} but for rare near-ties, several per instruction). Its vector and
     * scalar forms give the same bits, so an element's result does not depend on where a range
     * starts or ends (batch invariance).
     */
    private static void swiglu(float[] gate, float[] up, int start, int end) {
        int i = start;
        if (Simd.ENABLED) {
            VectorSpecies<Float> f = Exp.F;
            for (int upper = start + f.loopBound(end - start); i < upper; i += f.length()) {
                FloatVector g = FloatVector.fromArray(f, gate, i);
                g.div(Exp.exp(g.neg()).add(1f)).mul(FloatVector.fromArray(f, up, i)).intoArray(gate, i);
            }
        }
        for (; i < end; i++) {
            float g = gate[i];
            gate[i] = g / (1f + Exp.exp(-g)) * up[i];
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
        int group = q8 ? w.q8RowGroup(cols, pool) : 1;
        if (group > 1) {
            // threads split at whole groups: a row's kernel, and so its bits, never depends on the split
            pool.parallelFor((rows + group - 1) / group, (long) rows * cols * tokens, (gs, ge) -> {
                int start = gs * group;
                int end = Math.min(rows, ge * group);
                w.dotQ8Rows((long) start * cols, end - start, xq, xo, cols, tokens, cols, out, oo + start, rows);
            });
            return;
        }
        pool.parallelFor(rows, (long) rows * cols * tokens, (start, end) -> {
            if (q8) {
                w.dotQ8Rows((long) start * cols, end - start, xq, xo, cols, tokens, cols, out, oo + start, rows);
                return;
            }
            w.dotRows((long) start * cols, end - start, x, xo, cols, tokens, cols, out, oo + start, rows);
        });
    }
}
