package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.model.LanguageModel;
import dev.argon.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Reward-guided decoding with autoregressive reward models (Xu et al. 2025, "GenARM: Reward
 * Guided Generation with Autoregressive Reward Model for Test-time Alignment", ICLR, eq. 6 and its
 * multi-objective form): a frozen base model is steered token by token by reward models that are
 * themselves language models over the same vocabulary,
 * {@code pi(y | x) ∝ pi_base(y | x) * prod_i pi_r,i(y | x)^(w_i / beta)}, that is, the sampler sees
 * {@code log_softmax(base) + sum_i (w_i / beta) * log_softmax(r_i)}. Every reward model is fed
 * the same prompt and generated tokens as the base, one forward pass each per step. A smaller
 * reward model may guide a larger base (weak-to-strong) as long as the vocabularies match.
 *
 * <p>With every weight 0 the reward models are not run at all, so the output is bit-identical to
 * the base model's.
 *
 * @param rewards the reward models and their weights, at least one
 * @param beta the KL-regularisation strength beta, {@code > 0}; smaller steers harder
 */
public record RewardGuidance(List<Reward> rewards, float beta) {
    /**
     * @param name how errors name the model (its file name)
     * @param model the reward model
     * @param weight its weight {@code w_i}, finite (0 = unused; negative steers away from it)
     */
    public record Reward(String name, LanguageModel model, float weight) {
        /** @throws ArgonException if the weight is not finite */
        public Reward {
            if (!Float.isFinite(weight)) {
                throw new ArgonException("the weight of reward model " + name + " (--reward-weight) is " + weight + "; expected a finite number");
            }
        }
    }

    /** @throws ArgonException if there is no reward model or beta is not a finite number > 0 */
    public RewardGuidance {
        rewards = List.copyOf(rewards);
        if (rewards.isEmpty()) {
            throw new ArgonException("reward-guided decoding needs at least one reward model (--reward-model)");
        }
        if (!(beta > 0) || Float.isInfinite(beta)) {
            throw new ArgonException("--reward-beta is " + beta + "; expected a finite number > 0 (smaller steers harder)");
        }
    }

    /** @return whether any reward model has a non-zero weight */
    public boolean active() {
        for (Reward r : rewards) {
            if (r.weight() != 0f) {
                return true;
            }
        }
        return false;
    }

    /**
     * Checks that every reward model has the base model's vocabulary: the same size and the same
     * bytes for every token id.
     *
     * @throws ArgonException naming the reward model and the first difference
     */
    public void checkVocabulary(LanguageModel base) {
        Tokenizer b = base.tokenizer();
        for (Reward r : rewards) {
            Tokenizer t = r.model().tokenizer();
            if (t.vocabSize() != b.vocabSize() || r.model().config().vocabSize() != base.config().vocabSize()) {
                throw new ArgonException("reward model " + r.name() + " has a vocabulary of " + r.model().config().vocabSize()
                        + " tokens but the base model has " + base.config().vocabSize()
                        + "; GenARM needs the same vocabulary (a reward model of the same model family)");
            }
            for (int id = 0; id < b.vocabSize(); id++) {
                if (!Arrays.equals(b.tokenBytes(id), t.tokenBytes(id)) || !b.piece(id).equals(t.piece(id))) {
                    throw new ArgonException("reward model " + r.name() + " has a different vocabulary: token " + id + " is '"
                            + t.piece(id) + "' there but '" + b.piece(id) + "' in the base model; GenARM needs the same vocabulary");
                }
            }
        }
    }

    /**
     * Writes {@code log_softmax(base) + sum_i (w_i / beta) * log_softmax(reward[i])} into {@code out}.
     *
     * @param base the base model's logits {@code [vocab]}
     * @param reward each reward model's logits {@code [vocab]}, in the order of {@link #rewards()}
     */
    public void mix(float[] base, float[][] reward, float[] out) {
        double zb = Guidance.logSumExp(base);
        double[] coeff = new double[reward.length];
        double[] z = new double[reward.length];
        for (int i = 0; i < reward.length; i++) {
            coeff[i] = (double) rewards.get(i).weight() / beta;
            z[i] = Guidance.logSumExp(reward[i]);
        }
        for (int v = 0; v < out.length; v++) {
            double x = base[v] - zb;
            for (int i = 0; i < reward.length; i++) {
                x += coeff[i] * (reward[i][v] - z[i]);
            }
            out[v] = (float) x;
        }
    }
}
