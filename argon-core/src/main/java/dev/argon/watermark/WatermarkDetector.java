package dev.argon.watermark;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Detects a {@link WatermarkScheme}'s watermark in a token sequence with the one-sided z-test of
 * Kirchenbauer et al. 2023 (Sec. 2): {@code z = (G - gamma T) / sqrt(T gamma (1 - gamma))} over
 * {@code T} scored tokens of which {@code G} are green, and the p-value {@code P(Z >= z)} of a
 * standard normal.
 *
 * <p>Every token after the first {@code contextWidth} is scored, but a (context, token) pair that
 * occurred before is scored only once: repeated n-grams would otherwise count the same coin flip
 * several times, and repetitive unwatermarked text would then exceed the nominal false-positive
 * rate (Kirchenbauer et al. 2024, "On the Reliability of Watermarks for LLMs", Sec. 4 ignore
 * repeated n-grams for the same reason).
 */
public final class WatermarkDetector {
    private final WatermarkScheme scheme;

    /** @param scheme the key and parameters the text was (or was not) generated with */
    public WatermarkDetector(WatermarkScheme scheme) {
        this.scheme = scheme;
    }

    /**
     * The test over one stretch of tokens.
     *
     * @param start index of the first token in the input (0 for a whole text)
     * @param scored tokens scored (T)
     * @param green green ones among them (G)
     * @param z the z-score (0 when nothing was scored)
     * @param pValue {@code P(Z >= z)} under no watermark (1 when nothing was scored)
     */
    public record Score(int start, int scored, int green, double z, double pValue) {
        /** @return G / T (0 when nothing was scored) */
        public double greenFraction() {
            return scored == 0 ? 0 : (double) green / scored;
        }
    }

    /** Scores all of {@code tokens} (text without BOS, as the tokenizer gives it). */
    public Score detect(int[] tokens) {
        return score(tokens, 0, tokens.length);
    }

    /**
     * Scores windows of {@code window} tokens every {@code window / 2} tokens (for texts that
     * mix watermarked and plain parts), the last one ending at the text's end.
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
        int green = 0;
        for (int i = from + h; i < to; i++) {
            long seed = scheme.contextSeed(tokens, i);
            if (!seen.add(new Pair(seed, tokens[i]))) {
                continue;
            }
            scored++;
            if (scheme.green(seed, tokens[i])) {
                green++;
            }
        }
        if (scored == 0) {
            return new Score(from, 0, 0, 0, 1);
        }
        double g = scheme.gamma();
        double z = (green - g * scored) / Math.sqrt(scored * g * (1 - g));
        return new Score(from, scored, green, z, upperTail(z));
    }

    private record Pair(long context, int token) {
    }

    /**
     * {@code P(Z >= z)} for a standard normal Z: {@code erfc(z / sqrt 2) / 2}, with erfc from its
     * Taylor series for {@code |x| < 3} and its continued fraction (Abramowitz and Stegun 7.1.14)
     * above; relative error below 1e-10 in the tails tested.
     */
    public static double upperTail(double z) {
        if (Double.isNaN(z)) {
            return Double.NaN;
        }
        return 0.5 * erfc(z / Math.sqrt(2));
    }

    static double erfc(double x) {
        if (x < 0) {
            return 2 - erfc(-x);
        }
        if (x < 3) {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = x;
            double sum = x;
            double x2 = x * x;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return 1 - 2 / Math.sqrt(Math.PI) * sum;
        }
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated backwards
        double f = x;
        for (int k = 80; k >= 1; k--) {
            f = x + (k / 2.0) / f;
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }
}
