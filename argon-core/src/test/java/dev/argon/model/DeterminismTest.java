package dev.argon.model;

import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same input gives bit-identical logits on the first (interpreted, cold) run and on later
 * (JIT-compiled) runs. 8-bit activations make this strict: a float summed in another order can
 * round an activation differently and change the greedy path.
 */
class DeterminismTest {
    @Test
    void coldAndWarmRunsGiveIdenticalLogits() {
        try (LanguageModel m = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), new ModelOptions(2, true))) {
            int[] prompt = {1, 4612, 2619, 260, 647};
            GreedyDecode first = GreedyDecode.run(m, prompt, 48, KvCache.Precision.F16);
            for (int rep = 0; rep < 3; rep++) {
                GreedyDecode again = GreedyDecode.run(m, prompt, 48, KvCache.Precision.F16);
                assertThat(again.tokens).containsExactly(first.tokens);
                for (int step = 0; step < 48; step++) {
                    assertThat(again.logits.get(step)).as("step %d", step).containsExactly(first.logits.get(step));
                }
            }
        }
    }
}
