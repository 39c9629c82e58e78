package dev.argon.sampling;

import java.util.Map;

/**
 * OpenAI's {@code logit_bias} (OpenAI API reference; llama.cpp {@code llama_sampler_logit_bias}):
 * adds a fixed value to the logit of each listed token. {@code -100} effectively bans a token and
 * {@code +100} effectively forces it. Must be the first step of a chain, while position i of the
 * candidates still holds token i.
 */
final class LogitBias implements SamplerStep {
    /** Token ids in ascending order, and the bias of each. */
    private final int[] tokens;
    private final float[] biases;

    /** @param bias token id to bias; ids must lie in the vocabulary */
    LogitBias(Map<Integer, Float> bias) {
        tokens = bias.keySet().stream().mapToInt(Integer::intValue).sorted().toArray();
        biases = new float[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            biases[i] = bias.get(tokens[i]);
        }
    }

    @Override
    public void apply(Candidates c) {
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            assert c.ids[t] == t : "logit bias must run on fresh candidates";
            c.logits[t] += biases[i];
        }
        c.sorted = false;
    }

    @Override
    public String name() {
        return "logit-bias";
    }
}
