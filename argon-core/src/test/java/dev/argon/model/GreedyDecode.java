package dev.argon.model;

import dev.argon.kv.KvCache;

import java.util.ArrayList;
import java.util.List;

/** Plain greedy decoding straight on the model (no sampler), recording logits per step for tests. */
final class GreedyDecode {
    final int[] tokens;
    final List<float[]> logits;

    private GreedyDecode(int[] tokens, List<float[]> logits) {
        this.tokens = tokens;
        this.logits = logits;
    }

    static GreedyDecode run(LanguageModel model, int[] prompt, int steps) {
        return run(model, prompt, steps, KvCache.Precision.F32);
    }

    static GreedyDecode run(LanguageModel model, int[] prompt, int steps, KvCache.Precision precision) {
        InferenceState s = model.newState(prompt.length + steps + 1, precision);
        float[] l = model.prefill(s, prompt, 0);
        int[] out = new int[steps];
        List<float[]> all = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            all.add(l.clone());
            out[i] = Reference.argmax(l);
            l = model.forward(s, out[i], prompt.length + i, true);
        }
        return new GreedyDecode(out, all);
    }
}
