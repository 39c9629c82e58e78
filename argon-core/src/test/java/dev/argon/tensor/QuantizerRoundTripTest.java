package dev.argon.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Quantize, dequantize, and check that every element is within its type's quantization error.
 *
 * <p>Tolerances, with {@code A} the largest magnitude, {@code R = max - min} and
 * {@code RK = max(max, 0) - min(min, 0)} of the whole array (each block's own range is no larger):
 * <ul>
 *   <li>F16: {@code |x| * 2^-11} (half an ulp, 11-bit significand) plus {@code 2^-25} for subnormals;
 *       BF16: {@code |x| * 2^-8}.</li>
 *   <li>Q8_0, Q8_K: half a step, {@code 0.5 * A/127}, times 1.01 for the f16 rounding of d.</li>
 *   <li>Q4_0, Q5_0: one step, {@code A/8} and {@code A/16}, times 1.01: the extreme maps to -8 (-16)
 *       so values near the opposite extreme clamp to +7 (+15), as in ggml.</li>
 *   <li>Q4_1, Q5_1: half a step {@code 0.5 * R/15} ({@code R/31}) times 1.01, plus {@code 1e-3 * A}
 *       for the f16 rounding of the minimum.</li>
 *   <li>Q4_K, Q5_K: half a step {@code 0.5 * RK/15} ({@code RK/31}) times 1.05: 6-bit scale and min
 *       codes are rounded up, which widens the step by at most about 2/63.</li>
 *   <li>Q6_K: one step {@code A/32} times 1.02 (8-bit scale codes rounded up; the extreme maps to -32).</li>
 * </ul>
 * The mean error must also stay under 0.6 of that bound, so errors are typical rounding noise.
 */
class QuantizerRoundTripTest {
    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (GgmlType t : TensorTestSupport.TYPES) {
            int n = 4 * 256;
            b.add(Arguments.of(t, "uniform[-1,1)", TensorTestSupport.uniform(11, n, -1f, 1f)));
            b.add(Arguments.of(t, "positive[0.5,2)", TensorTestSupport.uniform(12, n, 0.5f, 2f)));
            b.add(Arguments.of(t, "negative[-3,-0.2)", TensorTestSupport.uniform(13, n, -3f, -0.2f)));
            b.add(Arguments.of(t, "small[-1e-3,1e-3)", TensorTestSupport.uniform(14, n, -1e-3f, 1e-3f)));
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void roundTripWithinTolerance(GgmlType type, String name, float[] values) {
        float[] back = TensorTestSupport.dequantizeAll(TensorTestSupport.tensor(type, values));
        float a = 0f;
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (float v : values) {
            a = Math.max(a, Math.abs(v));
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        float r = max - min;
        float rk = Math.max(max, 0f) - Math.min(min, 0f);
        double sumErr = 0;
        double sumTol = 0;
        for (int i = 0; i < values.length; i++) {
            double tol = switch (type) {
                case F16 -> Math.abs(values[i]) * 0x1p-11 + 0x1p-25;
                case BF16 -> Math.abs(values[i]) * 0x1p-8;
                case Q8_0, Q8_K -> 0.5 * a / 127 * 1.01;
                case Q4_0 -> a / 8 * 1.01;
                case Q5_0 -> a / 16 * 1.01;
                case Q4_1 -> 0.5 * r / 15 * 1.01 + 1e-3 * a;
                case Q5_1 -> 0.5 * r / 31 * 1.01 + 1e-3 * a;
                case Q4_K -> 0.5 * rk / 15 * 1.05;
                case Q5_K -> 0.5 * rk / 31 * 1.05;
                case Q6_K -> a / 32 * 1.02;
                default -> throw new AssertionError(type);
            };
            double err = Math.abs(back[i] - values[i]);
            assertThat(err).as("%s %s element %d: %s -> %s", type, name, i, values[i], back[i]).isLessThanOrEqualTo(tol);
            sumErr += err;
            sumTol += tol;
        }
        assertThat(sumErr).as("%s %s mean error vs mean tolerance", type, name).isLessThanOrEqualTo(0.6 * sumTol);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void zerosStayZero(GgmlType type) {
        float[] back = TensorTestSupport.dequantizeAll(TensorTestSupport.tensor(type, new float[512]));
        assertThat(back).containsOnly(0f);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void getFloatMatchesDequantize(GgmlType type) {
        Tensor t = TensorTestSupport.tensor(type, TensorTestSupport.varied(21, 3 * 256));
        float[] all = TensorTestSupport.dequantizeAll(t);
        for (int i = 0; i < all.length; i++) {
            assertThat(t.getFloat(i)).as("%s element %d", type, i).isEqualTo(all[i]);
        }
        float[] part = new float[256 + 3];
        t.dequantize(256, part, 3, 256);
        for (int i = 0; i < 256; i++) {
            assertThat(part[3 + i]).as("%s dequantize at offset, element %d", type, i).isEqualTo(all[256 + i]);
        }
    }

    static Stream<GgmlType> types() {
        return TensorTestSupport.TYPES.stream();
    }
}
