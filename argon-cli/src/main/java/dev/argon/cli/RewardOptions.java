package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.RewardGuidance;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The GenARM options of {@code generate} and {@code serve} ({@link RewardGuidance}, Xu et al. 2025):
 * reward models over the base model's vocabulary, their weights and beta. Without
 * {@code --reward-model} nothing changes.
 */
final class RewardOptions {
    @Option(names = "--reward-model", paramLabel = "FILE",
            description = "GenARM: steer with this autoregressive reward model (same vocabulary as the model); repeatable.")
    List<Path> models = List.of();

    @Option(names = "--reward-weight", paramLabel = "W",
            description = "Weight of each --reward-model, in order (default: 1 each); repeatable.")
    List<Float> weights = List.of();

    @Option(names = "--reward-beta", paramLabel = "B", defaultValue = "1.0",
            description = "GenARM beta: p ~ p_base * prod p_reward^(w/B); smaller steers harder (default: ${DEFAULT-VALUE}).")
    float beta;

    /** @return whether {@code --reward-model} was given */
    boolean active() {
        return !models.isEmpty();
    }

    /** @throws ArgonException if the weights do not match the models, or beta is given without a model */
    void validate() {
        if (!weights.isEmpty() && weights.size() != models.size()) {
            throw new ArgonException("--reward-weight is given " + weights.size() + " times for " + models.size()
                    + " --reward-model files; give one weight per reward model, or none (1 each)");
        }
        if (models.isEmpty() && beta != 1f) {
            throw new ArgonException("--reward-beta needs --reward-model");
        }
    }

    /**
     * Loads the reward models.
     *
     * @param loaded receives every model loaded (also when a later one fails), for the caller to close
     * @return the guidance (checked against the base model by {@link dev.argon.generate.Generator#withRewards})
     * @throws ArgonException if a file cannot be loaded or beta is not a finite number &gt; 0
     */
    RewardGuidance load(ModelOptions options, List<LanguageModel> loaded) {
        List<RewardGuidance.Reward> rs = new ArrayList<>();
        for (int i = 0; i < models.size(); i++) {
            LanguageModel rm = Models.load(models.get(i), options);
            loaded.add(rm);
            rs.add(new RewardGuidance.Reward(models.get(i).getFileName().toString(), rm, weights.isEmpty() ? 1f : weights.get(i)));
        }
        return new RewardGuidance(rs, beta);
    }
}
