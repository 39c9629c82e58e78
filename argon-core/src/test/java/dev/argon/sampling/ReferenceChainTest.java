package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Compares the chain's filtered candidate set with a literal transcription of llama.cpp's default
 * chain (logit bias, penalties, top-k, top-p, min-p) that fully sorts the vocabulary, on random logits large
 * enough to exercise the partial-selection paths.
 *
 * <p>The comparison is exact, at every SIMD width: the chain sums its softmax weights in double in
 * a fixed order, so only the rounding of its float exp separates it from the double reference, and
 * the reference checks that each top-p cut lies further from p than that rounding can reach.
 */
class ReferenceChainTest {
    private static final int VOCAB = 32_000;
    private static final Map<Integer, Float> BIAS = Map.of(0, 2.5f, 7, -100f, 100, -0.75f, 31_999, 1.25f, 14, 6f);

    /** The token ids the reference keeps, sorted by id. */
    private static int[] reference(float[] raw, SamplingParams p, int[] history) {
        float[] l = raw.clone();
        p.logitBias().forEach((t, b) -> l[t] += b);
        if (p.repeatLastN() != 0) {
            int from = p.repeatLastN() < 0 ? 0 : Math.max(0, history.length - p.repeatLastN());
            int[] count = new int[l.length];
            for (int i = from; i < history.length; i++) {
                count[history[i]]++;
            }
            for (int t = 0; t < l.length; t++) {
                if (count[t] > 0) {
                    l[t] = l[t] > 0 ? l[t] / p.repeatPenalty() : l[t] * p.repeatPenalty();
                    l[t] -= count[t] * p.frequencyPenalty() + p.presencePenalty();
                }
            }
        }
        Integer[] order = IntStream.range(0, l.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(t -> -l[t]).thenComparingInt(t -> t));
        int n = p.topK() > 0 ? Math.min(p.topK(), l.length) : l.length;
        if (p.topP() < 1f) {
            double z = 0;
            for (int i = 0; i < n; i++) {
                z += Math.exp(l[order[i]] - l[order[0]]);
            }
            double cum = 0;
            for (int i = 0; i < n; i++) {
                double before = cum;
                cum += Math.exp(l[order[i]] - l[order[0]]) / z;
                if (cum >= p.topP()) {
                    // The chain's weights are floats, each within an ulp (relative 2^-23) of the
                    // exact exp: that moves a kept mass fraction r by at most 2 r (1 - r) 2^-23
                    // (kept weights rounded up, the rest down), plus double rounding of the sums.
                    // Only a cut further than that from p is the same for the chain whatever its
                    // exp rounding; summation order is not part of it (the chain sums in double).
                    double r = p.topP();
                    double tolerance = 2 * r * (1 - r) * 0x1p-23 + l.length * 0x1p-52;
                    assertThat(Math.min(cum - r, r - before)).as("distance of the top-p cut from p (%s)", p)
                            .isGreaterThan(tolerance);
                    n = i + 1;
                    break;
                }
            }
        }
        if (p.minP() > 0f) {
            float cut = l[order[0]] + (float) Math.log(p.minP());
            int m = 1;
            while (m < n && l[order[m]] >= cut) {
                m++;
            }
            n = m;
        }
        return Arrays.stream(order, 0, n).mapToInt(Integer::intValue).sorted().toArray();
    }

    /**
     * Gaussian logits at three scales, integer logits (many ties), all equal, and a spread with
     * most tokens masked to -infinity.
     */
    private static float[] logits(int shape, Random r) {
        float[] l = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            double g = r.nextGaussian();
            l[i] = (float) switch (shape) {
                case 0 -> g * 0.3;
                case 1 -> g * 2;
                case 2 -> g * 8;
                case 3 -> Math.rint(g * 2);
                case 4 -> 1.5;
                default -> i % 7 == 0 ? g * 3 : Double.NEGATIVE_INFINITY;
            };
        }
        return l;
    }

    @Test
    void filteredSetMatchesAFullSortReference() {
        SamplingParams[] cases = {
            SamplingParams.defaults(),
            new SamplingParams(0.8f, 0, 0.95f, 0f, 1f, 64, 1), // top-p alone: heap path
            new SamplingParams(0.8f, 0, 0.9f, 0.05f, 1f, 64, 1), // top-p with min-p hint
            new SamplingParams(0.8f, 0, 0.5f, 0.001f, 1.3f, 16, 1),
            new SamplingParams(0.8f, 0, 1f, 0.1f, 1f, 64, 1), // min-p alone, unsorted
            new SamplingParams(0.8f, 200, 0.99f, 0.01f, 1.1f, -1, 1),
            new SamplingParams(0.8f, 0, 0.999f, 0f, 1f, 64, 1), // nucleus of most of the vocabulary
            SamplingParams.defaults().withPenalties(0.7f, 0.4f).withLogitBias(BIAS),
            new SamplingParams(0.8f, 0, 0.9f, 0.01f, 1.2f, 40, 1).withPenalties(-0.5f, 1.5f).withLogitBias(BIAS),
            new SamplingParams(0.8f, 0, 0.95f, 0f, 1f, -1, 1).withPenalties(2f, 2f),
        };
        Random r = new Random(2024);
        for (int shape = 0; shape < 6; shape++) {
            float[] logits = logits(shape, r);
            // Random tokens, then a burst from a small range so that many tokens repeat.
            int[] history = IntStream.concat(r.ints(100, 0, VOCAB), r.ints(60, 0, 30)).toArray();
            for (SamplingParams p : cases) {
                SamplerChain chain = SamplerChain.create(p, VOCAB);
                for (int t : history) {
                    chain.accept(t);
                }
                int[] kept = Ids.liveSorted(chain.filter(logits));
                assertThat(kept).as("%s shape %d", p, shape).containsExactly(reference(logits, p, history));
                int token = chain.sample(logits);
                assertThat(kept).contains(token);
            }
        }
    }
}
