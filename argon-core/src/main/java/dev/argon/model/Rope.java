package dev.argon.model;

/**
 * Rotary position embedding (Su et al., 2021, "RoFormer"), in the GGML "normal" layout used by
 * the llama architecture in GGUF: dimensions {@code (2i, 2i+1)} of each head form a pair rotated by
 * angle {@code pos * theta^(-2i / ropeDim)} for {@code i < ropeDim / 2}; dimensions beyond
 * {@code ropeDim} are left unrotated. Cosines and sines are precomputed for every position.
 */
public final class Rope {
    private final int ropeDim;
    private final float[] cos;
    private final float[] sin;

    /**
     * @param ropeDim rotated dimensions per head (even)
     * @param theta frequency base
     * @param maxPositions positions to precompute
     */
    public Rope(int ropeDim, float theta, int maxPositions) {
        this.ropeDim = ropeDim;
        int half = ropeDim / 2;
        this.cos = new float[maxPositions * half];
        this.sin = new float[maxPositions * half];
        for (int i = 0; i < half; i++) {
            double freq = Math.pow(theta, -2.0 * i / ropeDim);
            for (int p = 0; p < maxPositions; p++) {
                double angle = p * freq;
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    /**
     * Rotates {@code nHeads} heads of width {@code headDim} stored back to back in {@code x},
     * starting at {@code offset}, for position {@code pos}.
     */
    public void apply(float[] x, int offset, int nHeads, int headDim, int pos) {
        int half = ropeDim / 2;
        int base = pos * half;
        for (int h = 0; h < nHeads; h++) {
            int o = offset + h * headDim;
            for (int i = 0; i < half; i++) {
                float c = cos[base + i];
                float s = sin[base + i];
                float x0 = x[o + 2 * i];
                float x1 = x[o + 2 * i + 1];
                x[o + 2 * i] = x0 * c - x1 * s;
                x[o + 2 * i + 1] = x0 * s + x1 * c;
            }
        }
    }
}
