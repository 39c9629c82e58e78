package dev.argon.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Tensor#dotQ8Rows} (several weight rows and tokens per pass, as batched decode runs it)
 * must give every row and token exactly the bits of one {@link Tensor#dotQ8} call: a sequence's
 * logits may not depend on how many others share its batch.
 */
class MultiRowKernelTest {
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void everyRowAndTokenEqualsItsSingleDotBitForBit(GgmlType type) {
        Random rnd = new Random(21);
        int block = type.blockSize();
        for (int cols : new int[]{block, 2 * block, 3 * block, 18 * block}) {
            if (cols % Q8Activations.BLOCK != 0) {
                continue;
            }
            for (int rows : new int[]{1, 2, 3, 8}) {
                float[] w = new float[rows * cols];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) rnd.nextGaussian();
                }
                Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
                if (!t.supportsQ8Activations()) {
                    return;
                }
                for (int tokens : new int[]{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
                    int skip = 2; // activation rows before the decode rows (prompt rows of a batch)
                    float[] x = new float[(skip + tokens) * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(4) - 2));
                    }
                    Q8Activations q = new Q8Activations(x.length);
                    q.quantize(x, x.length);
                    int outStride = rows + 3;
                    float[] out = new float[(tokens + 1) * outStride];
                    t.dotQ8Rows(0, rows, q, skip * cols, cols, tokens, cols, out, 1, outStride);
                    for (int r = 0; r < rows; r++) {
                        for (int k = 0; k < tokens; k++) {
                            float single = t.dotQ8((long) r * cols, q, (skip + k) * cols, cols);
                            assertThat(Float.floatToRawIntBits(out[1 + r + k * outStride]))
                                    .as("%s %d cols, row %d of %d, token %d of %d", type, cols, r, rows, k, tokens)
                                    .isEqualTo(Float.floatToRawIntBits(single));
                        }
                    }
                }
            }
        }
    }

    /**
     * {@link Tensor#dotRows} (the F32-activation path of batched decode) gives every row and token
     * the bits of one {@link Tensor#dot}, for lengths that are not a multiple of the vector width,
     * small and large activations (F16 scales them by 2^90 internally), and F16 weights holding an
     * infinity or NaN (where F16 falls back to its exact kernel).
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_K"})
    void dotRowsEqualsOneDotPerRowAndTokenBitForBit(GgmlType type) {
        Random rnd = new Random(5);
        int block = type.blockSize();
        for (int cols : new int[]{block, 3 * block, 7 * block + (block == 1 ? 5 : 0), 64 * block + (block == 1 ? 9 : 0)}) {
            for (int special = 0; special < (type == GgmlType.F16 ? 3 : 1); special++) {
                int rows = 5;
                float[] w = new float[rows * cols];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(5) - 3));
                }
                if (special == 1) {
                    w[rows * cols / 2] = Float.POSITIVE_INFINITY;
                } else if (special == 2) {
                    w[cols + 1] = 1e-7f; // an F16 subnormal
                    w[cols + 2] = -6e-8f;
                }
                Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
                for (int tokens : new int[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 13}) {
                    float[] x = new float[(2 + tokens) * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 4));
                    }
                    if (tokens == 9) {
                        x[3 * cols] = 3e11f; // beyond F16's scaled range: exact kernel
                    }
                    int outStride = rows + 3;
                    float[] out = new float[(tokens + 1) * outStride];
                    t.dotRows(0, rows, x, 2 * cols, cols, tokens, cols, out, 1, outStride);
                    for (int r = 0; r < rows; r++) {
                        for (int k = 0; k < tokens; k++) {
                            float single = t.dot((long) r * cols, x, (2 + k) * cols, cols);
                            assertThat(Float.floatToRawIntBits(out[1 + r + k * outStride]))
                                    .as("%s %d cols, special %d, row %d, token %d of %d", type, cols, special, r, k, tokens)
                                    .isEqualTo(Float.floatToRawIntBits(single));
                        }
                    }
                }
            }
        }
    }
}
