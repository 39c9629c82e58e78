package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.tokenizer.PromptText;

/**
 * Classifier-free guidance for text (Sanchez et al. 2023, "Stay on topic with Classifier-Free
 * Guidance", eq. 7): next to the sequence (the conditional one) runs a second, unconditional
 * sequence that starts from the negative prompt and is fed the same generated tokens; the sampler
 * then sees {@code log p^ = log p_u + scale * (log p_c - log p_u)}, with {@code log p} the
 * log-softmax of each sequence's logits. Both rows run in the same forward pass. llama.cpp's
 * former {@code --cfg-scale} and {@code --cfg-negative-prompt} had these meanings.
 *
 * <p>{@code scale = 1} is no guidance (the unconditional sequence is not run at all, so the output
 * is bit-identical to unguided generation); {@code scale > 1} pushes away from the negative prompt,
 * {@code 0} samples from the negative prompt's distribution.
 *
 * @param scale the guidance scale gamma, finite, {@code 0 <= scale <= 100}
 * @param negativePrompt the unconditional sequence's prompt (empty: only BOS, the paper's
 *     unconditional setting)
 */
public record Guidance(float scale, PromptText negativePrompt) {
    /** @throws ArgonException if the scale is out of range */
    public Guidance {
        if (!(scale >= 0 && scale <= 100)) {
            throw new ArgonException("the guidance scale (--cfg-scale) is " + scale + "; expected a number from 0 to 100 (1 = no guidance)");
        }
        if (negativePrompt == null) {
            negativePrompt = PromptText.plain("");
        }
    }

    /** @return whether guidance changes anything ({@code scale != 1}) */
    public boolean active() {
        return scale != 1f;
    }

    /**
     * Writes {@code log_softmax(u) + scale * (log_softmax(c) - log_softmax(u))} into {@code out}.
     *
     * @param cond the conditional logits {@code [vocab]}
     * @param uncond the unconditional logits {@code [vocab]}
     * @param out the mixed log-probabilities {@code [vocab]} (may not alias the inputs)
     */
    public static void mix(float[] cond, float[] uncond, float scale, float[] out) {
        double lc = logSumExp(cond);
        double lu = logSumExp(uncond);
        for (int i = 0; i < out.length; i++) {
            double pc = cond[i] - lc;
            double pu = uncond[i] - lu;
            out[i] = (float) (pu + scale * (pc - pu));
        }
    }

    /** {@code log sum exp(x)}, in double, shifted by the maximum. */
    static double logSumExp(float[] x) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : x) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum);
    }
}
