package dev.argon.tensor;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * K-quant super-blocks (two of each type) written byte by byte from the ggml layouts, with spot
 * values worked out by hand and the rest from the layout's formula, independent of
 * {@link Quantizer}.
 */
class HandBuiltKBlocksTest {
    /** Scale codes chosen for sub-blocks 0..7; the high ones exercise the split 6-bit packing. */
    private static final int[] SC = {1, 2, 3, 4, 17, 33, 50, 63};
    /** Min codes for sub-blocks 0..7. */
    private static final int[] M = {0, 5, 10, 63, 16, 32, 48, 7};
    /**
     * SC and M packed by hand: bytes 0..3 = SC[j] | (SC[j+4] >> 4) << 6, bytes 4..7 = M[j] |
     * (M[j+4] >> 4) << 6, bytes 8..11 = (SC[j+4] & 15) | (M[j+4] & 15) << 4. E.g. byte 0 =
     * 1 | 1 << 6 = 0x41, byte 11 = 15 | 7 << 4 = 0x7F.
     */
    private static final byte[] SCALES = {0x41, (byte) 0x82, (byte) 0xC3, (byte) 0xC4,
            0x40, (byte) 0x85, (byte) 0xCA, 0x3F, 0x01, 0x01, 0x02, 0x7F};

    /** The 4-bit quant of element {@code e} (0..255) when qs[i] = (i % 16) | (15 - i % 16) << 4. */
    private static int nibble(int e) {
        int c = e / 64;
        int r = e % 64;
        int i = 32 * c + r % 32;
        return r < 32 ? i % 16 : 15 - i % 16;
    }

    @Test
    void scalesDecodeAsPacked() {
        long lo = java.nio.ByteBuffer.wrap(SCALES).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
        int hi = java.nio.ByteBuffer.wrap(SCALES).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(8);
        for (int j = 0; j < 8; j++) {
            assertThat(KScales.scale(lo, hi, j)).as("scale %d", j).isEqualTo(SC[j]);
            assertThat(KScales.min(lo, hi, j)).as("min %d", j).isEqualTo(M[j]);
            assertThat(KScales.at(KScales.scales(lo, hi), j)).as("byte-wise scale %d", j).isEqualTo(SC[j]);
            assertThat(KScales.at(KScales.mins(lo, hi), j)).as("byte-wise min %d", j).isEqualTo(M[j]);
        }
        byte[] packed = new byte[12];
        KScales.pack(SC, M, packed, 0);
        assertThat(packed).containsExactly(SCALES);
    }

    @Test
    void byteWiseScalesMatchOnRandomBytes() {
        java.util.Random r = new java.util.Random(5);
        for (int t = 0; t < 10_000; t++) {
            long lo = r.nextLong();
            int hi = r.nextInt();
            for (int j = 0; j < 8; j++) {
                assertThat(KScales.at(KScales.scales(lo, hi), j)).isEqualTo(KScales.scale(lo, hi, j));
                assertThat(KScales.at(KScales.mins(lo, hi), j)).isEqualTo(KScales.min(lo, hi, j));
            }
        }
    }

    @Test
    void q4_K() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 144);
        // block 0: d = 1, dmin = 0.5, qs[i] = (i % 16) | (15 - i % 16) << 4
        b.putShort((short) 0x3C00).putShort((short) 0x3800).put(SCALES);
        for (int i = 0; i < 128; i++) {
            b.put((byte) ((i % 16) | (15 - i % 16) << 4));
        }
        // block 1: d = 0.5, dmin = 0, all qs 0xFF (q = 15)
        b.putShort((short) 0x3800).putShort((short) 0).put(SCALES);
        for (int i = 0; i < 128; i++) {
            b.put((byte) 0xFF);
        }
        float[] e = new float[512];
        for (int i = 0; i < 256; i++) {
            int sub = i / 32; // chunk c covers sub-blocks 2c (low nibbles) and 2c+1 (high nibbles)
            e[i] = SC[sub] * nibble(i) - 0.5f * M[sub];
            e[256 + i] = 0.5f * SC[sub] * 15;
        }
        // spot values: e33 = 2*14 - 2.5, e67 = 3*3 - 5, e150 = 17*6 - 8, e180 = 33*11 - 16,
        // e200 = 50*8 - 24, e255 = 63*0 - 3.5
        assertThat(new float[] {e[0], e[5], e[33], e[67], e[150], e[180], e[200], e[255], e[256 + 255]})
                .containsExactly(0f, 5f, 25.5f, 4f, 94f, 347f, 376f, -3.5f, 472.5f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q4_K, b, 512), e);
    }

    @Test
    void q5_K() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 176);
        // block 0: d = 1, dmin = 0.5; qh[0] = 1, qh[1] = 2, qh[2] = 0x80, qh[3] = 0xFF, others 0
        b.putShort((short) 0x3C00).putShort((short) 0x3800).put(SCALES);
        int[] qh = new int[32];
        qh[0] = 0x01;
        qh[1] = 0x02;
        qh[2] = 0x80;
        qh[3] = 0xFF;
        for (int l = 0; l < 32; l++) {
            b.put((byte) qh[l]);
        }
        for (int i = 0; i < 128; i++) {
            b.put((byte) ((i % 16) | (15 - i % 16) << 4));
        }
        // block 1: d = 0.5, dmin = 2, all qh and qs 0xFF (q = 31)
        b.putShort((short) 0x3800).putShort((short) 0x4000).put(SCALES);
        for (int i = 0; i < 32 + 128; i++) {
            b.put((byte) 0xFF);
        }
        float[] e = new float[512];
        for (int i = 0; i < 256; i++) {
            int sub = i / 32; // element l = i % 32 of sub-block s takes bit s of qh[l]
            int q = nibble(i) + 16 * ((qh[i % 32] >> sub) & 1);
            e[i] = SC[sub] * q - 0.5f * M[sub];
            e[256 + i] = 0.5f * SC[sub] * 31 - 2f * M[sub];
        }
        // spot values: e0 = 1*(0+16), e33 = 2*(14+16) - 2.5, e34 = 2*13 - 2.5, e131 = 17*(3+16) - 8,
        // e226 = 63*(13+16) - 3.5
        assertThat(new float[] {e[0], e[3], e[5], e[33], e[34], e[131], e[226]})
                .containsExactly(16f, 19f, 5f, 57.5f, 23.5f, 315f, 1823.5f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q5_K, b, 512), e);
    }

    @Test
    void q6_K() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 210);
        // block 0: ql[i] = i, qh[i] = 0xE4 (2-bit fields 0, 1, 2, 3), scales[k] = k - 8, d = 0.25
        for (int i = 0; i < 128; i++) {
            b.put((byte) i);
        }
        for (int i = 0; i < 64; i++) {
            b.put((byte) 0xE4);
        }
        for (int k = 0; k < 16; k++) {
            b.put((byte) (k - 8));
        }
        b.putShort((short) 0x3400);
        // block 1: ql and qh all 0xFF (q = 63 - 32 = 31), scales[k] = 16k - 128, d = -1
        for (int i = 0; i < 192; i++) {
            b.put((byte) 0xFF);
        }
        for (int k = 0; k < 16; k++) {
            b.put((byte) (16 * k - 128));
        }
        b.putShort((short) 0xBC00);
        float[] e = new float[512];
        for (int i = 0; i < 256; i++) {
            int h = i / 128;
            int g = i % 128 / 32; // 32-element group: q1..q4
            int l = i % 32;
            int ql = 64 * h + l + 32 * (g & 1);
            int low = g < 2 ? ql % 16 : ql / 16;
            int q = low + 16 * g - 32; // qh field g of 0xE4 is g
            e[i] = 0.25f * (i / 16 - 8) * q;
            e[256 + i] = -1f * (16 * (i / 16) - 128) * 31;
        }
        // spot values: e0 = 0.25*-8*-32, e17 = 0.25*-7*-31, e40 = 0.25*-6*-8, e84 = 0.25*-3*1,
        // e127 = 0.25*-1*19, e208 = 0.25*5*5, e255 = 0.25*7*23
        assertThat(new float[] {e[0], e[17], e[40], e[84], e[127], e[208], e[255], e[256]})
                .containsExactly(64f, 54.25f, 12f, -0.75f, -4.75f, 6.25f, 40.25f, 3968f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q6_K, b, 512), e);
    }

    @Test
    void q8_K() {
        ByteBuffer b = TensorTestSupport.buffer(2 * 292);
        float[] e = new float[512];
        // block 0: d = 0.5 (f32), qs[i] = i - 128; block 1: d = -0.25, qs[i] = (byte) (7i)
        for (int blk = 0; blk < 2; blk++) {
            b.putFloat(blk == 0 ? 0.5f : -0.25f);
            short[] bsums = new short[16];
            for (int i = 0; i < 256; i++) {
                byte q = (byte) (blk == 0 ? i - 128 : 7 * i);
                b.put(q);
                bsums[i / 16] += q;
                e[256 * blk + i] = (blk == 0 ? 0.5f : -0.25f) * q;
            }
            for (short s : bsums) {
                b.putShort(s);
            }
        }
        assertThat(new float[] {e[0], e[255], e[256 + 1], e[256 + 20]}).containsExactly(-64f, 63.5f, -1.75f, 29f);
        TensorTestSupport.checkAgainst(TensorTestSupport.tensor(GgmlType.Q8_K, b, 512), e);
    }
}
