package dev.argon.tensor;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Blocks of the float and 32-element types written byte by byte from the ggml layouts, with the
 * expected values worked out by hand (spot values as literals, the rest from the layout's formula),
 * so the decoders are checked independently of {@link Quantizer}. f16 constants: 0x3C00 = 1,
 * 0x3800 = 0.5, 0x3400 = 0.25, 0xBC00 = -1, 0xC000 = -2, 0x4000 = 2, 0x4900 = 10, 0xCC00 = -16.
 */
class HandBuiltBlocksTest {
    private static final short ONE = 0x3C00;
    private static final short HALF = 0x3800;
    private static final short QUARTER = 0x3400;
    private static final short MINUS_ONE = (short) 0xBC00;
    private static final short MINUS_TWO = (short) 0xC000;
    private static final short TWO = 0x4000;
    private static final short TEN = 0x4900;
    private static final short MINUS_SIXTEEN = (short) 0xCC00;

    @Test
    void f16() {
        short[] bits = {0x3C00, (short) 0xC000, 0x3800, 0x7BFF, 0x0001, 0x03FF, 0x0400, (short) 0x8000, 0x3555,
                (short) 0xFBFF, (short) 0x8001, 0x4248};
        float[] values = {1f, -2f, 0.5f, 65504f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, -0f, 0.33325195f,
                -65504f, -0x1p-24f, 3.140625f};
        int n = 37; // two 16-lane vectors and a 5-element tail
        ByteBuffer b = TensorTestSupport.buffer(2 * n);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            b.putShort(bits[i % bits.length]);
            expected[i] = values[i % values.length];
        }
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.F16, b, n), expected);
    }

    @Test
    void f16InfinityAndNaN() {
        checkSpecials(GgmlType.F16, (short) 0x7C00, (short) 0xFC00, (short) 0x7E00, ONE);
    }

    @Test
    void bf16() {
        short[] bits = {0x3F80, (short) 0xC020, 0x4049, 0x0001, 0x5F00, (short) 0x8000, 0x3E80, (short) 0xBF00};
        float[] values = {1f, -2.5f, 3.140625f, 0x1p-133f, 0x1p63f, -0f, 0.25f, -0.5f};
        int n = 37;
        ByteBuffer b = TensorTestSupport.buffer(2 * n);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            // the largest bf16 once, at index 3 where checkAgainst's ramp is 0 (no overflow)
            b.putShort(i == 3 ? 0x7F7F : bits[i % bits.length]);
            expected[i] = i == 3 ? Float.intBitsToFloat(0x7F7F0000) : values[i % values.length];
        }
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.BF16, b, n), expected);
    }

    @Test
    void bf16InfinityAndNaN() {
        checkSpecials(GgmlType.BF16, (short) 0x7F80, (short) 0xFF80, (short) 0x7FC0, (short) 0x3F80);
    }

    /** 40 elements of {@code one}, with +inf, -inf or NaN placed at index 21 (inside a vector). */
    private static void checkSpecials(GgmlType type, short inf, short negInf, short nan, short one) {
        float[] ones = new float[40];
        java.util.Arrays.fill(ones, 1f);
        short[] specials = {inf, negInf, nan};
        float[] sums = {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
        for (int s = 0; s < 3; s++) {
            ByteBuffer b = TensorTestSupport.buffer(80);
            for (int i = 0; i < 40; i++) {
                b.putShort(i == 21 ? specials[s] : one);
            }
            Tensor t = TensorTestSupport.tensor(type, b, 40);
            // Float.compare treats NaN as equal to itself
            assertThat(Float.compare(t.getFloat(21), sums[s])).as("%s getFloat of special %d", type, s).isZero();
            assertThat(t.getFloat(20)).isEqualTo(1f);
            assertThat(Float.compare(t.dot(0, ones, 0, 40), sums[s])).as("%s dot with special %d", type, s).isZero();
            assertThat(Float.compare(((ScalarDot) t).dotScalar(0, ones, 0, 40), sums[s])).isZero();
            assertThat(t.dot(0, ones, 0, 21)).as("%s dot before the special", type).isEqualTo(21f);
        }
    }

    @Test
    void q8_0() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 34);
        float[] e = new float[64];
        b.putShort(HALF); // block 0: d = 0.5, qs[j] = j - 16
        for (int j = 0; j < 32; j++) {
            b.put((byte) (j - 16));
            e[j] = 0.5f * (j - 16);
        }
        b.putShort(MINUS_TWO); // block 1: d = -2, qs[j] = 127 - 8j
        for (int j = 0; j < 32; j++) {
            b.put((byte) (127 - 8 * j));
            e[32 + j] = -2f * (127 - 8 * j);
        }
        assertThat(new float[] {e[0], e[16], e[31], e[32], e[63]}).containsExactly(-8f, 0f, 7.5f, -254f, 242f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q8_0, b, 64), e);
    }

    @Test
    void q4_0() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 18);
        float[] e = new float[64];
        b.putShort(HALF); // block 0: qs[j] = j | (15 - j) << 4
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
            e[j] = 0.5f * (j - 8);
            e[j + 16] = 0.5f * (7 - j);
        }
        b.putShort(MINUS_ONE); // block 1: low nibble j, high nibble 15
        for (int j = 0; j < 16; j++) {
            b.put((byte) (0xF0 | j));
            e[32 + j] = -1f * (j - 8); // -0.0 at j = 8
            e[48 + j] = -7f;
        }
        assertThat(new float[] {e[0], e[15], e[16], e[31], e[32], e[47], e[48]}).containsExactly(-4f, 3.5f, 3.5f, -4f, 8f, -7f, -7f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q4_0, b, 64), e);
    }

    @Test
    void q4_1() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 20);
        float[] e = new float[64];
        b.putShort(HALF).putShort(MINUS_ONE); // block 0: d = 0.5, m = -1
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
            e[j] = 0.5f * j - 1;
            e[j + 16] = 0.5f * (15 - j) - 1;
        }
        b.putShort(QUARTER).putShort(TEN); // block 1: d = 0.25, m = 10, all bytes 0x5A
        for (int j = 0; j < 16; j++) {
            b.put((byte) 0x5A);
            e[32 + j] = 12.5f;
            e[48 + j] = 11.25f;
        }
        assertThat(new float[] {e[0], e[15], e[16], e[31]}).containsExactly(-1f, 6.5f, 6.5f, -1f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q4_1, b, 64), e);
    }

    @Test
    void q5_0() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 22);
        // block 0: d = 1, qh = 0x80010003 (bits 0, 1, 16, 31), qs[j] = j | (15 - j) << 4
        b.putShort(ONE).putInt(0x80010003);
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
        }
        // block 1: d = 0.5, qh = 0x0000FFFF, all qs 0xFF: elements 0..15 -> 31 - 16, 16..31 -> 15 - 16
        b.putShort(HALF).putInt(0x0000FFFF);
        for (int j = 0; j < 16; j++) {
            b.put((byte) 0xFF);
        }
        float[] e = new float[64];
        for (int j = 0; j < 16; j++) {
            e[j] = j - 16;
            e[j + 16] = -1 - j;
            e[32 + j] = 7.5f;
            e[48 + j] = -0.5f;
        }
        e[0] = 0f;   // 0 | 16 - 16
        e[1] = 1f;   // 1 | 16 - 16
        e[16] = 15f; // 15 | 16 - 16
        e[31] = 0f;  // 0 | 16 - 16
        assertThat(new float[] {e[2], e[15], e[17], e[30]}).containsExactly(-14f, -1f, -2f, -15f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q5_0, b, 64), e);
    }

    @Test
    void q5_1() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 24);
        // block 0: d = 0.5, m = 2, qh bits 0, 1, 16, 31; qs[j] = j | (15 - j) << 4
        b.putShort(HALF).putShort(TWO).putInt(0x80010003);
        for (int j = 0; j < 16; j++) {
            b.put((byte) (j | (15 - j) << 4));
        }
        // block 1: d = 1, m = -16, qh = 0xFFFF0000, qs all 0x0F: low 15 -> -1, high 0 | 16 -> 0
        b.putShort(ONE).putShort(MINUS_SIXTEEN).putInt(0xFFFF0000);
        for (int j = 0; j < 16; j++) {
            b.put((byte) 0x0F);
        }
        float[] e = new float[64];
        for (int j = 0; j < 16; j++) {
            e[j] = 0.5f * j + 2;
            e[j + 16] = 0.5f * (15 - j) + 2;
            e[32 + j] = -1f;
            e[48 + j] = 0f;
        }
        e[0] = 10f;    // q = 16
        e[1] = 10.5f;  // q = 17
        e[16] = 17.5f; // q = 31
        e[31] = 10f;   // q = 16
        assertThat(new float[] {e[2], e[17]}).containsExactly(3f, 9f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q5_1, b, 64), e);
    }
}
