package dev.argon.cli;

import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.generate.Guidance;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code argon bench --cfg-scale S}: the cost of classifier-free guidance ({@link Guidance},
 * Sanchez et al. 2023). Greedy generation of {@code n} tokens from BOS and 15 seeded random tokens
 * (end-of-generation tokens banned, so every run generates {@code n}), without guidance
 * ({@code tgN greedy}) and with it ({@code tgN cfg=S}: the unconditional sequence from the
 * negative prompt rides in the same forward pass as a second row), alternating run by run so that
 * a change in the machine's load hits both alike. One warm-up run of each, then {@code r} runs of
 * each; tokens/s count the tokens after the first over the decode time. Standard error gets the
 * ratio guided / plain of each alternating pair and their median: the number the issue's
 * "guidance costs at most 1/0.65 of plain decoding" check reads.
 */
final class GuidanceBench {
    private static final int PROMPT_TOKENS = 16;

    private final LanguageModel model;
    private final KvCache.Precision kvType;
    private final int n;
    private final int repetitions;
    private final PrintStream err;
    private final int[] prompt = new int[PROMPT_TOKENS];

    GuidanceBench(LanguageModel model, KvCache.Precision kvType, int n, int repetitions, PrintStream err) {
        this.model = model;
        this.kvType = kvType;
        this.n = n;
        this.repetitions = repetitions;
        this.err = err;
        Random random = new Random(42);
        prompt[0] = Math.max(0, model.tokenizer().bos());
        for (int i = 1; i < prompt.length; i++) {
            prompt[i] = random.nextInt(model.config().vocabSize());
        }
    }

    /** Measures both ways, alternating, and returns their two rows. */
    List<BenchCommand.Row> rows(String name, long bytes, String type, int threads, Guidance guidance) {
        String label = "tg" + n;
        String cfg = "cfg=" + guidance.scale();
        err.printf(Locale.ROOT, "argon: %s greedy and %s, alternating, %d threads ...%n", label, cfg, threads);
        SamplingParams greedy = SamplingParams.greedy();
        greedy = greedy.withLogitBias(RunOptions.endOfGenerationBan(model.tokenizer(), greedy));
        // addSpecial: the negative prompt gets BOS as in generate (the prompt ids are given, so only it is tokenized)
        GenerationRequest plain = new GenerationRequest(PromptText.plain(""), n, greedy, List.of(), true, -1);
        GenerationRequest[] reqs = {plain, plain.withGuidance(guidance)};
        Generator[] g = {new Generator(model, kvType), new Generator(model, kvType)};
        int ctx = PROMPT_TOKENS + n + 2;
        double[][] tps = new double[2][repetitions];
        for (int r = -1; r < repetitions; r++) {
            for (int i = 0; i < 2; i++) {
                double t = once(g[i], reqs[i], ctx);
                if (r >= 0) {
                    tps[i][r] = t;
                }
            }
        }
        double[] ratios = new double[repetitions];
        StringBuilder each = new StringBuilder();
        for (int r = 0; r < repetitions; r++) {
            ratios[r] = tps[0][r] > 0 ? tps[1][r] / tps[0][r] : 0;
            each.append(r == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", ratios[r]));
        }
        err.printf(Locale.ROOT, "argon: %s %s / %s greedy, median of %d paired runs: %.2fx (each pair: %s)%n", label, cfg, label,
                repetitions, median(ratios), each);
        return List.of(
                new BenchCommand.Row(name, bytes, model.parameterCount(), type, threads, 1, label + " greedy",
                        BenchCommand.mean(tps[0]), BenchCommand.sd(tps[0]), null, null),
                new BenchCommand.Row(name, bytes, model.parameterCount(), type, threads, 1, label + " " + cfg,
                        BenchCommand.mean(tps[1]), BenchCommand.sd(tps[1]), null, null));
    }

    /**
     * Tokenizes the negative prompt as the guided rows will, before any test runs.
     *
     * @throws dev.argon.ArgonException if it is empty and the model adds no BOS token
     */
    static void checkNegativePrompt(LanguageModel model, KvCache.Precision kvType, Guidance guidance) {
        GenerationRequest req = new GenerationRequest(PromptText.plain(""), 1, SamplingParams.greedy(), List.of(), true, -1)
                .withGuidance(guidance);
        new Generator(model, kvType).tokenizeNegativePrompt(req, PROMPT_TOKENS + 3);
    }

    /** @return the median of {@code v} (the mean of the middle two for an even count) */
    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    private double once(Generator g, GenerationRequest req, int ctx) {
        GenerationResult r = g.run(req, prompt, ctx, new GenerationListener() {
            @Override
            public void onText(String text) {
            }
        }, () -> false);
        return r.decodeTokensPerSecond();
    }
}
