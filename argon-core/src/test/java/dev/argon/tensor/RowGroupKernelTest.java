package dev.argon.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The row-group decode kernels (Q4_0, Q8_0, Q4_K, Q6_K) (4- and 8-lane machines: rows interleaved in groups, one float
 * lane per row) gives every row and token exactly the bits of one {@link Tensor#dotQ8} call, for
 * any thread count and batch, and equals ggml's block formula up to float rounding. On other
 * widths, or with {@code -Dargon.repack=false}, the same assertions hold for the one-row kernels.
 */
class RowGroupKernelTest {
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0", "Q4_K", "Q6_K", "Q5_0"})
    void matmulRowsEqualOneDotPerRowAndTokenAtEveryThreadCount(GgmlType type) {
        // Q5_0 computes on 8-bit activations only where row groups are on (4 and 8 lanes)
        org.junit.jupiter.api.Assumptions.assumeTrue(type != GgmlType.Q5_0 || RowGroups.ENABLED,
                "Q5_0 keeps float activations at " + Simd.L + " lanes");
        Random rnd = new Random(3);
        int[] lengths = type.blockSize() == 32 ? new int[]{32, 96, 256} : new int[]{256, 512};
        for (int cols : lengths) {
            for (int rows : new int[]{1, 7, 8, 19, 40}) {
                float[] w = new float[rows * cols];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(3) - 1));
                }
                Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
                for (int tokens : new int[]{1, 2, 4, 5, 7}) {
                    float[] x = new float[tokens * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = i % 53 == 0 ? -200f : (float) rnd.nextGaussian();
                    }
                    Q8Activations q = new Q8Activations(x.length);
                    q.quantize(x, x.length);
                    float[] one = new float[tokens * rows];
                    float[] two = new float[tokens * rows];
                    Ops.matmul(t, x, q, one, tokens, 0, rows, cols, ThreadPool.CALLER_ONLY);
                    ThreadPool pool = new ThreadPool(3);
                    try {
                        Ops.matmul(t, x, q, two, tokens, 0, rows, cols, pool);
                    } finally {
                        pool.close();
                    }
                    for (int k = 0; k < tokens; k++) {
                        for (int r = 0; r < rows; r++) {
                            float single = t.dotQ8((long) r * cols, q, k * cols, cols);
                            String at = String.format("%s %d cols, row %d of %d, token %d of %d (%d lanes, groups %s)",
                                    type, cols, r, rows, k, tokens, Simd.L, RowGroups.ENABLED);
                            assertThat(Float.floatToRawIntBits(one[k * rows + r])).as(at).isEqualTo(Float.floatToRawIntBits(single));
                            assertThat(Float.floatToRawIntBits(two[k * rows + r])).as(at).isEqualTo(Float.floatToRawIntBits(single));
                            float ref = t.dotQ8Reference((long) r * cols, q, k * cols, cols);
                            // float rounding grows with the terms' magnitudes, not the (possibly cancelling) result
                            float[] wr = new float[cols];
                            t.dequantize((long) r * cols, wr, 0, cols);
                            double magnitude = 0;
                            for (int i = 0; i < cols; i++) {
                                magnitude += Math.abs((double) wr[i] * q.dequantized()[k * cols + i]);
                            }
                            assertThat(single).as(at).isCloseTo(ref, within((float) (1e-4 * (1 + Math.abs(ref)) + 1e-5 * magnitude)));
                        }
                    }
                }
            }
        }
    }

    /**
     * The 16-bit lanes at their largest: every nibble 15 (+7) or 0 (-8) against activations of
     * +-127, in a whole group; the exact sums are worked out here, an overflow would flip signs.
     */
    @Test
    void extremeNibblesDoNotOverflowTheGroupLanes() {
        int rows = 16;
        int cols = 64;
        java.nio.ByteBuffer b = TensorTestSupport.buffer(rows * 2 * 18);
        float[] x = new float[cols];
        for (int j = 0; j < cols; j++) {
            x[j] = j % 3 == 0 ? -1f : 1f;
        }
        float d = Float.float16ToFloat(Float.floatToFloat16(1f / 127f));
        double[] expected = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int blk = 0; blk < 2; blk++) {
                b.putShort((short) 0x3C00); // d = 1
                byte v = (byte) ((r + blk) % 3 == 0 ? 0xFF : (r + blk) % 3 == 1 ? 0x00 : 0xF0);
                long sum = 0;
                for (int j = 0; j < 16; j++) {
                    b.put(v);
                }
                for (int j = 0; j < 32; j++) {
                    int nib = j < 16 ? v & 0xF : (v >> 4) & 0xF;
                    sum += (long) (nib - 8) * (x[blk * 32 + j] < 0 ? -127 : 127);
                }
                expected[r] += sum * (double) d;
            }
        }
        Tensor t = TensorTestSupport.tensor(GgmlType.Q4_0, b, rows * cols);
        Q8Activations q = new Q8Activations(cols);
        q.quantize(x, cols);
        float[] out = new float[rows];
        Ops.matmul(t, x, q, out, 1, 0, rows, cols, ThreadPool.CALLER_ONLY);
        for (int r = 0; r < rows; r++) {
            assertThat((double) out[r]).as("row %d", r).isCloseTo(expected[r], within(1e-5 * Math.abs(expected[r]) + 1e-6));
        }
    }
}
