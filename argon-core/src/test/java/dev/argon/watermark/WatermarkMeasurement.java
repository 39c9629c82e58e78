package dev.argon.watermark;

import dev.argon.TestFiles;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplerStep;
import dev.argon.sampling.SamplingParams;
import dev.argon.sampling.TokenLogprobs;
import dev.argon.tokenizer.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The watermark measurement on TinyLLama-v0 (temperature 1, no truncation, 200-token texts:
 * end-of-generation is banned as with llama.cpp's {@code --ignore-eos}, so every text is 200 tokens).
 * <ul>
 *   <li>{@code N} texts watermarked with the key (seeds 0..N-1): share detected at z &ge; 4;</li>
 *   <li>{@code M} unmarked texts, half plain and half watermarked with another key (seeds 0..M/2-1),
 *       each tested with the key: share above z = 4 (and z = 2) against the nominal normal tail;</li>
 *   <li>perplexity under the unwatermarked model (log-probabilities of the raw logits) of the
 *       watermarked texts vs the plain ones.</li>
 * </ul>
 * With {@code -Dargon.measure.scheme=synthid} the same for the tournament watermark
 * ({@link TournamentWatermark}; {@code -Dargon.measure.layers}, {@code -Dargon.measure.context}).
 * Not a test: runs only with {@code -Dargon.measure=N} (optionally {@code -Dargon.measure.null=M},
 * {@code -Dargon.measure.out=FILE},
 * default 5N, and {@code -Dargon.measure.threads=T}, default 2: one model per thread) and prints
 * lines starting with {@code MEASURE}.
 */
class WatermarkMeasurement {
    private static final int TOKENS = 200;
    private static final String PROMPT = "Once upon a time";
    /** Standard output, or also the file {@code -Dargon.measure.out} (appended, flushed per line) to watch a long run. */
    private static final java.io.PrintStream OUT = output();

    private static java.io.PrintStream output() {
        String file = System.getProperty("argon.measure.out");
        if (file == null) {
            return System.out;
        }
        try {
            return new java.io.PrintStream(new java.io.FileOutputStream(file, true), true, java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.FileNotFoundException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** One generated text: its z-score under the key, its length and its summed negative log-likelihood. */
    private record Sample(String kind, int seed, double z, int tokens, double nll) {
    }

    /** One thread's model: its tokenizer and generator. */
    private record Worker(Tokenizer tokenizer, Generator generator) {
    }

    @Test
    void measure() throws Exception {
        String n = System.getProperty("argon.measure");
        Assumptions.assumeTrue(n != null, "measurement only: -Dargon.measure=N");
        int marked = Integer.parseInt(n);
        int unmarked = Integer.parseInt(System.getProperty("argon.measure.null", String.valueOf(5 * marked)));
        int threads = Integer.parseInt(System.getProperty("argon.measure.threads", "2"));
        // -Dargon.measure.scheme=synthid: the tournament watermark (-Dargon.measure.layers, -Dargon.measure.context)
        boolean synthid = "synthid".equals(System.getProperty("argon.measure.scheme"));
        int layers = Integer.getInteger("argon.measure.layers", TournamentScheme.DEFAULT_LAYERS);
        int context = Integer.getInteger("argon.measure.context", synthid ? TournamentScheme.DEFAULT_CONTEXT : 1);
        SamplerStep key;
        SamplerStep other;
        java.util.function.ToDoubleFunction<int[]> detector;
        if (synthid) {
            TournamentScheme k = new TournamentScheme(WatermarkScheme.keyOf("measurement key"), layers, context);
            key = new TournamentWatermark(k);
            other = new TournamentWatermark(new TournamentScheme(WatermarkScheme.keyOf("another key"), layers, context));
            TournamentDetector d = new TournamentDetector(k);
            detector = ids -> d.detect(ids).z();
            OUT.printf(Locale.ROOT, "MEASURE scheme synthid: %d layers, context %d%n", layers, context);
        } else {
            WatermarkScheme k = new WatermarkScheme(WatermarkScheme.keyOf("measurement key"), WatermarkScheme.DEFAULT_GAMMA,
                    WatermarkScheme.DEFAULT_DELTA, context);
            key = new Watermark(k);
            other = new Watermark(new WatermarkScheme(WatermarkScheme.keyOf("another key"), k.gamma(), k.delta(), context));
            WatermarkDetector d = new WatermarkDetector(k);
            detector = ids -> d.detect(ids).z();
            OUT.printf(Locale.ROOT, "MEASURE scheme green list: gamma %.2f, delta %.1f, context %d%n", k.gamma(), k.delta(), context);
        }
        List<LanguageModel> models = new ArrayList<>();
        ThreadLocal<Worker> workers = ThreadLocal.withInitial(() -> {
            LanguageModel m = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 1);
            synchronized (models) {
                models.add(m);
            }
            return new Worker(m.tokenizer(), new Generator(m));
        });
        List<Future<Sample>> jobs = new ArrayList<>();
        List<Sample> finished = new ArrayList<>();
        int total = marked + unmarked;
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int i = 0; i < total; i++) {
                String kind = i < marked ? "marked" : (i - marked) % 2 == 0 ? "plain" : "other-key";
                int seed = i < marked ? i : (i - marked) / 2;
                SamplerStep scheme = kind.equals("marked") ? key : kind.equals("other-key") ? other : null;
                jobs.add(pool.submit(() -> {
                    Sample s = sample(workers.get(), detector, scheme, kind, seed);
                    synchronized (finished) {
                        finished.add(s);
                        if (finished.size() % Integer.getInteger("argon.measure.every", 100) == 0 && finished.size() < total) {
                            // running tallies, so that a stopped run still leaves numbers
                            report(List.copyOf(finished), (System.nanoTime() - t0) / 1e9);
                        }
                    }
                    return s;
                }));
            }
            List<Sample> samples = new ArrayList<>();
            for (Future<Sample> f : jobs) {
                samples.add(f.get());
            }
            OUT.println("MEASURE final");
            report(samples, (System.nanoTime() - t0) / 1e9);
        } finally {
            pool.shutdownNow();
            synchronized (models) {
                for (LanguageModel m : models) {
                    m.close();
                }
            }
        }
    }

    private static Sample sample(Worker w, java.util.function.ToDoubleFunction<int[]> detector, SamplerStep scheme, String kind,
                                 int seed) {
        Tokenizer tok = w.tokenizer();
        Generator g = w.generator();
        Map<Integer, Float> noEnd = new TreeMap<>();
        for (int id = 0; id < tok.vocabSize(); id++) {
            if (tok.isEndOfGeneration(id)) {
                noEnd.put(id, -100f);
            }
        }
        SamplingParams p = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed).withLogitBias(noEnd);
        GenerationRequest req = GenerationRequest.of(PROMPT, TOKENS, p).withLogprobs(0);
        if (scheme != null) {
            req = req.withSteps(List.of(scheme));
        }
        double[] nll = new double[1];
        GenerationListener l = new GenerationListener() {
            @Override
            public void onText(String text) {
            }

            @Override
            public void onToken(int token, TokenLogprobs lp) {
                nll[0] -= lp.logprob();
            }
        };
        int[] prompt = g.tokenizePrompt(req, 512);
        GenerationResult r = g.run(req, prompt, 512, l, () -> false);
        // detection sees only the text, as a reader would: re-tokenized without special tokens
        double z = detector.applyAsDouble(tok.encode(r.text(), false, false));
        return new Sample(kind, seed, z, r.generatedTokens().length, nll[0]);
    }

    private static void report(List<Sample> samples, double seconds) {
        int marked = (int) samples.stream().filter(s -> s.kind().equals("marked")).count();
        int unmarked = samples.size() - marked;
        int detected = 0;
        int shortTexts = 0;
        double zSum = 0;
        double zMin = Double.POSITIVE_INFINITY;
        double nllMarked = 0;
        long tokMarked = 0;
        double nllPlain = 0;
        long tokPlain = 0;
        int[] over4 = new int[2];
        int[] over2 = new int[2];
        int[] count = new int[2];
        for (Sample s : samples) {
            shortTexts += s.tokens() < TOKENS ? 1 : 0;
            if (s.kind().equals("marked")) {
                detected += s.z() >= 4 ? 1 : 0;
                zSum += s.z();
                zMin = Math.min(zMin, s.z());
                nllMarked += s.nll();
                tokMarked += s.tokens();
                if (s.z() < 4) {
                    OUT.printf(Locale.ROOT, "MEASURE missed: seed %d z %.2f%n", s.seed(), s.z());
                }
            } else {
                int k = s.kind().equals("plain") ? 0 : 1;
                count[k]++;
                over4[k] += s.z() > 4 ? 1 : 0;
                over2[k] += s.z() > 2 ? 1 : 0;
                if (k == 0) {
                    nllPlain += s.nll();
                    tokPlain += s.tokens();
                }
            }
        }
        OUT.printf(Locale.ROOT, "MEASURE %d texts in %.0f s; texts shorter than %d tokens: %d%n", samples.size(), seconds,
                TOKENS, shortTexts);
        OUT.printf(Locale.ROOT, "MEASURE watermarked: %d of %d with z >= 4 (%.1f%%), mean z %.2f, min z %.2f%n", detected,
                marked, 100.0 * detected / marked, zSum / marked, zMin);
        OUT.printf(Locale.ROOT,
                "MEASURE unmarked: plain %d: z > 4 %d, z > 2 %d | other key %d: z > 4 %d, z > 2 %d | all %d: z > 4 %.2f%% (nominal %.4f%%), z > 2 %.2f%% (nominal %.2f%%)%n",
                count[0], over4[0], over2[0], count[1], over4[1], over2[1], unmarked,
                100.0 * (over4[0] + over4[1]) / Math.max(1, unmarked), 100 * WatermarkDetector.upperTail(4),
                100.0 * (over2[0] + over2[1]) / Math.max(1, unmarked), 100 * WatermarkDetector.upperTail(2));
        OUT.printf(Locale.ROOT, "MEASURE perplexity under the unwatermarked model: watermarked %.2f, plain %.2f (x%.2f)%n",
                Math.exp(nllMarked / tokMarked), Math.exp(nllPlain / tokPlain),
                Math.exp(nllMarked / tokMarked - nllPlain / tokPlain));
    }
}
