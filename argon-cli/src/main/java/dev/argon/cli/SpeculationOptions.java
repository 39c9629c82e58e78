package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.DraftAcceptance;
import dev.argon.generate.SpeculationParams;
import dev.argon.generate.SpeculationStats;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Speculative decoding flags, with llama.cpp's names where it has them ({@code -md/--model-draft},
 * {@code --draft-max}, {@code --draft-min}, {@code --draft-p-min}, and its newer {@code --spec-type},
 * {@code --spec-draft-n-max}, {@code --spec-draft-n-min}, {@code --spec-draft-p-min}) and Argon's for the rest
 * ({@code --spec}, {@code --spec-ngram-min/max}, {@code --lookahead-window/-ngram/-guess} (the W, N, G of
 * Fu et al. 2024), {@code --spec-disable-batch-size}, after vLLM's {@code speculative_disable_by_batch_size}, and the lossy
 * {@code --spec-accept typical} with {@code --spec-typical-epsilon/-delta}, Medusa's typical acceptance, {@link DraftAcceptance}).
 */
final class SpeculationOptions {
    @Option(names = {"--spec", "--spec-type"}, paramLabel = "TYPE",
            description = "Speculative decoding: none, ngram (prompt lookup: drafts copied from earlier text), draft (-md) or"
                    + " lookahead (Jacobi guesses and their n-grams);"
                    + " the output is the same, only the speed changes (default: none, or draft with -md).")
    String type;

    @Option(names = {"-md", "--model-draft", "--spec-draft-model"}, paramLabel = "FILE",
            description = "Draft model for speculative decoding (a smaller model over the same vocabulary).")
    Path draftModel;

    @Option(names = {"--draft-max", "--spec-draft-n-max"}, paramLabel = "N", defaultValue = "16",
            description = "Most draft tokens verified per pass; the length adapts to the acceptance below it (default: ${DEFAULT-VALUE}).")
    int draftMax;

    @Option(names = {"--draft-min", "--spec-draft-n-min"}, paramLabel = "N", defaultValue = "0",
            description = "Shorter drafts are not verified (default: ${DEFAULT-VALUE}).")
    int draftMin;

    @Option(names = {"--draft-p-min", "--spec-draft-p-min"}, paramLabel = "P", defaultValue = "0.75",
            description = "A draft model stops drafting when its most likely token's probability is below P (default: ${DEFAULT-VALUE}).")
    float draftPMin;

    @Option(names = "--spec-ngram-min", paramLabel = "N", defaultValue = "2",
            description = "Shortest n-gram prompt lookup matches (default: ${DEFAULT-VALUE}).")
    int ngramMin;

    @Option(names = "--spec-ngram-max", paramLabel = "N", defaultValue = "4",
            description = "Longest n-gram prompt lookup matches (default: ${DEFAULT-VALUE}).")
    int ngramMax;

    @Option(names = "--lookahead-window", paramLabel = "W", defaultValue = "6",
            description = "Lookahead decoding: Jacobi guesses run per pass (default: ${DEFAULT-VALUE}).")
    int lookaheadWindow;

    @Option(names = "--lookahead-ngram", paramLabel = "N", defaultValue = "4",
            description = "Lookahead decoding: n-gram size; each pass verifies one n-gram of N - 1 tokens (default: ${DEFAULT-VALUE}).")
    int lookaheadNgram;

    @Option(names = "--lookahead-guess", paramLabel = "G", defaultValue = "8",
            description = "Lookahead decoding: most n-grams kept per first token (default: ${DEFAULT-VALUE}).")
    int lookaheadGuess;

    @Option(names = "--spec-disable-batch-size", paramLabel = "N", defaultValue = "4",
            description = "No speculation while more than N sequences decode together (the batch already fills each pass)"
                    + " (default: ${DEFAULT-VALUE}).")
    int disableBatchSize;

    @Option(names = "--spec-accept", paramLabel = "RULE", defaultValue = "exact",
            description = "How draft tokens are accepted: exact (the output is unchanged) or typical (LOSSY: Medusa's typical"
                    + " acceptance also keeps a draft token x when p(x) > min(epsilon, delta*exp(-entropy)); sampled requests"
                    + " only) (default: ${DEFAULT-VALUE}).")
    String accept;

    @Option(names = "--spec-typical-epsilon", paramLabel = "P", defaultValue = "0.09",
            description = "--spec-accept typical: the hard probability threshold epsilon (Medusa's posterior_threshold)"
                    + " (default: ${DEFAULT-VALUE}).")
    float typicalEpsilon;

    @Option(names = "--spec-typical-delta", paramLabel = "D", defaultValue = "0.3",
            description = "--spec-accept typical: the entropy-dependent threshold delta*exp(-H) (Medusa's posterior_alpha)"
                    + " (default: ${DEFAULT-VALUE}).")
    float typicalDelta;

    /** The command, to tell flags given from defaults (null when the options are built without picocli). */
    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec command;

    /**
     * The settings of the flags for a run that speculates only as they say ({@code generate}, {@code chat},
     * {@code bench}): a flag that tunes another kind of speculation than the one on is an error.
     *
     * @return the settings of the flags
     * @throws ArgonException naming the flag if one is invalid or would be ignored, or if {@code --spec draft} lacks {@code -md}
     */
    SpeculationParams params() {
        SpeculationParams p = defaults();
        FlagUse.requireFeature(command, p.active(), "speculative decoding (--spec ngram, draft or lookahead, or -md)", "--draft-max",
                "--draft-min", "--draft-p-min", "--spec-ngram-min", "--spec-ngram-max", "--spec-disable-batch-size",
                "--lookahead-window", "--lookahead-ngram", "--lookahead-guess", "--spec-accept", "--spec-typical-epsilon",
                "--spec-typical-delta");
        if (!p.acceptance().typical()) {
            String given = FlagUse.firstGiven(command, "--spec-typical-epsilon", "--spec-typical-delta");
            if (given != null) {
                throw new ArgonException(given + " applies to --spec-accept typical, but this run uses --spec-accept exact");
            }
        }
        String wrongKind = null;
        String owner = null;
        if (p.mode() != SpeculationParams.Mode.LOOKAHEAD) {
            wrongKind = FlagUse.firstGiven(command, "--lookahead-window", "--lookahead-ngram", "--lookahead-guess");
            owner = "--spec lookahead";
        }
        if (wrongKind == null && p.mode() == SpeculationParams.Mode.NGRAM) {
            wrongKind = FlagUse.firstGiven(command, "--draft-p-min");
            owner = "--spec draft";
        } else if (wrongKind == null && p.mode() == SpeculationParams.Mode.DRAFT) {
            wrongKind = FlagUse.firstGiven(command, "--spec-ngram-min", "--spec-ngram-max");
            owner = "--spec ngram";
        }
        if (wrongKind != null) {
            throw new ArgonException(wrongKind + " applies to " + owner + ", but this run uses --spec " + p.mode().flagName());
        }
        return p;
    }

    /**
     * The settings of the flags as defaults that requests may change ({@code serve}: a request's
     * {@code speculative.type} may turn on a kind of speculation the flags tune).
     *
     * @return the settings of the flags
     * @throws ArgonException naming the flag if one is invalid, or if {@code --spec draft} lacks {@code -md}
     */
    SpeculationParams defaults() {
        SpeculationParams.Mode mode = type != null ? SpeculationParams.Mode.parse(type, "--spec")
                : draftModel != null ? SpeculationParams.Mode.DRAFT : SpeculationParams.Mode.NONE;
        if (mode == SpeculationParams.Mode.DRAFT && draftModel == null) {
            throw new ArgonException("--spec draft needs a draft model (-md/--model-draft FILE)");
        }
        if (draftModel != null && mode != SpeculationParams.Mode.DRAFT) {
            throw new ArgonException("-md/--model-draft is given but --spec is " + mode.flagName() + "; use --spec draft or drop -md");
        }
        SpeculationParams p = new SpeculationParams(mode, draftMin, draftMax, ngramMin, ngramMax, draftPMin, disableBatchSize,
                new SpeculationParams.Lookahead(lookaheadWindow, lookaheadNgram, lookaheadGuess),
                new DraftAcceptance(DraftAcceptance.Rule.parse(accept == null ? "exact" : accept, "--spec-accept"), typicalEpsilon,
                        typicalDelta));
        p.validate();
        return p;
    }

    /**
     * @throws ArgonException if speculation is asked for together with an evicting KV cache policy
     */
    static void checkPolicy(SpeculationParams p, ContextPolicyOptions policy) {
        if (p.active() && policy.evicts()) {
            throw new ArgonException("speculative decoding (--spec, -md) cannot be combined with --context-shift, --kv-sink, --kv-policy or"
                    + " --kv-heavy (evicting tokens would move the rows a draft is verified at)");
        }
    }

    /** Prints the speculation line of a run's report (nothing when no draft was verified). */
    static void report(SpeculationParams p, SpeculationStats s, PrintStream err) {
        report(p, s.verifyPasses(), s.proposed(), s.accepted(), s.lenientAccepted(), err);
    }

    /** {@link #report(SpeculationParams, SpeculationStats, PrintStream)} from the counters themselves (a server engine's). */
    static void report(SpeculationParams p, long passes, long proposed, long accepted, long lenient, PrintStream err) {
        if (!p.active()) {
            return;
        }
        if (passes == 0) {
            err.printf("argon: speculative (%s): no verify pass ran (no draft was proposed)%n", p.mode().flagName());
            return;
        }
        err.printf(Locale.ROOT, "argon: speculative (%s): %d verify pass%s, %d draft tokens, %d accepted (%.1f %%),"
                        + " %.2f accepted per pass%s%n", p.mode().flagName(), passes, passes == 1 ? "" : "es",
                proposed, accepted,
                100.0 * accepted / Math.max(1, proposed), (double) accepted / passes, !p.acceptance().typical() ? ""
                        : String.format(Locale.ROOT, "; typical acceptance (lossy, epsilon %s, delta %s): %d accepted that exact"
                                + " verification would have rejected", p.acceptance().epsilon(), p.acceptance().delta(),
                        lenient));
    }
}
