package dev.argon.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TopKTest {
    @Test
    void keepsExactlyKSortedDescending() {
        Candidates c = Candidates.of(0.5f, 3f, -1f, 2f, 9f, 1f, 2.5f);
        new TopK(3).apply(c);
        assertThat(c.size).isEqualTo(3);
        assertThat(c.sorted).isTrue();
        assertThat(Ids.live(c)).containsExactly(4, 1, 6);
        assertThat(java.util.Arrays.copyOf(c.logits, 3)).containsExactly(9f, 3f, 2.5f);
    }

    @Test
    void tiesAtTheBoundaryStillKeepExactlyKAndPreferLowIds() {
        Candidates c = Candidates.of(1f, 5f, 1f, 1f, 1f);
        new TopK(3).apply(c);
        assertThat(Ids.live(c)).containsExactly(1, 0, 2);
    }

    @Test
    void kAtOrAboveTheVocabularyKeepsEverything() {
        Candidates c = Candidates.of(1f, 2f, 3f);
        new TopK(3).apply(c);
        assertThat(c.size).isEqualTo(3);
        new TopK(10).apply(c);
        assertThat(Ids.liveSorted(c)).containsExactly(0, 1, 2);
    }

    @Test
    void matchesAFullSortOnALargeVocabulary() {
        Random r = new Random(1);
        float[] logits = new float[50_000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian() * 3;
        }
        Candidates c = Candidates.of(logits);
        new TopK(40).apply(c);
        int[] expected = IntStream.range(0, logits.length)
                .boxed()
                .sorted((a, b) -> Float.compare(logits[b], logits[a]))
                .limit(40)
                .mapToInt(Integer::intValue)
                .toArray();
        assertThat(Ids.live(c)).containsExactly(expected);
    }
    @Test
    void manyTiesAndNaNsOfAnySizeMatchAStableSort() {
        // Logits on a coarse grid tie often, across and inside vectors; NaNs are never kept
        // before a number. Expected: descending logit, then ascending id (a stable sort).
        Random r = new Random(5);
        for (int n = 1; n <= 300; n += 7) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                logits[i] = r.nextInt(20) == 0 ? Float.NaN : r.nextInt(6) - 2f;
            }
            int numbers = (int) IntStream.range(0, n).filter(i -> !Float.isNaN(logits[i])).count();
            for (int k : new int[] {1, 2, 5, 17, 40}) {
                if (k >= n || k > numbers) {
                    continue;
                }
                Candidates c = Candidates.of(logits);
                new TopK(k).apply(c);
                int[] expected = IntStream.range(0, n)
                        .filter(i -> !Float.isNaN(logits[i]))
                        .boxed()
                        .sorted((a, b) -> Float.compare(logits[b], logits[a]))
                        .limit(k)
                        .mapToInt(Integer::intValue)
                        .toArray();
                assertThat(Ids.live(c)).as("n=%d k=%d", n, k).containsExactly(expected);
            }
        }
    }
}
