package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.generate.Guidance;
import dev.argon.tokenizer.PromptText;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code argon generate}: streams a continuation of the prompt to standard output. Diagnostics and
 * the speed report go to standard error, so the output can be piped.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = "Generate text from a prompt. Standard output carries only the generated text.")
final class GenerateCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Mixin
    RunOptions run;

    @Mixin
    StructuredOutputOptions structured;

    @Mixin
    WatermarkOptions watermark;

    @Mixin
    SpeculationOptions speculation;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "Prompt text (default: empty, start from BOS).")
    String prompt;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the prompt from a UTF-8 file; - = standard input.")
    Path promptFile;

    /** Standard input, for {@code -f -} (tests set their own). */
    java.io.InputStream stdin = System.in;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "256",
            description = "Tokens to generate; -1 = until end of sequence or the context is full (default: ${DEFAULT-VALUE}).")
    int nPredict;

    @Option(names = "--stop", paramLabel = "TEXT", converter = ArgumentConverters.NonEmptyText.class, description = "Stop when this text appears (not printed); repeatable.")
    List<String> stop = List.of();

    @Option(names = "--ignore-eos",
            description = "Never end at an end-of-generation token (its logit is biased by -100, as OpenAI's logit_bias bans a token); with -n, run to the limit.")
    boolean ignoreEos;

    @Option(names = "--ban-string", paramLabel = "TEXT",
            description = "Never emit this text: back up to the token that started it and ban that token there; repeatable.")
    List<String> banStrings = List.of();

    @Option(names = "--backspace-token", paramLabel = "ID", defaultValue = "-1",
            description = "A token id that deletes the token before it when the model samples it (SequenceMatch); -1: none.")
    int backspaceToken = -1;

    @Option(names = "--echo", description = "Print the prompt before the generated text.")
    boolean echo;

    @Option(names = "--parse-special", description = "Treat text such as <s> in the prompt as the special token it names.")
    boolean parseSpecial;

    @Option(names = "--cfg-scale", paramLabel = "S", defaultValue = "1.0",
            description = "Classifier-free guidance scale; 1 = off, > 1 steers away from the negative prompt (default: ${DEFAULT-VALUE}).")
    float cfgScale;

    @Option(names = "--cfg-negative-prompt", paramLabel = "TEXT",
            description = "Negative prompt for classifier-free guidance (default: empty, i.e. only BOS).")
    String cfgNegativePrompt;

    @Mixin
    RewardOptions reward;

    @Override
    public void run() {
        PrintStream out = parent.streams().out();
        PrintStream err = parent.streams().err();
        String text = promptText();
        GenerationRequest request = watermark.apply(new GenerationRequest(text, nPredict, run.sampling(), stop, true, parseSpecial))
                .withConstraint(structured.constraint());
        if (cfgNegativePrompt != null && cfgScale == 1f) {
            throw new ArgonException("--cfg-negative-prompt needs --cfg-scale other than 1 (1 = no guidance)");
        }
        request = request.withGuidance(new Guidance(cfgScale,
                new PromptText(cfgNegativePrompt == null ? "" : cfgNegativePrompt, parseSpecial, null)));
        request = request.withSpeculation(speculation.params());
        run.validate(request);
        SpeculationOptions.checkPolicy(request.speculation(), run.contextPolicy);
        if (backspaceToken < -1) {
            throw new ArgonException("--backspace-token is " + backspaceToken + "; expected a token id (0 or more), or -1 for none");
        }
        boolean backtrack = !banStrings.isEmpty() || backspaceToken != -1;
        if (request.speculation().active() && (request.guided() || reward.active() || backtrack)) {
            throw new ArgonException("speculative decoding (--spec, -md) cannot be combined with --cfg-scale, --reward-model,"
                    + " --ban-string or --backspace-token");
        }
        reward.validate();
        if (backtrack && (request.guided() || reward.active() || request.constraint() != null)) {
            throw new ArgonException("--ban-string and --backspace-token cannot be combined with --cfg-scale, --reward-model, --grammar"
                    + " or --json-schema");
        }
        if (backspaceToken != -1) {
            request = request.withBacktracking(request.backtracking().withBackspaceToken(backspaceToken));
        }
        if (reward.active() && request.guided()) {
            throw new ArgonException("classifier-free guidance (--cfg-scale) and reward models (--reward-model) cannot be combined");
        }
        int nThreads = run.threadCount();
        Path path = modelOption.resolve();
        long loadStart = System.nanoTime();
        try (LanguageModel model = Models.load(path, run.modelOptions())) {
            int ctx = run.contextFor(model, err);
            Generator generator = run.generator(model, ctx).withBannedStrings(banStrings);
            if (ignoreEos) {
                request = request.withSampling(request.sampling().withLogitBias(
                        RunOptions.endOfGenerationBan(model.tokenizer(), request.sampling())));
            }
            List<LanguageModel> rewardLoaded = new java.util.ArrayList<>();
            try {
                if (request.speculation().mode() == dev.argon.generate.SpeculationParams.Mode.DRAFT) {
                    LanguageModel draft = Models.load(speculation.draftModel, run.modelOptions());
                    rewardLoaded.add(draft); // closed below
                    generator = generator.withDraftModel(dev.argon.generate.DraftModelProposer.factory(model, draft, ctx,
                            run.cachePrecision(), request.speculation().pMin()));
                }
                if (reward.active()) {
                    generator = generator.withRewards(reward.load(run.modelOptions(), rewardLoaded));
                }
                generate(generator, model, path, loadStart, request, ctx, text, out, err, nThreads);
            } finally {
                for (LanguageModel rm : rewardLoaded) {
                    rm.close();
                }
            }
        }
    }

    private void generate(Generator generator, LanguageModel model, Path path, long loadStart, GenerationRequest request, int ctx,
                          String text, PrintStream out, PrintStream err, int nThreads) {
        int[] promptIds = generator.tokenizePrompt(request, ctx);
        run.printPrompt(model.tokenizer(), promptIds, err);
        err.printf(Locale.ROOT, "argon: %s (%s, %d parameters) loaded in %.2f s, context %d, %d threads%n",
                path.getFileName(), model.config().architecture(), model.parameterCount(),
                (System.nanoTime() - loadStart) / 1e9, ctx, nThreads);
        run.printKvCache(model, ctx, request.guided() ? 2 : 1, err);
        reward.printLoaded(err);
        if (echo) {
            out.print(text);
            out.flush();
        }
        // A closed pipe (| head) or a full disk stops the generation instead of running on unseen.
        GenerationResult r = generator.generate(request, promptIds, ctx, piece -> {
            out.print(piece);
            out.flush();
        }, out::checkError);
        out.println();
        out.flush();
        err.printf(Locale.ROOT, "argon: prompt %d tokens %.1f tokens/s | generated %d tokens %.1f tokens/s | finish: %s%s%n",
                r.promptTokens().length, r.prefillTokensPerSecond(), r.generatedTokens().length,
                r.decodeTokensPerSecond(), r.finishReason().name().toLowerCase(Locale.ROOT),
                run.temperature > 0 ? " | seed " + r.seed() : "");
        SpeculationOptions.report(request.speculation(), generator.speculationStats(), err);
        // a reader that went away (| head) ends the command quietly; any other write error is one
        if (out.checkError() && !CheckedOutput.readerClosed(out)) {
            throw new ArgonException("cannot write the generated text to standard output (full disk or another write error)");
        }
    }

    private String promptText() {
        if (prompt != null && promptFile != null) {
            throw new ArgonException("give the prompt either with -p or with -f, not both");
        }
        if (promptFile != null && promptFile.toString().equals("-")) {
            return TextFiles.readUtf8(stdin, "prompt from standard input (-f -)");
        }
        if (promptFile != null) {
            return TextFiles.readUtf8(promptFile, "prompt file");
        }
        return prompt == null ? "" : prompt;
    }
}
