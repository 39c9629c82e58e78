package dev.argon.model;

/**
 * Rotary position embedding (Su et al., 2021, "RoFormer") with cosines and sines precomputed for
 * every position of a context, in one of GGML's two layouts ({@link RopeConfig.Style}): NORMAL
 * rotates dimensions {@code (2i, 2i+1)} of each head (the {@code llama} architecture), NEOX rotates
 * {@code (i, i + ropeDim/2)} (Qwen, Phi-3, Gemma). Pair {@code i < ropeDim/2} turns by angle
 * {@code pos * theta^(-2i / ropeDim)}, modified by the scaling in {@link RopeConfig}; dimensions
 * beyond {@code ropeDim} are left unrotated.
 */
public final class Rope {
    private final RopeConfig.Style style;
    private final int ropeDim;
    private final float[] cos;
    private final float[] sin;

    /**
     * Plain NORMAL-layout RoPE without scaling.
     *
     * @param ropeDim rotated dimensions per head (even)
     * @param theta frequency base
     * @param maxPositions positions to precompute
     */
    public Rope(int ropeDim, float theta, int maxPositions) {
        this(RopeConfig.plain(RopeConfig.Style.NORMAL, ropeDim, theta), maxPositions);
    }

    /**
     * @param config layout, base and scaling
     * @param maxPositions positions to precompute (the context length, which also selects LongRoPE factors)
     */
    public Rope(RopeConfig config, int maxPositions) {
        this.style = config.style();
        this.ropeDim = config.dims();
        int half = ropeDim / 2;
        this.cos = new float[maxPositions * half];
        this.sin = new float[maxPositions * half];
        double[] cs = new double[2];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                config.angle(p, i, maxPositions, cs);
                cos[p * half + i] = (float) cs[0];
                sin[p * half + i] = (float) cs[1];
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
        // NORMAL pairs (2i, 2i+1); NEOX pairs (i, i + half)
        int step = style == RopeConfig.Style.NORMAL ? 2 : 1;
        int partner = style == RopeConfig.Style.NORMAL ? 1 : half;
        for (int h = 0; h < nHeads; h++) {
            int o = offset + h * headDim;
            for (int i = 0; i < half; i++) {
                float c = cos[base + i];
                float s = sin[base + i];
                int a = o + step * i;
                float x0 = x[a];
                float x1 = x[a + partner];
                x[a] = x0 * c - x1 * s;
                x[a + partner] = x0 * s + x1 * c;
            }
        }
    }
}
