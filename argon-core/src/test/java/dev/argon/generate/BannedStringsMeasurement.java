package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The issue's {@code --ban-string} measurement through the server's path ({@link BatchScheduler},
 * 4 slots): {@code N} sampled stories260K texts (temperature 1, no truncation, 60 tokens, seeds
 * 0..N-1) with "Lily" and " she" banned, against the same N without the ban. Asserts 0
 * occurrences with the ban; prints {@code MEASURE} lines with the occurrences without it and the
 * cost: forward-pass rows per kept token (machine-independent: every rollback re-runs rows) and
 * wall-clock tokens per second (indicative only; the shared machine is noisy).
 *
 * <p>CI runs N = 16; the size: {@code -Dargon.measure.banned=1000}.
 */
class BannedStringsMeasurement {
    static final List<String> BANNED = List.of("Lily", " she");

    private record Run(int hits, long tokens, long rows, double seconds) {
    }

    private static Run run(LanguageModel model, int n, boolean ban) throws Exception {
        Generator gen = new Generator(model);
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(4, 256, KvCache.Precision.F32, n, 64, false))) {
            long t0 = System.nanoTime();
            List<BatchScheduler.Handle> handles = new ArrayList<>();
            for (int seed = 0; seed < n; seed++) {
                GenerationRequest req = GenerationRequest.of("Once upon a time", 60, new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed));
                if (ban) {
                    req = req.withBacktracking(Backtracking.banning(BANNED));
                }
                handles.add(s.submit(req, gen.tokenizePrompt(req, 256), () -> false));
            }
            int hits = 0;
            long tokens = 0;
            for (BatchScheduler.Handle h : handles) {
                StringBuilder streamed = new StringBuilder();
                GenerationResult r = h.await(streamed::append);
                assertThat(streamed.toString()).isEqualTo(r.text());
                hits += BANNED.stream().anyMatch(r.text()::contains) ? 1 : 0;
                tokens += r.generatedTokens().length;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new Run(hits, tokens, s.stats().rows(), seconds);
        }
    }

    @Test
    void noBannedStringInManySamplesAndItsCost() throws Exception {
        int n = Integer.getInteger("argon.measure.banned", 16);
        try (LanguageModel model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2)) {
            run(model, 8, true); // warm-up (JIT) before anything is timed
            Run plain = run(model, n, false);
            Run banned = run(model, n, true);
            System.out.printf(Locale.ROOT, "MEASURE banned-strings n=%d plain: %d texts with \"Lily\" or \" she\"; banned: %d%n",
                    n, plain.hits(), banned.hits());
            System.out.printf(Locale.ROOT, "MEASURE banned-strings rows/kept token: plain %.3f, banned %.3f (x%.3f)%n",
                    (double) plain.rows() / plain.tokens(), (double) banned.rows() / banned.tokens(),
                    ((double) banned.rows() / banned.tokens()) / ((double) plain.rows() / plain.tokens()));
            System.out.printf(Locale.ROOT, "MEASURE banned-strings tokens/s (scheduler, 4 slots): plain %.1f, banned %.1f%n",
                    plain.tokens() / plain.seconds(), banned.tokens() / banned.seconds());
            assertThat(banned.hits()).as("texts with a banned string despite the ban").isZero();
            assertThat(plain.hits()).as("texts with a banned string without the ban").isGreaterThan(n / 8);
        }
    }
}
