package dev.argon.model;

import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Packed prefill (the Prepacking setting, Zhao et al. 2024, done without a dense mask): many
 * prompts of mixed lengths packed into shared forward passes of 256 rows — each row with its own
 * sequence and position, as {@code BatchScheduler} packs them — give every prompt's last-token
 * logits and KV cache bit for bit as prefilling it alone. TinyLLama-v0 Q4_0, F16 cache.
 */
class PackedPrefillTest {
    private static final int PROMPTS = 12;
    private static final int MIN_LEN = 20;
    private static final int MAX_LEN = 160;

    @Test
    void promptsOfMixedLengthsPackedTogetherGetTheirSoloLogitsBitForBit() {
        try (LanguageModel model = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), new ModelOptions(2, true))) {
            Random r = new Random(20);
            int vocab = model.config().vocabSize();
            int[][] prompts = new int[PROMPTS][];
            for (int i = 0; i < PROMPTS; i++) {
                prompts[i] = new int[MIN_LEN + r.nextInt(MAX_LEN - MIN_LEN + 1)];
                prompts[i][0] = 1; // BOS
                for (int j = 1; j < prompts[i].length; j++) {
                    prompts[i][j] = 2 + r.nextInt(vocab - 2);
                }
            }
            int ctx = MAX_LEN + 2;
            // packed: passes of 512 rows filled from the prompts in turn, so most passes hold parts of several prompts
            InferenceState[] packed = new InferenceState[PROMPTS];
            float[][] packedLogits = new float[PROMPTS][];
            Batch batch = new Batch(256);
            int[] owner = new int[256];
            int passes = 0;
            int shared = 0;
            for (int i = 0; i < PROMPTS; i++) {
                packed[i] = model.newState(ctx, KvCache.Precision.F16);
                for (int pos = 0; pos < prompts[i].length; pos++) {
                    if (batch.remaining() == 0) {
                        shared += distinct(owner, batch.size()) > 1 ? 1 : 0;
                        run(model, batch, owner, packedLogits);
                        passes++;
                    }
                    owner[batch.add(packed[i], prompts[i][pos], pos, true, pos == prompts[i].length - 1)] = i;
                }
            }
            shared += distinct(owner, batch.size()) > 1 ? 1 : 0;
            run(model, batch, owner, packedLogits);
            passes++;
            assertThat(shared).as("passes holding rows of several prompts").isGreaterThanOrEqualTo(passes - 1);

            for (int i = 0; i < PROMPTS; i++) {
                InferenceState alone = model.newState(ctx, KvCache.Precision.F16);
                float[] solo = model.prefill(alone, prompts[i], 0).clone();
                assertThat(packedLogits[i]).as("prompt %d (%d tokens) last-token logits", i, prompts[i].length).isEqualTo(solo);
                // the caches match too: the next token's logits are equal
                int next = argmax(solo);
                float[] a = model.forward(alone, next, prompts[i].length, true).clone();
                float[] b = model.forward(packed[i], next, prompts[i].length, true);
                assertThat(b).as("prompt %d first decode step", i).isEqualTo(a);
            }
        }
    }

    private static void run(LanguageModel model, Batch batch, int[] owner, float[][] logits) {
        if (batch.size() == 0) {
            return;
        }
        model.forward(batch);
        for (int row = 0; row < batch.size(); row++) {
            try {
                logits[owner[row]] = batch.logits(row).clone();
            } catch (IllegalArgumentException noLogitsForThisRow) {
                // only each prompt's last row asks for logits
            }
        }
        batch.clear();
    }

    private static int distinct(int[] owner, int n) {
        return (int) Arrays.stream(owner, 0, n).distinct().count();
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
}
