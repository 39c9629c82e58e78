package dev.argon.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The prompt GEMM against plain loops, for sizes that leave remainders of rows and tokens. */
class GemmTest {
    @Test
    void everyOutputMatchesItsReferenceForAnyBatchSize() {
        Random random = new Random(21);
        int cols = 64;
        // tokens in lanes (any vector width): one in-order FMA chain per output; -Dargon.gemm=dot: the dot form
        boolean tokensInLanes = Simd.ENABLED && !"dot".equals(System.getProperty("argon.gemm"));
        for (int rows : new int[]{1, 5, 6, 7, 13, 32}) {
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) random.nextGaussian();
            }
            Tensor t = Tensor.of(GgmlType.F32, Quantizer.quantize(GgmlType.F32, w), w.length);
            for (int n : new int[]{1, 5, 16, 17, 32, 33, 40}) {
                float[] x = new float[n * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextGaussian();
                }
                float[] out = new float[n * rows];
                try (ThreadPool pool = new ThreadPool(2)) {
                    Gemm.matmul(t, x, out, n, rows, cols, pool);
                }
                for (int tok = 0; tok < n; tok++) {
                    for (int r = 0; r < rows; r++) {
                        float expected = reference(w, r, x, tok, cols);
                        if (!tokensInLanes) {
                            // dot form: Ops.dot's lane order for this lane count, exactly
                            expected = laneOrderReference(w, r, x, tok, cols);
                        }
                        assertThat(out[tok * rows + r]).as("rows %d n %d token %d row %d, %d lanes", rows, n, tok, r, Simd.L)
                                .isEqualTo(expected);
                    }
                }
            }
        }
    }

    /**
     * {@link Ops#dot} of row r and token tok emulated in scalar code for {@link Simd#L} lanes
     * ({@code cols} a multiple of it): lane j is an in-order FMA chain over columns j, j + L, ...,
     * and the lanes are folded as {@link Simd#sum} does.
     */
    private static float laneOrderReference(float[] w, int r, float[] x, int tok, int cols) {
        int lanes = Simd.L;
        float[] acc = new float[lanes];
        for (int c = 0; c < cols; c++) {
            acc[c % lanes] = Math.fma(w[r * cols + c], x[tok * cols + c], acc[c % lanes]);
        }
        return Simd.sumLanes(acc, 0, lanes);
    }

    private static float reference(float[] w, int r, float[] x, int tok, int cols) {
        float acc = 0f;
        for (int c = 0; c < cols; c++) {
            acc = Math.fma(w[r * cols + c], x[tok * cols + c], acc);
        }
        return acc;
    }
}
