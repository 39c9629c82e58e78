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
    private final RopeConfig config;
    private final int maxPositions;

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
        this.config = config;
        this.maxPositions = maxPositions;
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
     * starting at {@code offset}, for position {@code pos} (positions past the precomputed ones,
     * reached when the KV cache evicts tokens, are computed on the fly in the same way).
     */
    public void apply(float[] x, int offset, int nHeads, int headDim, int pos) {
        int half = ropeDim / 2;
        if (pos < maxPositions) {
            turn(x, offset, nHeads, headDim, cos, sin, pos * half);
            return;
        }
        float[] c = new float[half];
        float[] s = new float[half];
        double[] cs = new double[2];
        for (int i = 0; i < half; i++) {
            config.angle(pos, i, maxPositions, cs);
            c[i] = (float) cs[0];
            s[i] = (float) cs[1];
        }
        turn(x, offset, nHeads, headDim, c, s, 0);
    }

    /**
     * Turns already rotated heads by {@code delta} more positions: a pure rotation by
     * {@code delta} times each pair's frequency (no magnitude scaling such as YaRN's), so a key
     * rotated for position {@code p} becomes the key rotated for {@code p + delta}. Used to move
     * cached keys to new positions (context shift, attention sinks).
     */
    public void rotateBy(float[] x, int offset, int nHeads, int headDim, int delta) {
        int half = ropeDim / 2;
        float[] c = new float[half];
        float[] s = new float[half];
        double[] cs = new double[2];
        for (int i = 0; i < half; i++) {
            config.angle(delta, i, maxPositions, cs);
            double norm = Math.hypot(cs[0], cs[1]);
            c[i] = (float) (cs[0] / norm);
            s[i] = (float) (cs[1] / norm);
        }
        turn(x, offset, nHeads, headDim, c, s, 0);
    }

    private void turn(float[] x, int offset, int nHeads, int headDim, float[] cos, float[] sin, int base) {
        int half = ropeDim / 2;
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
