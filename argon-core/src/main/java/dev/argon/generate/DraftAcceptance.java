package dev.argon.generate;

import dev.argon.ArgonException;

import java.util.Locale;

/**
 * How speculative verification decides whether to keep a draft token: the one place of the rule,
 * used by {@link Speculator#verify} (and so by {@link Generator} and {@link BatchScheduler} alike).
 *
 * <p>{@link Rule#EXACT} (the default) is Leviathan et al.'s rule for a point-mass draft: keep
 * draft token x iff the sequence's own draw y from the target distribution p equals x, so the
 * output is distributed exactly as without speculation.
 *
 * <p>{@link Rule#TYPICAL} is Medusa's typical acceptance (Cai et al. 2024, "Medusa: Simple LLM
 * Inference Acceleration Framework with Multiple Decoding Heads", section 2.3.1), in the spirit of
 * Judge Decoding: also keep x when {@code p(x) > min(ε, δ · exp(−H(p)))}, H the entropy of p in
 * nats, ε the hard threshold (Medusa's {@code posterior_threshold}, default 0.09) and δ the
 * entropy-dependent factor (Medusa's {@code posterior_alpha}, default 0.3 ≈ √ε). It is
 * <b>lossy</b>: output no longer follows p. Argon applies it on top of the exact draw: the draw y
 * is still made (the same random number as in exact mode), x is kept if y = x (as exact) or if the
 * threshold holds (a lenient accept: exact verification, with this very draw, would have rejected
 * x); otherwise y, which given y ≠ x follows p without x (the exact residual for a point-mass
 * draft), ends the accepted prefix. p is the distribution the sequence samples from (after logit
 * bias, penalties, top-k/top-p/min-p and temperature). Greedy requests (temperature 0) keep
 * exact verification: their p is a point mass at the argmax, whose entropy is 0, so the rule
 * would accept exactly the argmax anyway.
 *
 * @param rule exact or typical
 * @param epsilon ε, hard probability threshold (0..1); used by {@link Rule#TYPICAL} only
 * @param delta δ, factor of {@code exp(−H)} (0..1); used by {@link Rule#TYPICAL} only
 */
public record DraftAcceptance(Rule rule, float epsilon, float delta) {
    /** Medusa's {@code posterior_threshold}. */
    public static final float DEFAULT_EPSILON = 0.09f;
    /** Medusa's {@code posterior_alpha}. */
    public static final float DEFAULT_DELTA = 0.3f;
    /** Exact verification (lossless). */
    public static final DraftAcceptance EXACT = new DraftAcceptance(Rule.EXACT, DEFAULT_EPSILON, DEFAULT_DELTA);

    /** Which acceptance rule. */
    public enum Rule {
        /** Accept x iff the target's own draw is x: lossless. */
        EXACT,
        /** Also accept x when p(x) > min(ε, δ·exp(−H(p))): lossy. */
        TYPICAL;

        /** @return the flag value ({@code exact}, {@code typical}) */
        public String flagName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * @throws ArgonException naming {@code field} and the accepted values if {@code value} is neither
         */
        public static Rule parse(String value, String field) {
            String v = value.trim().toLowerCase(Locale.ROOT);
            for (Rule r : values()) {
                if (r.flagName().equals(v)) {
                    return r;
                }
            }
            throw new ArgonException(field + " is '" + value + "'; expected exact or typical");
        }
    }

    /** @return typical acceptance with thresholds ε and δ (not validated) */
    public static DraftAcceptance typical(float epsilon, float delta) {
        return new DraftAcceptance(Rule.TYPICAL, epsilon, delta);
    }

    /** @return whether this is the lossy typical rule */
    public boolean typical() {
        return rule == Rule.TYPICAL;
    }

    /**
     * @param entropy H(p) in nats, >= 0
     * @return the typical rule's threshold min(ε, δ·exp(−H))
     */
    public double threshold(double entropy) {
        return Math.min(epsilon, delta * Math.exp(-entropy));
    }

    /**
     * Medusa's typical acceptance test. Exact verification never calls this.
     *
     * @param probability p(x) of the draft token under the target distribution
     * @param entropy H(p) in nats
     * @return whether {@code probability > min(ε, δ·exp(−entropy))} (strictly greater, as Medusa)
     */
    public boolean typicalAccepts(double probability, double entropy) {
        return probability > threshold(entropy);
    }

    /**
     * @throws ArgonException naming the flag and the range if a value is out of range
     */
    public void validate() {
        if (rule == null) {
            throw new ArgonException("--spec-accept is missing; expected exact or typical");
        }
        if (!(epsilon >= 0f && epsilon <= 1f)) {
            throw new ArgonException("--spec-typical-epsilon is " + epsilon + "; expected 0..1 (a probability)");
        }
        if (!(delta >= 0f && delta <= 1f)) {
            throw new ArgonException("--spec-typical-delta is " + delta + "; expected 0..1");
        }
    }
}
