package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.watermark.TournamentScheme;
import dev.argon.watermark.TournamentWatermark;
import dev.argon.watermark.Watermark;
import dev.argon.watermark.WatermarkScheme;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * The watermark options of {@code generate}: Kirchenbauer et al. 2023's green list
 * ({@link WatermarkScheme}) or SynthID-style tournament sampling ({@link TournamentScheme}). Without {@code --watermark} sampling is unchanged.
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

    @Option(names = "--watermark-context", paramLabel = "H",
            description = "Previous tokens that seed the green list or g-values, 1..8 (default: 1 for kgw, 4 for synthid).")
    Integer context;

    /** The command, to tell flags given from defaults (null when the options are built without picocli). */
    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec command;

    @Option(names = "--watermark-scheme", paramLabel = "NAME", defaultValue = "kgw",
            description = "kgw (green list, Kirchenbauer et al.) or synthid (tournament sampling, Dathathri et al. 2024)"
                    + " (default: ${DEFAULT-VALUE}).")
    String schemeName;

    @Option(names = "--watermark-layers", paramLabel = "M", defaultValue = "" + TournamentScheme.DEFAULT_LAYERS,
            description = "synthid: tournament layers, 1..64 (default: ${DEFAULT-VALUE}).")
    int layers;

    /** @return whether {@code --watermark-scheme} names the tournament scheme */
    static boolean synthid(String name) {
        return switch (name) {
            case "kgw" -> false;
            case "synthid" -> true;
            default -> throw new ArgonException("--watermark-scheme is '" + name + "'; expected kgw or synthid");
        };
    }

    /** @return the context width: {@code --watermark-context}, else the scheme's default */
    static int context(Integer given, boolean synthid) {
        return given != null ? given : synthid ? TournamentScheme.DEFAULT_CONTEXT : 1;
    }

    /** @return the green-list scheme, or null without {@code --watermark} */
    WatermarkScheme scheme() {
        return key == null ? null : new WatermarkScheme(WatermarkScheme.keyOf(key), gamma, delta, context(context, false));
    }

    /** @return {@code req} with the watermark step when {@code --watermark} was given */
    GenerationRequest apply(GenerationRequest req) {
        FlagUse.requireFeature(command, key != null, "--watermark", "--watermark-scheme", "--watermark-gamma", "--watermark-delta",
                "--watermark-context", "--watermark-layers");
        boolean synthid = synthid(schemeName);
        if (key == null) {
            return req;
        }
        if (synthid) {
            return req.withSteps(List.of(new TournamentWatermark(
                    new TournamentScheme(WatermarkScheme.keyOf(key), layers, context(context, true)))));
        }
        return req.withSteps(List.of(new Watermark(scheme())));
    }
}
