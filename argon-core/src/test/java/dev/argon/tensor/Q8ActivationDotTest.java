package dev.argon.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The 8-bit activation kernels ({@link Tensor#dotQ8}) against their scalar reference, and the quantizer itself. */
class Q8ActivationDotTest {
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0"})
    void vectorKernelMatchesScalarReference(GgmlType type) {
        Random rnd = new Random(7);
        int rows = 3;
        int cols = 32 * 9;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        assertThat(t.supportsQ8Activations()).isTrue();
        float[] x = new float[2 * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * 3;
        }
        Q8Activations q = new Q8Activations(x.length);
        q.quantize(x, x.length);
        for (int r = 0; r < rows; r++) {
            for (int xo : new int[]{0, cols}) {
                for (int n : new int[]{32, 64, cols}) {
                    float fast = t.dotQ8((long) r * cols, q, xo, n);
                    float ref = t.dotQ8Reference((long) r * cols, q, xo, n);
                    // integer block sums are exact in both; only the order of the scaled block sums differs
                    assertThat(fast).as("%s row %d xo %d n %d", type, r, xo, n).isCloseTo(ref, within(1e-4f * Math.max(1f, Math.abs(ref))));
                }
            }
        }
    }

    /**
     * The single-token kernel of this machine's width (16-bit lanes at 4, 8 and 16 float lanes)
     * gives exactly the bits of the float form (every weight widened to a float), which the
     * batched kernels follow: any width, any offset, extreme and random values.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0"})
    void sixteenBitKernelHasTheBitsOfTheFloatForm(GgmlType type) {
        Random rnd = new Random(11);
        int rows = 5;
        int cols = 32 * 24;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = i % 97 == 0 ? 40f : (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        float[] x = new float[3 * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = i % 89 == 0 ? -300f : (float) (rnd.nextGaussian() * 3);
        }
        Q8Activations q = new Q8Activations(x.length);
        q.quantize(x, x.length);
        for (int r = 0; r < rows; r++) {
            for (int xo : new int[]{0, cols, 2 * cols}) {
                for (int n : new int[]{32, 96, cols}) {
                    long wo = (long) r * cols;
                    // where Q4_0 decode runs on row groups, its one-row kernel follows their
                    // block-sum chain instead (RowGroupKernelTest), whose scalar form is exact
                    float floats = type == GgmlType.Q4_0 ? (Q4_0Tensor.GROUPED ? ((Q4_0Tensor) t).dotQ8ChainScalar(wo, q, xo, n)
                            : ((Q4_0Tensor) t).dotQ8Floats(wo, q, xo, n))
                            : (Q8_0Tensor.GROUPED ? ((Q8_0Tensor) t).dotQ8Chain(wo, q, xo, n) : ((Q8_0Tensor) t).dotQ8Floats(wo, q, xo, n));
                    assertThat(Float.floatToRawIntBits(t.dotQ8(wo, q, xo, n)))
                            .as("%s row %d xo %d n %d (%d float lanes)", type, r, xo, n, Simd.L)
                            .isEqualTo(Float.floatToRawIntBits(floats));
                }
            }
        }
    }

    /**
     * The 16-bit block sums of the single-token kernels at their largest: Q8_0 weights of -128
     * against activations of -127 (two products per lane: 32512, just below 2^15) and Q4_0's
     * extreme nibbles (0 = -8 and 15 = +7) against +-127. Each block's exact sum, times the block's
     * scales, is worked out by hand; an overflow would flip signs.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0"})
    void sixteenBitBlockSumsDoNotOverflowAtTheExtremes(GgmlType type) {
        int blocks = 5;
        int n = 32 * blocks;
        boolean q8 = type == GgmlType.Q8_0;
        java.nio.ByteBuffer b = TensorTestSupport.buffer(blocks * (q8 ? 34 : 18));
        float[] x = new float[n];
        double expected = 0;
        for (int k = 0; k < blocks; k++) {
            b.putShort((short) 0x3C00); // d = 1
            long sum = 0;
            for (int j = 0; j < (q8 ? 32 : 16); j++) {
                if (q8) {
                    b.put((byte) -128);
                } else {
                    // even blocks: both nibbles 0 (-8); odd blocks: low 15 (+7), high 0 (-8)
                    b.put((byte) (k % 2 == 0 ? 0x00 : 0x0F));
                }
            }
            for (int j = 0; j < 32; j++) {
                // activations +-1: quantized to +-127 with d = f16(1/127)
                float v = (k % 2 == 0 || j < 16) ? -1f : 1f;
                x[k * 32 + j] = v;
                int w = q8 ? -128 : (k % 2 == 0 ? -8 : (j < 16 ? 7 : -8));
                sum += (long) w * (long) (v < 0 ? -127 : 127);
            }
            expected += sum * (double) Float.float16ToFloat(Float.floatToFloat16(1f / 127f));
        }
        Tensor t = TensorTestSupport.tensor(type, b, n);
        Q8Activations q = new Q8Activations(n);
        q.quantize(x, n);
        assertThat(q.get(0)).isEqualTo(-127 * Float.float16ToFloat(Float.floatToFloat16(1f / 127f)));
        assertThat((double) t.dotQ8(0, q, 0, n)).isCloseTo(expected, within(1e-5 * Math.abs(expected)));
        assertThat((double) t.dotQ8Reference(0, q, 0, n)).isCloseTo(expected, within(1e-5 * Math.abs(expected)));
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void multiTokenKernelIsBitIdenticalToOneDotPerToken(GgmlType type) {
        Random rnd = new Random(11);
        int rows = 5;
        int cols = 256 * 2;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        if (!t.supportsQ8Activations()) {
            return; // only types with an 8-bit activation kernel have the multi-token form
        }
        for (int tokens : new int[]{1, 3, 4, 7, 9}) {
            float[] x = new float[tokens * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian() * 2;
            }
            Q8Activations q = new Q8Activations(x.length);
            q.quantize(x, x.length);
            float[] out = new float[tokens * rows];
            for (int r = 0; r < rows; r++) {
                t.dotQ8Tokens((long) r * cols, q, 0, cols, tokens, cols, out, r, rows);
                for (int k = 0; k < tokens; k++) {
                    // exactly equal, bit for bit: a token's result must not depend on its batch
                    assertThat(out[k * rows + r]).as("%s row %d token %d of %d", type, r, k, tokens)
                            .isEqualTo(t.dotQ8((long) r * cols, q, k * cols, cols));
                }
            }
        }
    }

    @Test
    void quantizationFollowsQ8_0() {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) {
            x[i] = (i - 16) * 0.25f;
        }
        Q8Activations q = new Q8Activations(32);
        q.quantize(x, 32);
        float d = Float.float16ToFloat(Float.floatToFloat16(4f / 127f)); // max |x| = 4
        for (int i = 0; i < 32; i++) {
            assertThat(q.get(i)).isCloseTo(d * (float) Math.rint(x[i] * 127f / 4f), within(1e-6f)); // ties to even, as ggml's AVX path
            assertThat(Math.abs(q.get(i) - x[i])).isLessThanOrEqualTo(d / 2 + 1e-3f);
        }
    }
}
