package dev.argon.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Shared helpers for the tensor tests: the types under test, random data, hand-written bytes. */
final class TensorTestSupport {
    /** The types implemented by the tensor package besides F32. */
    static final List<GgmlType> TYPES = List.of(GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K);

    private TensorTestSupport() {
    }

    /** {@code n} floats uniform in {@code [lo, hi)} from a fixed seed. */
    static float[] uniform(long seed, int n, float lo, float hi) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * r.nextFloat();
        }
        return v;
    }

    /** Uniform in [-1, 1), with each run of 32 elements scaled by a random factor in [0.05, 4). */
    static float[] varied(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        float f = 1f;
        for (int i = 0; i < n; i++) {
            if (i % 32 == 0) {
                f = 0.05f + 3.95f * r.nextFloat();
            }
            v[i] = f * (2 * r.nextFloat() - 1);
        }
        return v;
    }

    /** Quantizes {@code values} and wraps them with {@link Tensor#of}. */
    static Tensor tensor(GgmlType type, float[] values) {
        return Tensor.of(type, Quantizer.quantize(type, values), values.length);
    }

    /** A little-endian buffer of {@code n} bytes for writing blocks by hand. */
    static ByteBuffer buffer(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Wraps a fully written buffer as a tensor. */
    static Tensor tensor(GgmlType type, ByteBuffer filled, long size) {
        if (filled.hasRemaining()) {
            throw new IllegalStateException("block bytes not fully written: " + filled.position() + " of " + filled.capacity());
        }
        return Tensor.of(type, MemorySegment.ofArray(filled.array()), size);
    }

    /** All elements via {@link Tensor#dequantize}. */
    static float[] dequantizeAll(Tensor t) {
        float[] out = new float[(int) t.size()];
        t.dequantize(0, out, 0, out.length);
        return out;
    }

    /** {@code x} with a single 1 at {@code k}. */
    static float[] unit(int n, int k) {
        float[] x = new float[n];
        x[k] = 1f;
        return x;
    }

    /**
     * Checks a tensor against hand-computed values: getFloat and dequantize exactly; dot (fast and
     * scalar) exactly (up to the sign of zero) against unit vectors, and against a ramp within 1e-6 of the sum of |w*x|.
     */
    static void checkAgainst(Tensor t, float[] expected) {
        int n = expected.length;
        assertThat(t.size()).isEqualTo(n);
        assertThat(dequantizeAll(t)).as("%s dequantize", t.type()).containsExactly(expected);
        for (int i = 0; i < n; i++) {
            assertThat(t.getFloat(i)).as("%s getFloat(%d)", t.type(), i).isEqualTo(expected[i]);
        }
        ScalarDot scalar = (ScalarDot) t;
        for (int k = 0; k < n; k++) {
            float[] x = unit(n, k);
            assertThat(t.dot(0, x, 0, n)).as("%s dot with unit %d", t.type(), k).isCloseTo(expected[k], within(0f));
            assertThat(scalar.dotScalar(0, x, 0, n)).as("%s dotScalar with unit %d", t.type(), k).isCloseTo(expected[k], within(0f));
        }
        float[] ramp = new float[n];
        double want = 0;
        double mag = 0;
        for (int i = 0; i < n; i++) {
            ramp[i] = (i % 7) - 3 + 0.25f * (i % 3);
            want += (double) expected[i] * ramp[i];
            mag += Math.abs((double) expected[i] * ramp[i]);
        }
        assertThat((double) t.dot(0, ramp, 0, n)).as("%s dot with ramp", t.type()).isCloseTo(want, within(1e-6 * mag + 1e-9));
        assertThat((double) scalar.dotScalar(0, ramp, 0, n)).as("%s dotScalar with ramp", t.type()).isCloseTo(want, within(1e-6 * mag + 1e-9));
    }
}
