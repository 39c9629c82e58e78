package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.RewardGuidance;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

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
            description = "Weight of each --reward-model, in order (default: 1 each; 0 = unused, negative steers away from it); repeatable.")
    List<Float> weights = List.of();

    @Option(names = "--reward-beta", paramLabel = "B",
            description = "GenARM beta, > 0: p ~ p_base * prod p_reward^(w/B); smaller steers harder (default: " + DEFAULT_BETA + ").")
    Float beta;

    /** GenARM's beta when {@code --reward-beta} is not given. */
    static final float DEFAULT_BETA = 1f;

    /** The notice lines of the reward models loaded, printed after the base model's load line. */
    private final List<String> loadLines = new ArrayList<>();

    /** @return whether {@code --reward-model} was given */
    boolean active() {
        return !models.isEmpty();
    }

    /** @return {@code --reward-beta}, or {@link #DEFAULT_BETA} */
    float beta() {
        return beta != null ? beta : DEFAULT_BETA;
    }

    /**
     * @throws ArgonException if the weights do not match the models, beta or a weight is given without a model, or beta
     *     is not &gt; 0
     */
    void validate() {
        if (models.isEmpty() && (beta != null || !weights.isEmpty())) {
            String flag = beta != null ? "--reward-beta" : "--reward-weight";
            throw new ArgonException(flag + " needs --reward-model FILE: it applies to the reward models, and none is given ("
                    + flag + " " + (beta != null ? beta : weights.getFirst()) + ")");
        }
        if (!weights.isEmpty() && weights.size() != models.size()) {
            throw new ArgonException("--reward-weight is given " + weights.size() + " times for " + models.size()
                    + " --reward-model files; give one weight per reward model, or none (1 each)");
        }
        if (beta != null && !(beta > 0)) {
            throw new ArgonException("--reward-beta is " + beta + "; expected a finite number > 0 (smaller steers harder)");
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
        loadLines.clear();
        for (int i = 0; i < models.size(); i++) {
            long start = System.nanoTime();
            Path file = models.get(i);
            LanguageModel rm = Models.load(file, options);
            loaded.add(rm);
            float w = weights.isEmpty() ? 1f : weights.get(i);
            rs.add(new RewardGuidance.Reward(file.getFileName().toString(), rm, w));
            loadLines.add(String.format(Locale.ROOT, "argon: reward model %s (%s, %d parameters, %s) loaded in %.2f s;"
                            + " steers with GenARM at weight %s, beta %s", file.getFileName(), rm.config().architecture(),
                    rm.parameterCount(), fileSize(file), (System.nanoTime() - start) / 1e9, w, beta()));
        }
        return new RewardGuidance(rs, beta());
    }

    /** Prints one notice line per reward model {@link #load loaded}: file, architecture, size, weight and beta. */
    void printLoaded(PrintStream err) {
        loadLines.forEach(err::println);
    }

    private static String fileSize(Path file) {
        try {
            return String.format(Locale.ROOT, "%.2f MiB", Files.size(file) / 1048576.0);
        } catch (IOException e) {
            return "size unknown";
        }
    }
}
