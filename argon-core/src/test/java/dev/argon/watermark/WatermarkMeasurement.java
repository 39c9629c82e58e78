package dev.argon.watermark;

import dev.argon.TestFiles;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.sampling.TokenLogprobs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;

/**
 * The watermark measurement on TinyLLama-v0 (temperature 1, no truncation, 200 tokens):
 * detection rate at z >= 4, the empirical false-positive rate on unmarked texts, and the
 * perplexity cost under the base model. Not a test: runs only with {@code -Dargon.measure=N}
 * (N samples) and prints its numbers.
 */
class WatermarkMeasurement {
    @Test
    void measure() {
        String n = System.getProperty("argon.measure");
        Assumptions.assumeTrue(n != null, "measurement only: -Dargon.measure=N");
        int samples = Integer.parseInt(n);
        WatermarkScheme key = WatermarkScheme.of("measurement key");
        WatermarkDetector d = new WatermarkDetector(key);
        try (LanguageModel model = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 2)) {
            Generator g = new Generator(model);
            int detected = 0;
            int nullTests = 0;
            int nullOver4 = 0;
            int nullOver2 = 0;
            double nllMarked = 0;
            double nllPlain = 0;
            long tokMarked = 0;
            long tokPlain = 0;
            double zSum = 0;
            for (int seed = 0; seed < samples; seed++) {
                SamplingParams p = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed);
                GenerationRequest plain = GenerationRequest.of("Once upon a time", 200, p).withLogprobs(0);
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
                int[] prompt = g.tokenizePrompt(plain, 512);
                GenerationResult m = g.run(plain.withSteps(List.of(new Watermark(key))), prompt, 512, l, () -> false);
                nllMarked += nll[0];
                tokMarked += m.generatedTokens().length;
                nll[0] = 0;
                GenerationResult u = g.run(plain, prompt, 512, l, () -> false);
                nllPlain += nll[0];
                tokPlain += u.generatedTokens().length;
                double z = d.detect(model.tokenizer().encode(m.text(), false, false)).z();
                zSum += z;
                detected += z >= 4 ? 1 : 0;
                int[] plainIds = model.tokenizer().encode(u.text(), false, false);
                for (int k = 0; k < 5; k++) {
                    double zn = new WatermarkDetector(k == 0 ? key : WatermarkScheme.of("other " + k)).detect(plainIds).z();
                    nullTests++;
                    nullOver4 += zn > 4 ? 1 : 0;
                    nullOver2 += zn > 2 ? 1 : 0;
                }
            }
            System.out.printf(Locale.ROOT, "MEASURE samples %d: detected z>=4 %d (%.1f%%), mean z %.2f | null tests %d: z>4 %d (%.2f%%, nominal %.4f%%), z>2 %d (%.2f%%, nominal 2.28%%) | PPL marked %.3f plain %.3f%n",
                    samples, detected, 100.0 * detected / samples, zSum / samples, nullTests, nullOver4, 100.0 * nullOver4 / nullTests,
                    100 * WatermarkDetector.upperTail(4), nullOver2, 100.0 * nullOver2 / nullTests,
                    Math.exp(nllMarked / tokMarked), Math.exp(nllPlain / tokPlain));
        }
    }
}
