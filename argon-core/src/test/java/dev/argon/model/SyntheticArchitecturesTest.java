package dev.argon.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.kv.KvCache;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Every architecture against llama.cpp, offline: {@code src/test/resources/reference/synth-*.json}
 * hold the synth parameters of small random-weight models (F32 weights) with llama.cpp's greedy
 * tokens and top-5 log-probabilities for 32 steps after two prompts (F32 KV cache, written by
 * {@code tools/llama-cpp/differential.sh}). This re-synthesizes each model, runs Argon (F32 KV
 * cache) along llama.cpp's tokens and checks at every step that the top-5 log-probabilities agree
 * within {@link SyntheticCase#tolerance()} and that Argon's greedy choice is llama.cpp's token
 * (where llama.cpp's two best tokens are closer than the tolerance, either one is accepted).
 */
class SyntheticArchitecturesTest {
    static final List<String> CASES = List.of(
            "llama-a", "llama-b", "mistral-a", "mistral-b", "qwen2-a", "qwen2-b", "qwen3-a", "qwen3-b", "phi3-a", "phi3-b",
            "gemma2-a", "gemma2-b", "gemma3-a", "gemma3-b", "gpt2-a", "gpt2-b",
            "llama-linear", "llama-rope-freqs", "qwen2-yarn", "phi3-longrope", "gemma3-linear");

    @TempDir
    Path tmp;

    static Stream<String> cases() {
        return CASES.stream();
    }

    static JsonNode read(String name) {
        try (InputStream in = SyntheticArchitecturesTest.class.getResourceAsStream("/reference/synth-" + name + ".json")) {
            assertThat(in).as("reference/synth-%s.json", name).isNotNull();
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void greedyTokensAndTop5LogProbsMatchLlamaCpp(String name) {
        JsonNode ref = read(name);
        SyntheticCase c = SyntheticCase.fromJson(ref.get("synth"));
        assertThat(ref.get("llama_cpp").get("kv_cache").asText()).isEqualTo("F32");
        double tol = c.tolerance();
        double maxDiff = 0;
        int equal = 0;
        int steps = 0;
        try (LanguageModel m = Models.load(c.synthesize(tmp), 2)) {
            assertThat(m.config().architecture()).isEqualTo(c.options().arch().ggufName());
            for (JsonNode cs : ref.get("llama_cpp").get("cases")) {
                int[] prompt = Reference.ints(cs.get("prompt_token_ids"));
                int[] expected = Reference.ints(cs.get("generated_token_ids"));
                assertThat(expected).hasSize(SyntheticCase.STEPS);
                InferenceState s = m.newState(prompt.length + expected.length + 1, KvCache.Precision.F32);
                float[] logits = m.prefill(s, prompt, 0);
                for (int step = 0; step < expected.length; step++) {
                    double[] lp = Reference.logSoftmax(logits);
                    JsonNode top = cs.get("top5").get(step);
                    for (JsonNode e : top) {
                        int id = e.get(0).asInt();
                        maxDiff = Math.max(maxDiff, Math.abs(lp[id] - e.get(1).asDouble()));
                        assertThat(lp[id]).as("%s step %d token %d", name, step, id).isCloseTo(e.get(1).asDouble(), within(tol));
                    }
                    int argmax = Reference.argmax(logits);
                    steps++;
                    equal += argmax == expected[step] ? 1 : 0;
                    boolean tie = top.get(0).get(1).asDouble() - top.get(1).get(1).asDouble() < tol;
                    if (!tie || argmax != top.get(1).get(0).asInt()) {
                        assertThat(argmax).as("%s greedy token at step %d", name, step).isEqualTo(expected[step]);
                    }
                    logits = m.forward(s, expected[step], prompt.length + step, true);
                }
            }
        }
        System.out.printf("%s vs llama.cpp: %d of %d greedy tokens equal, max |dlogprob| of top-5 = %.2e (tolerance %.0e)%n",
                name, equal, steps, maxDiff, tol);
    }
}
