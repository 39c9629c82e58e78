package dev.argon.model;

import dev.argon.tensor.Ops;
import dev.argon.tensor.Q8Activations;
import dev.argon.tensor.Tensor;
import dev.argon.tensor.ThreadPool;

/**
 * A linear projection {@code y = W x (+ b)} with {@code W [rows, cols]} as stored in GGUF
 * ({@code <name>.weight}, optional {@code <name>.bias}), applied to a batch of activation rows.
 *
 * @param weight the matrix, row-major {@code [rows, cols]}
 * @param bias {@code [rows]}, or null
 * @param rows output width
 * @param cols input width
 */
public record Linear(Tensor weight, float[] bias, int rows, int cols) {
    /**
     * {@code out[t, :] = W x[t, :] + b} for {@code n} rows {@code x [n, cols]}; {@code xq} is an
     * 8-bit copy of {@code x} or null; rows {@code [0, gemmRows)} use the batched
     * prompt arithmetic (see {@link Ops#matmul}).
     */
    public void apply(float[] x, Q8Activations xq, float[] out, int n, int gemmRows, ThreadPool pool) {
        Ops.matmul(weight, x, xq, out, n, gemmRows, rows, cols, pool);
        if (bias != null) {
            for (int t = 0; t < n; t++) {
                int o = t * rows;
                for (int r = 0; r < rows; r++) {
                    out[o + r] += bias[r];
                }
            }
        }
    }
}
