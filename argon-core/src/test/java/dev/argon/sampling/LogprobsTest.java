package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.argon.ArgonException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LogprobsTest {
    private static final double EPS = 1e-9;

    private static List<Integer> tokens(TokenLogprobs lp) {
        return lp.top().stream().map(TopLogprob::token).toList();
    }

    private static void assertLogprobs(TokenLogprobs lp, double... expected) {
        assertThat(lp.top()).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(lp.top().get(i).logprob()).as("entry %d", i).isCloseTo(expected[i], within(EPS));
        }
    }

    @Test
    void logSoftmaxOfASmallVocabulary() {
        // log Z = log(e^1 + e^2 + e^3 + e^0) = log(31.192874850...) = 3.4401896985611953
        float[] logits = {1f, 2f, 3f, 0f};
        double logZ = 3.4401896985611953;
        TokenLogprobs lp = Logprobs.of(logits, 1, 4);
        assertThat(lp.token()).isEqualTo(1);
        assertThat(lp.logprob()).isCloseTo(2 - logZ, within(EPS)).isCloseTo(-1.4401896985611953, within(EPS));
        assertThat(tokens(lp)).containsExactly(2, 1, 0, 3);
        assertLogprobs(lp, 3 - logZ, 2 - logZ, 1 - logZ, 0 - logZ);
        assertThat(Logprobs.of(logits, 3, 0).logprob()).isCloseTo(-3.4401896985611953, within(EPS));
    }

    @Test
    void tiesGoToTheLowerIdAndTheListIsSorted() {
        // log Z = 5 + log(2 + 2e^-3 + e^-4) = 5.7504202040990584
        float[] logits = {2f, 5f, 2f, 5f, 1f};
        double logZ = 5.7504202040990584;
        TokenLogprobs lp = Logprobs.of(logits, 4, 3);
        assertThat(lp.logprob()).isCloseTo(1 - logZ, within(EPS)).isCloseTo(-4.750420204099059, within(EPS));
        assertThat(tokens(lp)).containsExactly(1, 3, 0);
        assertLogprobs(lp, 5 - logZ, 5 - logZ, 2 - logZ);
        assertThat(tokens(Logprobs.of(logits, 0, 5))).containsExactly(1, 3, 0, 2, 4);
        float[] flat = new float[8];
        assertThat(tokens(Logprobs.of(flat, 7, 3))).containsExactly(0, 1, 2);
        assertThat(Logprobs.of(flat, 7, 3).logprob()).isCloseTo(-Math.log(8), within(EPS));
    }

    @Test
    void topNZeroGivesAnEmptyListAndTopNIsCappedByTheVocabulary() {
        TokenLogprobs none = Logprobs.of(new float[] {0f, 1f}, 1, 0);
        assertThat(none.top()).isEmpty();
        assertThat(none.logprob()).isCloseTo(-Math.log1p(Math.exp(-1)), within(EPS));
        assertThat(tokens(Logprobs.of(new float[] {0f, 1f}, 0, 20))).containsExactly(1, 0);
    }

    @Test
    void largeLogitsDoNotOverflow() {
        // log softmax([1000, 999]) = [-log(1 + e^-1), -1 - log(1 + e^-1)]
        TokenLogprobs lp = Logprobs.of(new float[] {1000f, 999f}, 1, 2);
        assertThat(lp.logprob()).isCloseTo(-1.3132616875182228, within(EPS));
        assertLogprobs(lp, -0.31326168751822286, -1.3132616875182228);
        TokenLogprobs small = Logprobs.of(new float[] {-1000f, -999f}, 0, 1);
        assertThat(small.logprob()).isCloseTo(-1.3132616875182228, within(EPS));
    }

    @Test
    void maskedTokensHaveMinusInfinity() {
        float[] logits = {Float.NEGATIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY, 0f};
        TokenLogprobs lp = Logprobs.of(logits, 0, 3);
        assertThat(lp.logprob()).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(tokens(lp)).containsExactly(1, 3, 0);
        assertThat(lp.top().get(0).logprob()).isCloseTo(-Math.log(2), within(EPS));
        assertThat(lp.top().get(2).logprob()).isEqualTo(Double.NEGATIVE_INFINITY);
    }

    @Test
    void matchesAFullSortOnALargeVocabulary() {
        Random r = new Random(5);
        float[] logits = new float[50_000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.rint(r.nextGaussian() * 4) / 2; // many ties
        }
        float[] copy = logits.clone();
        TokenLogprobs lp = Logprobs.of(logits, 123, 20);
        assertThat(logits).containsExactly(copy);
        int[] expected = IntStream.range(0, logits.length)
                .boxed()
                .sorted(Comparator.<Integer>comparingDouble(t -> -logits[t]).thenComparingInt(t -> t))
                .limit(20)
                .mapToInt(Integer::intValue)
                .toArray();
        assertThat(tokens(lp)).containsExactly(Arrays.stream(expected).boxed().toArray(Integer[]::new));
        double z = 0;
        for (float l : logits) {
            z += Math.exp(l);
        }
        double logZ = Math.log(z);
        assertThat(lp.logprob()).isCloseTo(logits[123] - logZ, within(EPS));
        for (int i = 0; i < 20; i++) {
            TopLogprob t = lp.top().get(i);
            assertThat(t.logprob()).isCloseTo(logits[t.token()] - logZ, within(EPS));
            if (i > 0) {
                assertThat(t.logprob()).isLessThanOrEqualTo(lp.top().get(i - 1).logprob());
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        float[] logits = {0f, 1f, 2f};
        assertThatThrownBy(() -> Logprobs.of(logits, 0, 21)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("21");
        assertThatThrownBy(() -> Logprobs.of(logits, 0, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Logprobs.of(logits, 3, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Logprobs.of(logits, -1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Logprobs.of(new float[0], 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Logprobs.of(new float[] {0f, Float.NaN}, 0, 1))
                .isInstanceOf(ArgonException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> Logprobs.of(new float[] {Float.NEGATIVE_INFINITY}, 0, 1))
                .isInstanceOf(ArgonException.class);
        assertThatThrownBy(() -> Logprobs.of(new float[] {Float.POSITIVE_INFINITY, 0f}, 0, 1))
                .isInstanceOf(ArgonException.class);
    }

    @Test
    void recordsAreImmutable() {
        TokenLogprobs lp = Logprobs.of(new float[] {0f, 1f}, 0, 2);
        assertThatThrownBy(() -> lp.top().add(new TopLogprob(0, 0))).isInstanceOf(UnsupportedOperationException.class);
    }
}
