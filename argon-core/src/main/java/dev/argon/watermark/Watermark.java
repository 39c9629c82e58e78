package dev.argon.watermark;

import dev.argon.sampling.Candidates;
import dev.argon.sampling.SamplerStep;

/**
 * The sampler step of a {@link WatermarkScheme}: adds {@code delta} to the logit of every green
 * candidate, the green list seeded by the last {@code contextWidth} accepted tokens (the prompt's
 * last tokens for the first generated one). Until that many tokens were accepted it changes
 * nothing. Put it before truncation (top-k, top-p, min-p), where
 * {@link dev.argon.sampling.SamplerChain#create(dev.argon.sampling.SamplingParams, int, java.util.List)}
 * puts the caller's steps.
 */
public final class Watermark implements SamplerStep {
    private final WatermarkScheme scheme;
    private RecentTokens recent;

    /** @param scheme key, gamma, delta and context width */
    public Watermark(WatermarkScheme scheme) {
        this.scheme = scheme;
        this.recent = new RecentTokens(scheme.contextWidth());
    }

    @Override
    public void apply(Candidates c) {
        if (!recent.full()) {
            return;
        }
        long seed = scheme.contextSeed(recent.tokens(), recent.tokens().length);
        float delta = (float) scheme.delta();
        for (int i = 0; i < c.size(); i++) {
            if (scheme.green(seed, c.id(i))) {
                c.setLogit(i, c.logit(i) + delta);
            }
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
        Watermark w = new Watermark(scheme);
        w.recent = recent.copy();
        return w;
    }

    @Override
    public String name() {
        return "watermark";
    }

    /** @return the scheme */
    public WatermarkScheme scheme() {
        return scheme;
    }
}
