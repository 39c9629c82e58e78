package dev.argon.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Live differential test against llama.cpp, run by {@code tools/llama-cpp/differential.sh} (skipped
 * otherwise): synthesizes every {@link SyntheticCase} with F32 weights, runs llama.cpp's greedy
 * decoding through {@code diff.mjs} (node-llama-cpp, F32 KV cache) and Argon's (F32 KV cache), and
 * prints per case the greedy tokens agreeing out of 32 per prompt and the largest top-5
 * log-probability difference. System properties: {@code argon.llamacpp} (the tools/llama-cpp
 * folder, required), {@code argon.writeReferences} (a folder to store the cases with llama.cpp's
 * outputs as {@code synth-<name>.json}, for {@link SyntheticArchitecturesTest}), {@code argon.cases}
 * (comma-separated names to run only those).
 */
class LlamaCppDifferentialTest {
    @TempDir
    Path tmp;

    @Test
    void everyArchitectureAgreesWithLlamaCpp() throws Exception {
        String tools = System.getProperty("argon.llamacpp");
        assumeTrue(tools != null && !tools.isBlank(), "set -Dargon.llamacpp=tools/llama-cpp to run against llama.cpp");
        String only = System.getProperty("argon.cases", "");
        String write = System.getProperty("argon.writeReferences", "");
        ObjectMapper m = new ObjectMapper();
        List<String> failures = new ArrayList<>();
        System.out.printf("%n%-18s %-7s %-28s %16s %14s%n", "case", "arch", "shape", "greedy agree", "max |dlogp|");
        for (SyntheticCase c : SyntheticCase.all()) {
            if (!only.isBlank() && !List.of(only.split(",")).contains(c.name())) {
                continue;
            }
            Path model = c.synthesize(tmp);
            JsonNode llamaCpp = m.readTree(runNode(Path.of(tools), model, m.writeValueAsString(c.prompts())));
            Differential d;
            try (LanguageModel argon = Models.load(model, 2)) {
                d = Differential.of(argon, llamaCpp);
            }
            String shape = String.format(Locale.ROOT, "%dx%d h%d/%d hd%d", c.shape().nLayers(), c.shape().dim(), c.shape().nHeads(),
                    c.shape().nKvHeads(), c.shape().headDim());
            System.out.printf(Locale.ROOT, "%-18s %-7s %-28s %9d of %3d %14.2e%n", c.name(), c.options().arch().cliName(), shape,
                    d.agreeing(), d.total(), d.maxDiff());
            if (d.agreeing() != d.total() || d.maxDiff() > c.tolerance()) {
                failures.add(c.name());
            }
            if (!write.isBlank()) {
                ObjectNode out = m.createObjectNode();
                out.set("synth", c.toJson(m));
                out.set("llama_cpp", llamaCpp);
                Files.createDirectories(Path.of(write));
                Files.writeString(Path.of(write, "synth-" + c.name() + ".json"), m.writeValueAsString(out) + "\n");
            }
            Files.delete(model);
        }
        assertThat(failures).as("cases differing from llama.cpp").isEmpty();
    }

    private static String runNode(Path tools, Path model, String prompts) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("node", tools.resolve("diff.mjs").toString(), model.toString(), prompts,
                String.valueOf(SyntheticCase.STEPS), "f32").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("node diff.mjs on %s", model).isZero();
        return out;
    }
}
