package dev.argon.tensor;

import java.nio.ByteBuffer;

/**
 * Round-to-nearest quantizers for the K-quant super-blocks (256 elements), used by
 * {@link Quantizer}. Layouts as in {@link Q4_KTensor}, {@link Q5_KTensor} and {@link Q6_KTensor}.
 *
 * <p>Scales are rounded <em>up</em> to their 6-bit (Q4_K/Q5_K) or 8-bit (Q6_K) codes, so the
 * quantization grid of every sub-block covers its values and the error stays within about half a
 * step (one step at the far end for Q6_K, whose extreme maps to -32 as in ggml).
 */
final class KQuantizer {
    private KQuantizer() {
    }

    /** Q4_K: writes {@code d, dmin, scales[12], qs[128]} for {@code v[i .. i+256)}. */
    static void q4_K(float[] v, int i, ByteBuffer out) {
        int[] q = scaleMin(v, i, 15, out);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                out.put((byte) (q[64 * c + l] | q[64 * c + 32 + l] << 4));
            }
        }
    }

    /** Q5_K: writes {@code d, dmin, scales[12], qh[32], qs[128]} for {@code v[i .. i+256)}. */
    static void q5_K(float[] v, int i, ByteBuffer out) {
        int[] q = scaleMin(v, i, 31, out);
        for (int l = 0; l < 32; l++) {
            int h = 0;
            for (int c = 0; c < 4; c++) {
                h |= (q[64 * c + l] >> 4) << (2 * c);
                h |= (q[64 * c + 32 + l] >> 4) << (2 * c + 1);
            }
            out.put((byte) h);
        }
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                out.put((byte) ((q[64 * c + l] & 0xF) | (q[64 * c + 32 + l] & 0xF) << 4));
            }
        }
    }

    /**
     * Chooses the super-block {@code d, dmin} and the eight 6-bit (scale, min) codes so that
     * sub-block {@code j} covers {@code [-dmin*m_j, -dmin*m_j + nmax*d*sc_j]} which contains its values
     * (the lower end is {@code min(0, minimum)}, as mins are subtracted); writes
     * {@code d, dmin, scales[12]} and returns the 256 levels {@code 0..nmax}.
     */
    private static int[] scaleMin(float[] v, int i, int nmax, ByteBuffer out) {
        float[] lo = new float[8];
        float[] hi = new float[8];
        float maxLo = 0f;
        for (int j = 0; j < 8; j++) {
            lo[j] = 0f;
            hi[j] = Float.NEGATIVE_INFINITY;
            for (int k = i + 32 * j; k < i + 32 * j + 32; k++) {
                lo[j] = Math.min(lo[j], v[k]);
                hi[j] = Math.max(hi[j], v[k]);
            }
            maxLo = Math.max(maxLo, -lo[j]);
        }
        short dminH = halfUp(maxLo / 63f);
        float dmin = Quantizer.f16(dminH);
        int[] m = new int[8];
        float[] base = new float[8];
        float[] scale = new float[8];
        float maxScale = 0f;
        for (int j = 0; j < 8; j++) {
            m[j] = dmin > 0f ? Math.min(63, (int) Math.ceil(-lo[j] / dmin)) : 0;
            base[j] = dmin * m[j];
            scale[j] = Math.max(0f, (hi[j] + base[j]) / nmax);
            maxScale = Math.max(maxScale, scale[j]);
        }
        short dH = halfUp(maxScale / 63f);
        float d = Quantizer.f16(dH);
        int[] sc = new int[8];
        int[] q = new int[256];
        for (int j = 0; j < 8; j++) {
            sc[j] = d > 0f ? Math.min(63, (int) Math.ceil(scale[j] / d)) : 0;
            float step = d * sc[j];
            for (int k = 0; k < 32; k++) {
                q[32 * j + k] = Quantizer.level(v[i + 32 * j + k] + base[j], step, 0, nmax);
            }
        }
        byte[] packed = new byte[12];
        KScales.pack(sc, m, packed, 0);
        out.putShort(dH).putShort(dminH).put(packed);
        return q;
    }

    /** Q6_K: writes {@code ql[128], qh[64], scales[16], d} for {@code v[i .. i+256)}. */
    static void q6_K(float[] v, int i, ByteBuffer out) {
        float[] scale = new float[16];
        float maxScale = 0f;
        for (int j = 0; j < 16; j++) {
            scale[j] = Quantizer.signedMax(v, i + 16 * j, 16) / -32f;
            maxScale = Math.max(maxScale, Math.abs(scale[j]));
        }
        short dH = halfUp(maxScale / 127f);
        float d = Quantizer.f16(dH);
        byte[] sc = new byte[16];
        int[] q = new int[256];
        for (int j = 0; j < 16; j++) {
            int s = d > 0f ? Math.min(127, (int) Math.ceil(Math.abs(scale[j]) / d)) : 0;
            sc[j] = (byte) (scale[j] < 0 ? -s : s);
            float step = d * sc[j];
            for (int k = 0; k < 16; k++) {
                q[16 * j + k] = Quantizer.level(v[i + 16 * j + k], step, -32, 31) + 32;
            }
        }
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 64; l++) {
                int e = 128 * h + l;
                out.put((byte) ((q[e] & 0xF) | (q[e + 64] & 0xF) << 4));
            }
        }
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int e = 128 * h + l;
                out.put((byte) ((q[e] >> 4) | (q[e + 32] >> 4) << 2 | (q[e + 64] >> 4) << 4 | (q[e + 96] >> 4) << 6));
            }
        }
        out.put(sc).putShort(dH);
    }

    /** Smallest f16 not below {@code v} (for {@code v >= 0}), clamped to the largest finite half. */
    static short halfUp(float v) {
        short h = Quantizer.half(v);
        if (Quantizer.f16(h) < v && h < 0x7BFF) {
            h++;
        }
        return h;
    }
}
