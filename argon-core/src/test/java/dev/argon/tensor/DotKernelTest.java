package dev.argon.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The fast {@link Tensor#dot} (Vector API) and the scalar fallback agree with
 * {@link Tensor#dotReference} within {@code 1e-4 * sum|w*x| + 1e-6} (float rounding differs only in
 * summation order and in where block scales are applied). Plain float types use lengths that are
 * not multiples of the vector width; quantized types use 1..5 blocks at block offsets 0..3.
 */
class DotKernelTest {
    private static final int[] FLOAT_LENGTHS = {1, 7, 15, 16, 17, 63, 172, 1000};

    static Stream<GgmlType> types() {
        return Stream.concat(Stream.of(GgmlType.F32), TensorTestSupport.TYPES.stream());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void dotMatchesReferenceOnQuantizedData(GgmlType type) {
        int bs = Math.max(type.blockSize(), 32);
        int total = 8 * bs + (type.quantized() ? 0 : 1000);
        check(TensorTestSupport.tensor(type, TensorTestSupport.varied(31 + type.id(), total)), total);
    }

    /** Random bytes (all bit patterns of quants, scale codes, high bits) with finite block scales. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void dotMatchesReferenceOnRandomBytes(GgmlType type) {
        int bs = Math.max(type.blockSize(), 32);
        int total = 8 * bs + (type.quantized() ? 0 : 1000);
        byte[] bytes = new byte[(int) type.bytesFor(total)];
        Random r = new Random(41 + type.id());
        r.nextBytes(bytes);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        int blockBytes = type.blockBytes();
        for (long bo = 0; bo < bytes.length; bo += blockBytes) {
            switch (type) {
                case F32 -> seg.set(Le.FLOAT, bo, (float) r.nextGaussian());
                case F16 -> seg.set(Le.SHORT, bo, Float.floatToFloat16((float) r.nextGaussian()));
                case BF16 -> seg.set(Le.SHORT, bo, Quantizer.bf16((float) r.nextGaussian()));
                case Q8_0, Q4_0, Q5_0 -> seg.set(Le.SHORT, bo, Float.floatToFloat16((float) r.nextGaussian() * 0.01f));
                case Q4_1, Q5_1, Q4_K, Q5_K -> {
                    seg.set(Le.SHORT, bo, Float.floatToFloat16((float) r.nextGaussian() * 0.01f));
                    seg.set(Le.SHORT, bo + 2, Float.floatToFloat16((float) r.nextGaussian() * 0.01f));
                }
                case Q6_K -> seg.set(Le.SHORT, bo + 208, Float.floatToFloat16((float) r.nextGaussian() * 0.01f));
                case Q8_K -> seg.set(Le.FLOAT, bo, (float) r.nextGaussian() * 0.01f);
                default -> throw new AssertionError(type);
            }
        }
        check(Tensor.of(type, seg, total), total);
    }

    private static void check(Tensor t, int total) {
        GgmlType type = t.type();
        Random r = new Random(7);
        float[] x = new float[total + 8];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] w = TensorTestSupport.dequantizeAll(t);
        int cases = 0;
        if (type.quantized()) {
            int bs = type.blockSize();
            for (int start = 0; start < 4; start++) {
                for (int blocks = 1; blocks <= 5 && start + blocks <= total / bs; blocks++) {
                    for (int xOff : new int[] {0, 3}) {
                        check(t, w, (long) start * bs, x, xOff, blocks * bs);
                        cases++;
                    }
                }
            }
        } else {
            for (int n : FLOAT_LENGTHS) {
                for (int off : new int[] {0, 3, 17}) {
                    for (int xOff : new int[] {0, 5}) {
                        check(t, w, off, x, xOff, n);
                        cases++;
                    }
                }
            }
        }
        assertThat(cases).isGreaterThan(10);
    }

    private static void check(Tensor t, float[] w, long offset, float[] x, int xOffset, int n) {
        double mag = 0;
        for (int i = 0; i < n; i++) {
            mag += Math.abs((double) w[(int) offset + i] * x[xOffset + i]);
        }
        double tol = 1e-4 * mag + 1e-6;
        float ref = t.dotReference(offset, x, xOffset, n);
        String where = t.type() + " offset " + offset + " n " + n + " xOffset " + xOffset;
        assertThat((double) t.dot(offset, x, xOffset, n)).as("dot, " + where).isCloseTo(ref, within(tol));
        if (t instanceof ScalarDot s) {
            assertThat((double) s.dotScalar(offset, x, xOffset, n)).as("dotScalar, " + where).isCloseTo(ref, within(tol));
        }
    }
}
