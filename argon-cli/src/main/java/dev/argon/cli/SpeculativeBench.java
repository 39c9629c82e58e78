package dev.argon.cli;

import dev.argon.generate.BatchScheduler;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.generate.SpeculationParams;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code argon bench --spec ...}: greedy generation of {@code n} tokens by {@code np} sequences
 * (each from BOS and 15 seeded random tokens; end-of-generation tokens banned, so every run
 * generates {@code n}), with and without speculative decoding: {@code tgN greedy} and
 * {@code tgN spec=ngram} (with {@code np=P} for P sequences in a {@link BatchScheduler}). Tokens/s
 * count the tokens after the first over the decode time (for P sequences: their sum over the
 * longest decode time). One warm-up run each, then {@code r} runs of each, alternating. Random-weight models fall into
 * repeating loops under greedy decoding, where prompt lookup is accepted often: the rows show
 * what verification costs and gains, not the acceptance on real text.
 */
final class SpeculativeBench {
    private static final int PROMPT_TOKENS = 16;

    private final LanguageModel model;
    private final KvCache.Precision kvType;
    private final int n;
    private final int np;
    private final int repetitions;
    private final PrintStream err;
    private final int[][] prompts;

    SpeculativeBench(LanguageModel model, KvCache.Precision kvType, int n, int np, int repetitions, PrintStream err) {
        this.model = model;
        this.kvType = kvType;
        this.n = n;
        this.np = np;
        this.repetitions = repetitions;
        this.err = err;
        this.prompts = new int[np][PROMPT_TOKENS];
        Random random = new Random(42);
        int vocab = model.config().vocabSize();
        for (int[] p : prompts) {
            p[0] = Math.max(0, model.tokenizer().bos());
            for (int i = 1; i < p.length; i++) {
                p[i] = random.nextInt(vocab);
            }
        }
    }

    /**
     * Measures greedy generation without and with {@code spec}, alternating run by run (so a
     * change in the machine's load hits both alike), and returns the two rows.
     */
    List<BenchCommand.Row> rows(String name, long bytes, String type, int threads, SpeculationParams spec) {
        String label = "tg" + n + (np > 1 ? " np=" + np : "");
        err.printf(Locale.ROOT, "argon: %s greedy and spec=%s, alternating, %d threads ...%n", label, spec.mode().flagName(), threads);
        SamplingParams greedy = SamplingParams.greedy();
        greedy = greedy.withLogitBias(RunOptions.endOfGenerationBan(model.tokenizer(), greedy));
        GenerationRequest plain = new GenerationRequest(PromptText.plain(""), n, greedy, List.of(), false, -1);
        GenerationRequest speculative = plain.withSpeculation(spec);
        int ctx = PROMPT_TOKENS + n + 2;
        double[] tpsPlain = new double[repetitions];
        double[] tpsSpec = new double[repetitions];
        long[] stats;
        if (np == 1) {
            Generator g = new Generator(model, kvType);
            Generator gs = new Generator(model, kvType);
            once(g, plain, ctx);
            once(gs, speculative, ctx);
            for (int r = 0; r < repetitions; r++) {
                tpsPlain[r] = once(g, plain, ctx);
                tpsSpec[r] = once(gs, speculative, ctx);
            }
            var s = gs.speculationStats();
            stats = new long[] {s.proposed(), s.accepted(), s.verifyPasses()};
        } else {
            try (BatchScheduler sched = new BatchScheduler(model, new BatchScheduler.Options(np, ctx, kvType, 0, np * PROMPT_TOKENS, false))) {
                batched(sched, plain);
                batched(sched, speculative);
                for (int r = 0; r < repetitions; r++) {
                    tpsPlain[r] = batched(sched, plain);
                    tpsSpec[r] = batched(sched, speculative);
                }
                var s = sched.stats();
                stats = new long[] {s.draftTokens(), s.acceptedDraftTokens(), s.verifyPasses()};
            }
        }
        err.printf(Locale.ROOT, "argon: %s spec=%s: %d draft tokens, %.1f %% accepted, %.2f tokens per verify pass%n", label,
                spec.mode().flagName(), stats[0], stats[0] == 0 ? 0 : 100.0 * stats[1] / stats[0],
                stats[2] == 0 ? 0 : 1 + stats[1] / (double) stats[2]);
        return List.of(
                new BenchCommand.Row(name, bytes, model.parameterCount(), type, threads, np, label + " greedy",
                        BenchCommand.mean(tpsPlain), BenchCommand.sd(tpsPlain), null, null),
                new BenchCommand.Row(name, bytes, model.parameterCount(), type, threads, np, label + " spec=" + spec.mode().flagName(),
                        BenchCommand.mean(tpsSpec), BenchCommand.sd(tpsSpec), null, null));
    }

    private double once(Generator g, GenerationRequest req, int ctx) {
        GenerationResult r = g.run(req, prompts[0], ctx, new GenerationListener() {
            @Override
            public void onText(String text) {
            }
        }, () -> false);
        return r.decodeTokensPerSecond();
    }

    private double batched(BatchScheduler sched, GenerationRequest req) {
        List<BatchScheduler.Handle> hs = new ArrayList<>();
        for (int[] p : prompts) {
            hs.add(sched.submit(req, p, () -> false));
        }
        long tokens = 0;
        double longest = 0;
        for (BatchScheduler.Handle h : hs) {
            try {
                GenerationResult r = h.await(new GenerationListener() {
                    @Override
                    public void onText(String text) {
                    }
                });
                tokens += r.generatedTokens().length - 1;
                longest = Math.max(longest, r.decodeSeconds());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return longest > 0 ? tokens / longest : 0;
    }
}
