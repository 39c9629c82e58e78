package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;
import dev.argon.watermark.TournamentDetector;
import dev.argon.watermark.TournamentScheme;
import dev.argon.watermark.WatermarkDetector;
import dev.argon.watermark.WatermarkScheme;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** {@code argon watermark}: tools for the green-list watermark that {@code generate --watermark} writes. */
@Command(name = "watermark", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Watermark tools (Kirchenbauer et al. 2023 green list; SynthID-style tournament with --watermark-scheme synthid).",
        subcommands = WatermarkCommand.Detect.class)
final class WatermarkCommand implements Runnable {
    @ParentCommand
    Main parent;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "missing subcommand: use 'argon watermark detect --key KEY FILE...'");
    }

    /**
     * {@code argon watermark detect}: tokenizes each file with the model's tokenizer (only the
     * vocabulary is read) and prints the green-token count, z-score and p-value of the one-sided
     * z-test, and with {@code --window} the same per window.
     */
    @Command(name = "detect", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
            description = "Test texts for the watermark of a key: prints tokens scored, green tokens, z-score and p-value per file.")
    static final class Detect implements Runnable {
        @ParentCommand
        WatermarkCommand watermark;

        @Mixin
        ModelOption modelOption;

        @Option(names = "--key", paramLabel = "KEY", required = true, description = "The secret key given to --watermark.")
        String key;

        @Option(names = "--watermark-gamma", paramLabel = "G", defaultValue = "0.25",
                description = "Green share used when generating (default: ${DEFAULT-VALUE}).")
        double gamma;

        @Option(names = "--watermark-context", paramLabel = "H",
                description = "Context width used when generating (default: 1 for kgw, 4 for synthid).")
        Integer context;

        @Option(names = "--watermark-scheme", paramLabel = "NAME", defaultValue = "kgw",
                description = "The scheme used when generating: kgw or synthid (default: ${DEFAULT-VALUE}).")
        String schemeName;

        @Option(names = "--watermark-layers", paramLabel = "M", defaultValue = "" + TournamentScheme.DEFAULT_LAYERS,
                description = "synthid: tournament layers used when generating (default: ${DEFAULT-VALUE}).")
        int layers;

        @Option(names = "--z-threshold", paramLabel = "Z", defaultValue = "4",
                description = "z-score from which a text is reported as watermarked (default: ${DEFAULT-VALUE}).")
        double threshold;

        @Option(names = "--window", paramLabel = "N", defaultValue = "0",
                description = "Also score windows of N tokens (half-overlapping), for texts only partly watermarked; 0 = off.")
        int window;

        @Parameters(paramLabel = "FILE", arity = "1..*", description = "UTF-8 text files to test; - = standard input.")
        List<Path> files;

        /** Standard input, for the file {@code -} (tests set their own). */
        java.io.InputStream stdin = System.in;

        @Override
        public void run() {
            PrintStream out = watermark.parent.streams().out();
            boolean synthid = WatermarkOptions.synthid(schemeName);
            int h = WatermarkOptions.context(context, synthid);
            WatermarkScheme scheme = synthid ? null : new WatermarkScheme(WatermarkScheme.keyOf(key), gamma, WatermarkScheme.DEFAULT_DELTA, h);
            TournamentScheme tournament = synthid ? new TournamentScheme(WatermarkScheme.keyOf(key), layers, h) : null;
            if (window != 0 && window <= h + 1) {
                throw new ArgonException("--window is " + window + "; expected 0 (off) or more than " + (h + 1) + " tokens");
            }
            if (files.stream().filter(p -> p.toString().equals("-")).count() > 1) {
                throw new ArgonException("- (standard input) is given more than once; it can be read only once");
            }
            // every file is read before any is scored: a missing one fails the run before the first result
            List<String> texts = new java.util.ArrayList<>();
            for (Path file : files) {
                texts.add(file.toString().equals("-") ? TextFiles.readUtf8(stdin, "text from standard input (-)")
                        : TextFiles.readUtf8(file, "text file"));
            }
            try (GgufFile f = GgufFile.open(modelOption.resolve())) {
                Tokenizer tok = Tokenizers.fromGguf(f);
                for (int i = 0; i < files.size(); i++) {
                    Path file = files.get(i);
                    String text = texts.get(i);
                    int[] ids = tok.encode(text, false, false);
                    if (synthid) {
                        TournamentDetector detector = new TournamentDetector(tournament);
                        TournamentDetector.Score s = detector.detect(ids);
                        out.printf(Locale.ROOT, "%s: %s%s%n", file, line(s), verdict(s.scored(), s.z()));
                        if (window > 0) {
                            for (TournamentDetector.Score w : detector.windows(ids, window)) {
                                out.printf(Locale.ROOT, "  tokens %d..%d: %s%n", w.start(), Math.min(ids.length, w.start() + window), line(w));
                            }
                        }
                        continue;
                    }
                    WatermarkDetector detector = new WatermarkDetector(scheme);
                    WatermarkDetector.Score s = detector.detect(ids);
                    out.printf(Locale.ROOT, "%s: %s%s%n", file, line(s), verdict(s.scored(), s.z()));
                    if (window > 0) {
                        for (WatermarkDetector.Score w : detector.windows(ids, window)) {
                            out.printf(Locale.ROOT, "  tokens %d..%d: %s%n", w.start(), Math.min(ids.length, w.start() + window), line(w));
                        }
                    }
                }
            }
        }

        private String verdict(int scored, double z) {
            return scored == 0 ? " (too short to test)" : z >= threshold ? " watermarked" : " not watermarked";
        }

        private static String line(TournamentDetector.Score s) {
            return String.format(Locale.ROOT, "scored %d mean g %.4f z %.2f p %.3g", s.scored(), s.meanG(), s.z(), s.pValue());
        }

        private static String line(WatermarkDetector.Score s) {
            return String.format(Locale.ROOT, "scored %d green %d (%.3f) z %.2f p %.3g", s.scored(), s.green(),
                    s.greenFraction(), s.z(), s.pValue());
        }
    }
}
