package dev.argon.watermark;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Detects a {@link TournamentScheme}'s watermark by the mean g-value score of Dathathri et al.
 * 2024: the mean of the g-values of every scored token over all m layers. Without the watermark
 * (a text made without the key) each (context, token) pair's m g-values are independent fair
 * bits, so over T scored tokens the count of ones S is Binomial(T m, 1/2), and the one-sided test
 * is {@code z = (S - T m / 2) / sqrt(T m / 4)} with {@code p = P(Z >= z)}. As in
 * {@link WatermarkDetector}, a repeated (context, token) pair is scored once.
 */
public final class TournamentDetector {
    private final TournamentScheme scheme;

    /** @param scheme the key, layers and context width the text was (or was not) generated with */
    public TournamentDetector(TournamentScheme scheme) {
        this.scheme = scheme;
    }

    /**
     * The test over one stretch of tokens.
     *
     * @param start index of the first token in the input (0 for a whole text)
     * @param scored tokens scored (T)
     * @param ones g-values equal to 1 among the T m of them (S)
     * @param meanG S / (T m), 1/2 expected without the watermark (0 when nothing was scored)
     * @param z the z-score (0 when nothing was scored)
     * @param pValue {@code P(Z >= z)} under no watermark (1 when nothing was scored)
     */
    public record Score(int start, int scored, long ones, double meanG, double z, double pValue) {
    }

    /** Scores all of {@code tokens} (text without BOS, as the tokenizer gives it). */
    public Score detect(int[] tokens) {
        return score(tokens, 0, tokens.length);
    }

    /**
     * Scores windows of {@code window} tokens every {@code window / 2} tokens, the last one ending
     * at the text's end (as {@link WatermarkDetector#windows}).
     *
     * @param window tokens per window, {@code > contextWidth}
     */
    public List<Score> windows(int[] tokens, int window) {
        return Windows.score(tokens.length, window, scheme.contextWidth(), (from, to) -> score(tokens, from, to));
    }

    /** The test over {@code tokens[from, to)} (contexts taken from within that range). */
    public Score score(int[] tokens, int from, int to) {
        int h = scheme.contextWidth();
        Set<Pair> seen = new HashSet<>();
        int scored = 0;
        long ones = 0;
        for (int i = from + h; i < to; i++) {
            long seed = scheme.contextSeed(tokens, i);
            if (!seen.add(new Pair(seed, tokens[i]))) {
                continue;
            }
            scored++;
            ones += Long.bitCount(scheme.gValues(seed, tokens[i]));
        }
        if (scored == 0) {
            return new Score(from, 0, 0, 0, 0, 1);
        }
        double n = (double) scored * scheme.layers();
        double z = (ones - n / 2) / Math.sqrt(n / 4);
        return new Score(from, scored, ones, ones / n, z, WatermarkDetector.upperTail(z));
    }

    private record Pair(long context, int token) {
    }
}
