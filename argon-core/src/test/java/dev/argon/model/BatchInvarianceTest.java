package dev.argon.model;

import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A sequence's logits must not depend on how its tokens were batched: alone or with other
 * sequences in one {@link Batch}, and however its prompt is split into chunks. Checked bit for bit
 * on the real TinyLLama-v0 Q4_0 model with 8-bit activations and the F16 cache (the defaults).
 */
class BatchInvarianceTest {
    static LanguageModel model;
    static final int CTX = 96;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), new ModelOptions(2, true));
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    /** Greedy continuation of {@code prompt} run alone: the logits after the prompt and after each of {@code steps} tokens. */
    private static List<float[]> alone(int[] prompt, int steps) {
        InferenceState s = model.newState(CTX, KvCache.Precision.F16);
        List<float[]> out = new ArrayList<>();
        float[] l = model.prefill(s, prompt, 0).clone();
        out.add(l);
        for (int i = 0; i < steps; i++) {
            l = model.forward(s, argmax(l), prompt.length + i, true).clone();
            out.add(l);
        }
        return out;
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] tokens(String text) {
        return model.tokenizer().encode(text, true, false);
    }

    @Test
    void sequencesBatchedTogetherGetTheirSoloLogitsBitForBit() {
        int[][] prompts = {tokens("Once upon a time"), tokens("Lily and Tom went to the park to play with a ball"),
                tokens("The cat sat"), tokens("One day, a big red ball rolled down the hill and")};
        int steps = 12;
        List<List<float[]>> solo = new ArrayList<>();
        for (int[] p : prompts) {
            solo.add(alone(p, steps));
        }
        // All together: sequence i starts at step i (staggered), prompt rows first, in chunks of 5
        // tokens, while the others decode in the same passes.
        int n = prompts.length;
        InferenceState[] st = new InferenceState[n];
        int[] fed = new int[n];
        int[] next = new int[n];
        int[] done = new int[n];
        List<List<float[]>> together = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            st[i] = model.newState(CTX, KvCache.Precision.F16);
            together.add(new ArrayList<>());
        }
        Batch b = new Batch(32);
        for (int step = 0; step < 60; step++) {
            b.clear();
            int[] row = new int[n];
            java.util.Arrays.fill(row, -1);
            for (int i = 0; i < n; i++) {
                if (step >= i && fed[i] < prompts[i].length) {
                    int k = Math.min(5, prompts[i].length - fed[i]);
                    for (int j = 0; j < k; j++) {
                        int pos = fed[i] + j;
                        int r = b.add(st[i], prompts[i][pos], pos, true, pos == prompts[i].length - 1);
                        if (pos == prompts[i].length - 1) {
                            row[i] = r;
                        }
                    }
                    fed[i] += k;
                }
            }
            for (int i = 0; i < n; i++) {
                if (fed[i] == prompts[i].length && row[i] < 0 && done[i] > 0 && done[i] <= steps) {
                    row[i] = b.add(st[i], next[i], prompts[i].length + done[i] - 1, false, true);
                }
            }
            if (b.size() == 0) {
                continue;
            }
            model.forward(b);
            for (int i = 0; i < n; i++) {
                if (row[i] >= 0) {
                    float[] l = b.logits(row[i]).clone();
                    together.get(i).add(l);
                    next[i] = argmax(l);
                    done[i]++;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            assertThat(together.get(i)).as("sequence %d", i).hasSize(steps + 1);
            for (int k = 0; k <= steps; k++) {
                assertThat(together.get(i).get(k)).as("sequence %d step %d", i, k).isEqualTo(solo.get(i).get(k));
            }
        }
    }

    @Test
    void promptChunkingDoesNotChangeTheLogits() {
        int[] p = tokens("Lily and Tom went to the park. They saw a big dog and a little cat playing together");
        float[] whole = model.prefill(model.newState(CTX, KvCache.Precision.F16), p, 0).clone();
        for (int split : new int[]{1, 2, 3, 7, p.length - 2, p.length - 1}) {
            InferenceState s = model.newState(CTX, KvCache.Precision.F16);
            model.prefill(s, java.util.Arrays.copyOf(p, split), 0);
            float[] rest = model.prefill(s, java.util.Arrays.copyOfRange(p, split, p.length), split);
            assertThat(rest).as("split at %d of %d", split, p.length).isEqualTo(whole);
        }
    }

    @Test
    void promptRowsMustComeFirst() {
        Batch b = new Batch(4);
        InferenceState s = model.newState(8);
        b.add(s, 1, 0, false, true);
        assertThatThrownBy(() -> b.add(s, 2, 1, true, false)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("prompt rows must be added before generated rows");
        assertThatThrownBy(() -> b.logits(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> b.logits(1)).isInstanceOf(IllegalArgumentException.class);
    }
}
