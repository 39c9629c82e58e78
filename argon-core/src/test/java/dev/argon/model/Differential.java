package dev.argon.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.argon.kv.KvCache;

/**
 * Compares Argon's greedy decoding with llama.cpp's ({@code tools/llama-cpp/diff.mjs} output):
 * greedy tokens agreeing (the common prefix) and the largest difference of llama.cpp's top-5
 * log-probabilities over the steps both engines saw the same context.
 *
 * @param agreeing tokens equal before the first difference, summed over prompts
 * @param total tokens generated, summed over prompts
 * @param maxDiff largest |Argon log-prob - llama.cpp log-prob| over the compared steps and top-5 tokens
 */
record Differential(int agreeing, int total, double maxDiff) {

    /** Runs {@code model} on every prompt of llama.cpp's output {@code llamaCpp} (its {@code cases}). */
    static Differential of(LanguageModel model, JsonNode llamaCpp) {
        int agreeing = 0;
        int total = 0;
        double maxDiff = 0;
        for (JsonNode c : llamaCpp.get("cases")) {
            int[] prompt = Reference.ints(c.get("prompt_token_ids"));
            int[] expected = Reference.ints(c.get("generated_token_ids"));
            GreedyDecode g = GreedyDecode.run(model, prompt, expected.length, KvCache.Precision.F32);
            int same = 0;
            while (same < expected.length && g.tokens[same] == expected[same]) {
                same++;
            }
            agreeing += same;
            total += expected.length;
            for (int step = 0; step < Math.min(expected.length, same + 1); step++) {
                double[] lp = Reference.logSoftmax(g.logits.get(step));
                for (JsonNode e : c.get("top5").get(step)) {
                    maxDiff = Math.max(maxDiff, Math.abs(lp[e.get(0).asInt()] - e.get(1).asDouble()));
                }
            }
        }
        return new Differential(agreeing, total, maxDiff);
    }
}
