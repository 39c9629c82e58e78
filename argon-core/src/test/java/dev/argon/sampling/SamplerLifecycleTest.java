package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The open chain: a caller's own step, and the accept / reset / copy lifecycle. */
class SamplerLifecycleTest {
    private static final int VOCAB = 50;

    /** A user step: bans every token that was already accepted (a "no repeats" processor). */
    static final class NoRepeat implements SamplerStep {
        final boolean[] seen = new boolean[VOCAB];
        final List<Integer> accepted = new ArrayList<>();

        @Override
        public void apply(Candidates c) {
            for (int i = 0; i < c.size(); i++) {
                if (seen[c.id(i)]) {
                    c.setLogit(i, Float.NEGATIVE_INFINITY);
                }
            }
        }

        @Override
        public void accept(int token) {
            seen[token] = true;
            accepted.add(token);
        }

        @Override
        public void reset() {
            java.util.Arrays.fill(seen, false);
            accepted.clear();
        }

        @Override
        public SamplerStep copy() {
            NoRepeat n = new NoRepeat();
            System.arraycopy(seen, 0, n.seen, 0, VOCAB);
            n.accepted.addAll(accepted);
            return n;
        }
    }

    private static float[][] logitsSequence(int n, long seed) {
        Random r = new Random(seed);
        float[][] out = new float[n][VOCAB];
        for (float[] row : out) {
            for (int i = 0; i < VOCAB; i++) {
                row[i] = (float) (r.nextGaussian() * 2);
            }
        }
        return out;
    }

    private static int[] run(SamplerChain chain, float[][] logits, int from, int to) {
        int[] out = new int[to - from];
        for (int i = from; i < to; i++) {
            out[i - from] = chain.sample(logits[i]);
            chain.accept(out[i - from]);
        }
        return out;
    }

    @Test
    void aUserStepSeesEveryAcceptedTokenAndSteersTheChoice() {
        NoRepeat step = new NoRepeat();
        SamplerChain chain = SamplerChain.create(new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 7), VOCAB, List.of(step));
        assertThat(chain.names()).containsExactly("NoRepeat", "dist");
        chain.accept(3);
        int[] out = run(chain, logitsSequence(40, 1), 0, 40);
        // 41 distinct tokens: nothing accepted is ever drawn again
        assertThat(java.util.Arrays.stream(out).distinct().count()).isEqualTo(40);
        assertThat(out).doesNotContain(3);
        assertThat(step.accepted.getFirst()).isEqualTo(3);
        assertThat(step.accepted.subList(1, 41)).containsExactlyElementsOf(java.util.Arrays.stream(out).boxed().toList());
        // without the step the same seed and logits repeat tokens (so the step did the work)
        int[] plain = run(SamplerChain.create(new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 7), VOCAB), logitsSequence(40, 1), 0, 40);
        assertThat(java.util.Arrays.stream(plain).distinct().count()).isLessThan(40);
    }

    @Test
    void userStepsRunAfterPenaltiesAndBeforeTruncation() {
        var p = new SamplingParams(0.7f, 5, 0.9f, 0.05f, 1.2f, 8, 1).withLogitBias(java.util.Map.of(2, 1f));
        SamplerChain chain = SamplerChain.create(p, VOCAB, List.of(new NoRepeat()));
        assertThat(chain.names()).containsExactly("logit-bias", "penalties", "NoRepeat", "top-k", "top-p", "min-p", "temperature", "dist");
        assertThat(SamplerChain.create(SamplingParams.greedy(), VOCAB, List.of(new NoRepeat())).names())
                .containsExactly("NoRepeat", "greedy");
    }

    @Test
    void aCopySamplesExactlyWhatTheOriginalWouldAndIsIndependent() {
        var p = new SamplingParams(0.9f, 20, 0.95f, 0.02f, 1.3f, 16, 11).withPenalties(0.5f, 0.3f);
        float[][] logits = logitsSequence(60, 2);
        SamplerChain a = SamplerChain.create(p, VOCAB);
        run(a, logits, 0, 25);
        SamplerChain b = a.copy();
        int[] fromA = run(a, logits, 25, 60);
        int[] fromB = run(b, logits, 25, 60);
        assertThat(fromB).containsExactly(fromA);
        // a fresh chain run over all 60 gives the same tail (the copy carried penalties and RNG draws)
        int[] fresh = run(SamplerChain.create(p, VOCAB), logits, 0, 60);
        assertThat(java.util.Arrays.copyOfRange(fresh, 25, 60)).containsExactly(fromA);
    }

    @Test
    void resetReturnsToTheFreshChain() {
        var p = new SamplingParams(1f, 0, 1f, 0f, 1.5f, -1, 5);
        float[][] logits = logitsSequence(30, 3);
        SamplerChain a = SamplerChain.create(p, VOCAB, List.of(new NoRepeat()));
        int[] first = run(a, logits, 0, 30);
        a.reset();
        assertThat(run(a, logits, 0, 30)).containsExactly(first);
    }

    @Test
    void aLastStepThatChoosesNothingIsReported() {
        SamplerChain chain = SamplerChain.of(VOCAB, 0, List.of(c -> { }));
        assertThatThrownBy(() -> chain.sample(new float[VOCAB])).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("chose no candidate");
        SamplerChain mine = SamplerChain.of(VOCAB, 0, List.of(SamplerStep.topK(3), c -> c.select(c.size() - 1)));
        float[] l = new float[VOCAB];
        l[7] = 3;
        l[9] = 2;
        l[4] = 1;
        assertThat(mine.sample(l)).isEqualTo(4); // third best of the top 3
    }
}
