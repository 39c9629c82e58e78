package dev.argon.watermark;

import dev.argon.ArgonException;

/**
 * SynthID-Text's tournament watermark (Dathathri et al., "Scalable watermarking for identifying
 * large language model outputs", Nature 634, 2024): each of {@code layers} tournament layers
 * gives every candidate token a g-value in {0, 1} from a keyed hash of (key, previous
 * {@code contextWidth} tokens, candidate, layer). Sampling runs a tournament over 2^m candidates
 * drawn from the model's distribution: in layer l, pairs meet and the one with the higher g_l
 * goes on (a tie: either, at random); the last winner is the token. {@link TournamentWatermark}
 * draws from that tournament's exact distribution; detection ({@link TournamentDetector}) takes
 * the mean g-value of a text, 1/2 without the watermark and higher with it.
 *
 * <p>g-values are independent fair bits per (key, context, token, layer): SplitMix64's finaliser
 * over the context seed (as {@link WatermarkScheme#contextSeed}, another domain constant), the
 * token and the layer, top bit.
 *
 * @param key the secret key ({@link WatermarkScheme#keyOf})
 * @param layers tournament layers m, 1..64 (paper: 30)
 * @param contextWidth previous tokens hashed into the g-values, 1..8 (paper: 4)
 */
public record TournamentScheme(long key, int layers, int contextWidth) {
    /** The paper's number of tournament layers. */
    public static final int DEFAULT_LAYERS = 30;
    /** The paper's context (its n-gram length 5 is the context of 4 tokens plus the candidate). */
    public static final int DEFAULT_CONTEXT = 4;

    /** @throws ArgonException naming the parameter out of range */
    public TournamentScheme {
        if (layers < 1 || layers > 64) {
            throw new ArgonException("watermark layers is " + layers + "; expected 1 to 64 tournament layers (e.g. 30)");
        }
        if (contextWidth < 1 || contextWidth > 8) {
            throw new ArgonException("watermark context width is " + contextWidth + "; expected 1 to 8 previous tokens");
        }
    }

    /** A scheme with the paper's defaults and the key derived from {@code key}. */
    public static TournamentScheme of(String key) {
        return new TournamentScheme(WatermarkScheme.keyOf(key), DEFAULT_LAYERS, DEFAULT_CONTEXT);
    }

    /**
     * The seed of the g-values after {@code contextWidth} tokens ending at {@code end - 1} of
     * {@code tokens} (the most recent last).
     *
     * @param end exclusive end, {@code >= contextWidth}
     */
    public long contextSeed(int[] tokens, int end) {
        long h = WatermarkScheme.mix(key ^ 0x5DEECE66DA3B1F27L);
        for (int i = end - contextWidth; i < end; i++) {
            h = WatermarkScheme.mix(h + (tokens[i] & 0xffffffffL) + 0x9E3779B97F4A7C15L);
        }
        return h;
    }

    /**
     * The g-values of {@code token} after the context whose seed {@link #contextSeed} gave: bit
     * {@code l} is g of layer {@code l} (0-based), for l below {@link #layers}.
     */
    public long gValues(long seed, int token) {
        long h = WatermarkScheme.mix(seed ^ ((token & 0xffffffffL) * 0xD1B54A32D192ED03L));
        // one 64-bit mix gives 64 independent bits: bit l is layer l's g-value
        h = WatermarkScheme.mix(h + 0x632BE59BD9B4E019L);
        return layers == 64 ? h : h & ((1L << layers) - 1);
    }
}
