package dev.argon.cli;

import dev.argon.generate.GenerationRequest;
import dev.argon.watermark.Watermark;
import dev.argon.watermark.WatermarkScheme;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * The watermark options of {@code generate} (Kirchenbauer et al. 2023's green list; see
 * {@link WatermarkScheme}). Without {@code --watermark} sampling is unchanged.
 */
final class WatermarkOptions {
    @Option(names = "--watermark", paramLabel = "KEY",
            description = "Watermark the output with this secret key (green-list watermark); check it with 'argon watermark detect'.")
    String key;

    @Option(names = "--watermark-gamma", paramLabel = "G", defaultValue = "0.25",
            description = "Green share of the vocabulary, 0 < G < 1 (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--watermark-delta", paramLabel = "D", defaultValue = "2.0",
            description = "Logit added to green tokens, > 0 (default: ${DEFAULT-VALUE}).")
    double delta;

    @Option(names = "--watermark-context", paramLabel = "H", defaultValue = "1",
            description = "Previous tokens that seed the green list, 1..8 (default: ${DEFAULT-VALUE}).")
    int context;

    /** The command, to tell flags given from defaults (null when the options are built without picocli). */
    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec command;

    /**
     * @return the scheme, or null without {@code --watermark}
     * @throws dev.argon.ArgonException if {@code --watermark-gamma/-delta/-context} is given without {@code --watermark}
     */
    WatermarkScheme scheme() {
        FlagUse.requireFeature(command, key != null, "--watermark", "--watermark-gamma", "--watermark-delta", "--watermark-context");
        return key == null ? null : new WatermarkScheme(WatermarkScheme.keyOf(key), gamma, delta, context);
    }

    /** @return {@code req} with the watermark step when {@code --watermark} was given */
    GenerationRequest apply(GenerationRequest req) {
        WatermarkScheme s = scheme();
        return s == null ? req : req.withSteps(List.of(new Watermark(s)));
    }
}
