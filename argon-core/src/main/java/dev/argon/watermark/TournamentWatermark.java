package dev.argon.watermark;

import dev.argon.sampling.Candidates;
import dev.argon.sampling.SamplerStep;

/**
 * The sampler step of a {@link TournamentScheme} (SynthID-Text's tournament sampling, Dathathri
 * et al. 2024): rewrites the candidates' logits to the log-probabilities of the tournament's
 * winner, so that the chain's draw samples the tournament exactly, without drawing 2^m candidates.
 * With p the softmax of the logits, one layer of two-candidate matches on g-values g gives the
 * winner the distribution {@code p'(x) = p(x) (1 + g(x) - E_p[g])} (two independent draws from
 * p, the higher g wins, ties either way with probability 1/2: the paper's vectorised form); the
 * step applies the m layers in turn. The prompt's last {@code contextWidth} tokens seed the first
 * generated one; until that many tokens were accepted it changes nothing.
 *
 * <p>Place: the caller's steps run before temperature and truncation, so at temperature 1 without
 * top-k/top-p/min-p the token is drawn from the tournament exactly (the setting measured);
 * otherwise temperature and truncation act on the tournament's distribution. Cost per token: one
 * hash per candidate (it gives all m g-values) and m passes over the vocabulary.
 */
public final class TournamentWatermark implements SamplerStep {
    private final TournamentScheme scheme;
    private RecentTokens recent;
    private double[] p = new double[0];
    private long[] g = new long[0];

    /** @param scheme key, layers and context width */
    public TournamentWatermark(TournamentScheme scheme) {
        this.scheme = scheme;
        this.recent = new RecentTokens(scheme.contextWidth());
    }

    @Override
    public void apply(Candidates c) {
        if (!recent.full()) {
            return;
        }
        int n = c.size();
        if (p.length < n) {
            p = new double[n];
            g = new long[n];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, c.logit(i));
        }
        if (max == Double.NEGATIVE_INFINITY) {
            return;
        }
        long seed = scheme.contextSeed(recent.tokens(), recent.tokens().length);
        for (int i = 0; i < n; i++) {
            double e = Math.exp(c.logit(i) - max);
            p[i] = e;
            g[i] = e > 0 ? scheme.gValues(seed, c.id(i)) : 0;
        }
        // p stays unnormalised: a layer keeps the total (sum p (1 + g - q) = sum p when q = E_p[g]),
        // and the logits need p only up to a constant
        for (int l = 0; l < scheme.layers(); l++) {
            double total = 0;
            double ones = 0;
            for (int i = 0; i < n; i++) {
                total += p[i];
                if ((g[i] >>> l & 1) != 0) {
                    ones += p[i];
                }
            }
            double q = Math.min(1, ones / total); // E_p[g_l] (min: rounding)
            double win = 2 - q;
            double lose = 1 - q;
            for (int i = 0; i < n; i++) {
                p[i] *= (g[i] >>> l & 1) != 0 ? win : lose;
            }
        }
        for (int i = 0; i < n; i++) {
            c.setLogit(i, (float) Math.log(p[i]));
        }
    }

    @Override
    public void accept(int token) {
        recent.accept(token);
    }

    @Override
    public void reset() {
        recent.reset();
    }

    @Override
    public SamplerStep copy() {
        TournamentWatermark w = new TournamentWatermark(scheme);
        w.recent = recent.copy();
        return w;
    }

    @Override
    public String name() {
        return "synthid";
    }

    /** @return the scheme */
    public TournamentScheme scheme() {
        return scheme;
    }
}
