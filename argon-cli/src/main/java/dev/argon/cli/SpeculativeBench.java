package dev.argon.cli;

import dev.argon.generate.BatchScheduler;
import dev.argon.generate.DraftProposer;
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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code argon bench --spec ...}: greedy generation of {@code n} tokens by {@code np} sequences
 * (each from BOS and 15 seeded random tokens; end-of-generation tokens banned, so every run
 * generates {@code n}) three ways, alternating run by run so that a change in the machine's load
 * hits all alike: plain ({@code tgN greedy}), with the asked-for proposer ({@code tgN spec=ngram}),
 * and with an oracle that proposes the greedy output itself ({@code tgN spec=oracle}: every draft
 * is accepted, so this row is the most speculation with {@code --draft-max} tokens can gain on this
 * model and machine: the cost of verification rows against the passes they save). With
 * {@code np=P}, P sequences run in a {@link BatchScheduler}. Tokens/s count the tokens after the
 * first over the decode time (P sequences: their sum over the longest decode time). One warm-up
 * run of each, then {@code r} runs of each.
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
    /** Each prompt followed by its greedy output (recorded by the plain runs), for the oracle. */
    private final int[][] greedyText;

    SpeculativeBench(LanguageModel model, KvCache.Precision kvType, int n, int np, int repetitions, PrintStream err) {
        this.model = model;
        this.kvType = kvType;
        this.n = n;
        this.np = np;
        this.repetitions = repetitions;
        this.err = err;
        this.prompts = new int[np][PROMPT_TOKENS];
        this.greedyText = new int[np][];
        Random random = new Random(42);
        int vocab = model.config().vocabSize();
        for (int[] p : prompts) {
            p[0] = Math.max(0, model.tokenizer().bos());
            for (int i = 1; i < p.length; i++) {
                p[i] = random.nextInt(vocab);
            }
        }
    }

    /** Proposes the recorded greedy continuation of the sequence's prompt: always accepted. */
    private final class Oracle implements DraftProposer {
        @Override
        public int propose(int[] tokens, int length, int max, int[] out) {
            for (int[] full : greedyText) {
                if (full != null && Arrays.equals(full, 0, PROMPT_TOKENS, tokens, 0, PROMPT_TOKENS)) {
                    int k = Math.max(0, Math.min(max, full.length - length));
                    System.arraycopy(full, length, out, 0, k);
                    return k;
                }
            }
            return 0;
        }
    }

    /** Measures the three ways and returns their rows. */
    List<BenchCommand.Row> rows(String name, long bytes, String type, int threads, SpeculationParams spec) {
        String label = "tg" + n + (np > 1 ? " np=" + np : "");
        err.printf(Locale.ROOT, "argon: %s greedy, spec=%s and spec=oracle, alternating, %d threads ...%n", label,
                spec.mode().flagName(), threads);
        SamplingParams greedy = SamplingParams.greedy();
        greedy = greedy.withLogitBias(RunOptions.endOfGenerationBan(model.tokenizer(), greedy));
        GenerationRequest plain = new GenerationRequest(PromptText.plain(""), n, greedy, List.of(), false, -1);
        GenerationRequest[] reqs = {plain, plain.withSpeculation(spec),
                plain.withSpeculation(spec.withMode(SpeculationParams.Mode.DRAFT).withPMin(0))};
        String[] names = {"greedy", "spec=" + spec.mode().flagName(), "spec=oracle"};
        int ctx = PROMPT_TOKENS + n + 2;
        double[][] tps = new double[3][repetitions];
        long[][] stats = new long[3][];
        if (np == 1) {
            Generator[] g = new Generator[3];
            for (int i = 0; i < 3; i++) {
                g[i] = new Generator(model, kvType).withDraftModel(Oracle::new);
            }
            for (int r = -1; r < repetitions; r++) {
                for (int i = 0; i < 3; i++) {
                    double t = once(g[i], reqs[i], ctx);
                    if (r >= 0) {
                        tps[i][r] = t;
                    }
                }
            }
            for (int i = 0; i < 3; i++) {
                var s = g[i].speculationStats();
                stats[i] = new long[] {s.proposed(), s.accepted(), s.verifyPasses()};
            }
        } else {
            BatchScheduler[] sched = new BatchScheduler[3];
            try {
                for (int i = 0; i < 3; i++) {
                    sched[i] = new BatchScheduler(model, new BatchScheduler.Options(np, ctx, kvType, 0, np * PROMPT_TOKENS, false));
                    sched[i].setDraftModel(Oracle::new);
                }
                for (int r = -1; r < repetitions; r++) {
                    for (int i = 0; i < 3; i++) {
                        double t = batched(sched[i], reqs[i]);
                        if (r >= 0) {
                            tps[i][r] = t;
                        }
                    }
                }
                for (int i = 0; i < 3; i++) {
                    var s = sched[i].stats();
                    stats[i] = new long[] {s.draftTokens(), s.acceptedDraftTokens(), s.verifyPasses()};
                }
            } finally {
                for (BatchScheduler s : sched) {
                    if (s != null) {
                        s.close();
                    }
                }
            }
        }
        List<BenchCommand.Row> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            long[] s = stats[i];
            if (i > 0) {
                if (s[2] == 0) {
                    err.printf("argon: %s %s: no verify pass ran (no draft was proposed)%n", label, names[i]);
                } else {
                    err.printf(Locale.ROOT, "argon: %s %s: %d draft tokens, %.1f %% accepted, %.2f tokens per verify pass%n", label,
                            names[i], s[0], s[0] == 0 ? 0 : 100.0 * s[1] / s[0], 1 + s[1] / (double) s[2]);
                }
            }
            rows.add(new BenchCommand.Row(name, bytes, model.parameterCount(), type, threads, np, label + " " + names[i],
                    BenchCommand.mean(tps[i]), BenchCommand.sd(tps[i]), null, null));
        }
        return rows;
    }

    private double once(Generator g, GenerationRequest req, int ctx) {
        GenerationResult r = g.run(req, prompts[0], ctx, new GenerationListener() {
            @Override
            public void onText(String text) {
            }
        }, () -> false);
        record(0, r);
        return r.decodeTokensPerSecond();
    }

    private double batched(BatchScheduler sched, GenerationRequest req) {
        List<BatchScheduler.Handle> hs = new ArrayList<>();
        for (int[] p : prompts) {
            hs.add(sched.submit(req, p, () -> false));
        }
        long tokens = 0;
        double longest = 0;
        for (int i = 0; i < hs.size(); i++) {
            try {
                GenerationResult r = hs.get(i).await(new GenerationListener() {
                    @Override
                    public void onText(String text) {
                    }
                });
                record(i, r);
                tokens += r.generatedTokens().length - 1;
                longest = Math.max(longest, r.decodeSeconds());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return longest > 0 ? tokens / longest : 0;
    }

    /** Keeps the first greedy output of prompt {@code i} for the oracle (every way gives the same output). */
    private void record(int i, GenerationResult r) {
        if (greedyText[i] == null) {
            int[] full = Arrays.copyOf(prompts[i], PROMPT_TOKENS + r.generatedTokens().length);
            System.arraycopy(r.generatedTokens(), 0, full, PROMPT_TOKENS, r.generatedTokens().length);
            greedyText[i] = full;
        }
    }
}
