package dev.argon.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The 8-bit activation kernels of the K-quants ({@link Tensor#dotQ8} of Q4_K, Q5_K, Q6_K: the
 * Vector API kernel of the running JVM's vector width, and the integer scalar kernel) against
 * {@link Tensor#dotQ8Reference} (dequantized weights times the activation integers, scaled per
 * block). Tolerance: {@code 1e-4 * sum_i |w_i * x_i| + 1e-6} with {@code x} the dequantized
 * activations; the kernels sum exact integers per sub-block, so they differ from the reference
 * only in the rounding of the scale products and in the summation order.
 *
 * <p>Run with {@code -Dargon.simd=256}, {@code 128} or {@code off} to check the other kernels.
 */
class KQuantQ8DotTest {
    private static final int[] LENGTHS = {256, 512, 2048, 4096};

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void kernelsMatchReferenceOnQuantizedRows(GgmlType type) {
        Random rnd = new Random(17 + type.id());
        int total = 4096 + 5 * 256;
        float[] w = new float[total];
        for (int i = 0; i < total; i++) {
            w[i] = (float) rnd.nextGaussian() * (i % 512 < 256 ? 1f : 0.05f);
        }
        check(Tensor.of(type, Quantizer.quantize(type, w), total), total, rnd);
    }

    /** Random bytes: every bit pattern of quants, high bits, 6-bit and 8-bit scale codes. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void kernelsMatchReferenceOnRandomBytes(GgmlType type) {
        Random rnd = new Random(29 + type.id());
        int total = 4096 + 5 * 256;
        byte[] bytes = new byte[(int) type.bytesFor(total)];
        rnd.nextBytes(bytes);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        for (long bo = 0; bo < bytes.length; bo += type.blockBytes()) {
            if (type == GgmlType.Q6_K) {
                seg.set(Le.SHORT, bo + 208, Float.floatToFloat16((float) rnd.nextGaussian() * 0.01f));
            } else {
                seg.set(Le.SHORT, bo, Float.floatToFloat16((float) rnd.nextGaussian() * 0.01f));
                seg.set(Le.SHORT, bo + 2, Float.floatToFloat16((float) rnd.nextGaussian() * 0.01f));
            }
        }
        check(Tensor.of(type, seg, total), total, rnd);
    }

    /**
     * Every row length at super-block offsets 0, 1, 3 and 5 of the weights, against activations
     * at block offsets 0, 3 (odd multiple of 32) and 8 (a super-block).
     */
    private static void check(Tensor t, int total, Random rnd) {
        assertThat(t.supportsQ8Activations()).isTrue();
        float[] w = TensorTestSupport.dequantizeAll(t);
        int xLen = total + 8 * 32;
        float[] xf = new float[xLen];
        for (int i = 0; i < xLen; i++) {
            // varying magnitude per block, some all-zero blocks (scale 0)
            xf[i] = i / 32 % 7 == 6 ? 0f : (float) rnd.nextGaussian() * (1 + i / 32 % 5);
        }
        Q8Activations x = new Q8Activations(xLen);
        x.quantize(xf, xLen);
        int cases = 0;
        for (int n : LENGTHS) {
            for (int sb : new int[]{0, 1, 3, 5}) {
                long offset = 256L * sb;
                if (offset + n > total) {
                    continue;
                }
                for (int xOffset : new int[]{0, 3 * 32, 8 * 32}) {
                    float ref = t.dotQ8Reference(offset, x, xOffset, n);
                    float abs = 0f;
                    for (int i = 0; i < n; i++) {
                        abs += Math.abs(w[(int) offset + i] * x.get(xOffset + i));
                    }
                    float tol = 1e-4f * abs + 1e-6f;
                    String what = String.format("%s n %d offset %d xOffset %d", t.type(), n, offset, xOffset);
                    assertThat(t.dotQ8(offset, x, xOffset, n)).as("dotQ8 " + what).isCloseTo(ref, within(tol));
                    assertThat(scalar(t, offset, x, xOffset, n)).as("dotQ8Scalar " + what).isCloseTo(ref, within(tol));
                    cases++;
                }
            }
        }
        assertThat(cases).isGreaterThan(20);
    }

    /**
     * The same call keeps giving the same bits from the first (interpreted) call through the
     * JIT-compiled kernels: the kernels use no reduction whose order depends on the tier. Also
     * {@link Tensor#dotQ8Tokens} for five tokens (a four-token kernel where the type has one, plus
     * one single dot) gives exactly the first single-token results at every tier. Enough calls to
     * reach C2 in the default tiered set-up, so the compiled kernels are also checked against the
     * reference.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void compiledKernelsGiveTheBitsOfTheFirstCall(GgmlType type) {
        Random rnd = new Random(5 + type.id());
        int n = 1024;
        int tokens = 5;
        float[] w = new float[n];
        float[] xf = new float[tokens * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < xf.length; i++) {
            xf[i] = (float) rnd.nextGaussian();
        }
        Tensor t = Tensor.of(type, Quantizer.quantize(type, w), w.length);
        Q8Activations x = new Q8Activations(xf.length);
        x.quantize(xf, xf.length);
        int[] first = new int[tokens];
        for (int k = 0; k < tokens; k++) {
            float r = t.dotQ8(0, x, k * n, n);
            first[k] = Float.floatToRawIntBits(r);
            float ref = t.dotQ8Reference(0, x, k * n, n);
            assertThat(r).isCloseTo(ref, within(1e-4f * Math.abs(ref) + 1e-3f));
        }
        float[] out = new float[tokens];
        for (int i = 0; i < 20_000; i++) {
            int k = i % tokens;
            if (Float.floatToRawIntBits(t.dotQ8(0, x, k * n, n)) != first[k]) {
                throw new AssertionError(type + " call " + i + ": dotQ8 of token " + k + " changed");
            }
            if (i % 4 == 0) {
                t.dotQ8Tokens(0, x, 0, n, tokens, n, out, 0, 1);
                for (int j = 0; j < tokens; j++) {
                    if (Float.floatToRawIntBits(out[j]) != first[j]) {
                        throw new AssertionError(type + " call " + i + ": dotQ8Tokens token " + j + ": " + out[j]
                                + " != " + Float.intBitsToFloat(first[j]));
                    }
                }
            }
        }
    }

    private static float scalar(Tensor t, long offset, Q8Activations x, int xOffset, int n) {
        return switch (t) {
            case Q4_KTensor q -> q.dotQ8Scalar(offset, x, xOffset, n);
            case Q5_KTensor q -> q.dotQ8Scalar(offset, x, xOffset, n);
            case Q6_KTensor q -> q.dotQ8Scalar(offset, x, xOffset, n);
            default -> throw new AssertionError(t.type());
        };
    }

    /** A hand-built Q4_K super-block with known integers: the kernel reproduces ggml's formula exactly. */
    @Test
    void q4KFollowsGgmlFormulaOnHandBuiltBlock() {
        // d = 0.5, dmin = 0.25, sc_j = j + 1, m_j = 2j, q = (i * 7) % 16
        byte[] b = new byte[144];
        MemorySegment seg = MemorySegment.ofArray(b);
        seg.set(Le.SHORT, 0, Float.floatToFloat16(0.5f));
        seg.set(Le.SHORT, 2, Float.floatToFloat16(0.25f));
        int[] sc = new int[8];
        int[] m = new int[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = j + 1;
            m[j] = 2 * j;
        }
        KScales.pack(sc, m, b, 4);
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) {
            q[i] = (i * 7) % 16;
        }
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                b[16 + 32 * c + l] = (byte) (q[64 * c + l] | q[64 * c + 32 + l] << 4);
            }
        }
        Tensor t = Tensor.of(GgmlType.Q4_K, seg, 256);
        // activations whose quantization is exact: per block max |x| = 127 gives d_x = 1
        float[] xf = new float[256];
        for (int i = 0; i < 256; i++) {
            xf[i] = i % 32 == 0 ? 127f : (i * 13) % 61 - 30;
        }
        Q8Activations x = new Q8Activations(256);
        x.quantize(xf, 256);
        double expected = 0;
        for (int j = 0; j < 8; j++) {
            long dot = 0;
            long sum = 0;
            for (int i = 32 * j; i < 32 * j + 32; i++) {
                dot += (long) q[i] * (int) xf[i];
                sum += (int) xf[i];
            }
            expected += 0.5 * sc[j] * dot - 0.25 * m[j] * sum;
        }
        // every product and partial sum here is exact in float
        assertThat(t.dotQ8(0, x, 0, 256)).isEqualTo((float) expected);
        assertThat(((Q4_KTensor) t).dotQ8Scalar(0, x, 0, 256)).isEqualTo((float) expected);
    }

    @Test
    void activationBlockSumsAreTheIntegerSums() {
        Random rnd = new Random(3);
        float[] xf = new float[256];
        for (int i = 0; i < xf.length; i++) {
            xf[i] = (float) rnd.nextGaussian();
        }
        Q8Activations x = new Q8Activations(256);
        x.quantize(xf, 256);
        for (int b = 0; b < 8; b++) {
            int s = 0;
            for (int i = 0; i < 32; i++) {
                s += x.q[32 * b + i];
            }
            assertThat(x.sum[b]).isEqualTo((float) s);
        }
    }
}
