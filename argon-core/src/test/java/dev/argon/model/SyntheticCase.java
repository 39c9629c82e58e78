package dev.argon.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.synth.ModelShape;
import dev.argon.synth.ModelSynthesizer;
import dev.argon.synth.SynthArch;
import dev.argon.synth.SynthOptions;
import dev.argon.synth.SynthType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One synthesized model of the differential tests against llama.cpp: the exact synth parameters
 * (architecture, shape, spreads, seed; F32 weights) and the prompts, as stored with llama.cpp's
 * outputs in {@code src/test/resources/reference/synth-*.json}, so a test can re-synthesize the
 * same file and compare.
 *
 * @param name file stem, e.g. {@code qwen2-a}
 * @param shape the shape
 * @param options architecture and spreads
 * @param seed the weights' seed
 * @param prompts token-id prompts
 */
record SyntheticCase(String name, ModelShape shape, SynthOptions options, long seed, int[][] prompts) {
    static final int STEPS = 32;

    /**
     * Tolerance of top-5 log-probabilities against llama.cpp: 1e-3, or 5e-3 for the architectures
     * with GELU (Gemma 2/3, GPT-2). ggml evaluates GELU through a table indexed by the F16-rounded
     * input; Argon does the same, but an input that F32 arithmetic in another summation order puts
     * on the other side of an F16 rounding boundary moves by one F16 step (about 5e-4 relative),
     * and random weights amplify that: measured up to 2e-3 (about 1e-5 for the others).
     */
    double tolerance() {
        return switch (options.arch()) {
            case GEMMA2, GEMMA3, GPT2 -> 5e-3;
            default -> 1e-3;
        };
    }

    /**
     * Weights spread enough for scores and logits to matter, so greedy paths are meaningful. A
     * tied embedding gets a smaller spread: as large as an untied output it would dominate the
     * residual stream, and the model would only repeat its input token.
     */
    static SynthOptions spread(SynthArch arch, boolean tied) {
        return SynthOptions.of(arch).withStd(0.08f, tied ? 0.12f : 0.3f, 0.1f);
    }

    /** The cases of {@code tools/llama-cpp/differential.sh}: each architecture at two shapes, plus RoPE-scaling variants. */
    static List<SyntheticCase> all() {
        List<SyntheticCase> out = new ArrayList<>();
        for (SynthArch arch : SynthArch.values()) {
            if (arch.encoder()) {
                continue; // no next-token logits to compare
            }
            boolean ownHead = arch == SynthArch.QWEN3 || arch == SynthArch.GEMMA2 || arch == SynthArch.GEMMA3;
            boolean gpt2 = arch == SynthArch.GPT2;
            ModelShape a = new ModelShape("synth-a", 2, 128, 256, 4, gpt2 ? 4 : 2, 320, 256, 10000f, 1e-5f, false, 0);
            boolean tiedB = arch == SynthArch.LLAMA || arch == SynthArch.GPT2 || arch.alwaysTied();
            ModelShape b = new ModelShape("synth-b", arch == SynthArch.GEMMA3 ? 6 : 3, 96, 192, gpt2 ? 3 : 6, gpt2 ? 3 : 2, 300,
                    128, 500000f, 1e-6f, tiedB, ownHead ? 32 : 0);
            int window = arch.hasSlidingWindow() && arch != SynthArch.LLAMA && arch != SynthArch.MISTRAL ? 8 : -1;
            out.add(of(arch.cliName() + "-a", a, spread(arch, arch.alwaysTied()).withSlidingWindow(window), 11));
            out.add(of(arch.cliName() + "-b", b, spread(arch, tiedB).withSlidingWindow(window), 12));
        }
        ModelShape a = new ModelShape("synth-a", 2, 128, 256, 4, 2, 320, 256, 10000f, 1e-5f, false, 0);
        out.add(of("llama-linear", a, spread(SynthArch.LLAMA, false).withRopeScaling("linear", 4f), 13));
        out.add(of("llama-rope-freqs", a, spread(SynthArch.LLAMA, false).withRopeFreqs(true), 14));
        out.add(of("qwen2-yarn", a, spread(SynthArch.QWEN2, false).withRopeScaling("yarn", 4f), 15));
        out.add(of("phi3-longrope", a, spread(SynthArch.PHI3, false).withRopeScaling("longrope", 16f), 17));
        ModelShape g = new ModelShape("synth-b", 6, 96, 192, 6, 2, 300, 128, 1000000f, 1e-6f, false, 32);
        out.add(of("gemma3-linear", g, spread(SynthArch.GEMMA3, false).withSlidingWindow(8).withRopeScaling("linear", 8f), 16));
        return out;
    }

    /** A case with two prompts: a short one and one longer than the sliding windows (BOS first, except GPT-2's). */
    static SyntheticCase of(String name, ModelShape shape, SynthOptions o, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] prompts = new int[2][];
        int[] lengths = {4, 20};
        for (int i = 0; i < 2; i++) {
            prompts[i] = new int[lengths[i]];
            for (int t = 0; t < lengths[i]; t++) {
                prompts[i][t] = r.nextInt(3, shape.vocab() - 1);
            }
            if (o.arch() != SynthArch.GPT2) {
                prompts[i][0] = 1;
            }
        }
        return new SyntheticCase(name, shape, o, seed, prompts);
    }

    /** Writes the model file (F32 weights). */
    Path synthesize(Path dir) {
        Path p = dir.resolve(name + ".gguf");
        new ModelSynthesizer(shape, SynthType.F32, options).write(p, seed, 2, null);
        return p;
    }

    /** @return the synth parameters as JSON */
    ObjectNode toJson(ObjectMapper m) {
        ObjectNode n = m.createObjectNode();
        n.put("name", name).put("arch", options.arch().cliName()).put("seed", seed).put("type", "f32");
        n.set("shape", m.valueToTree(shape));
        n.set("options", m.valueToTree(options));
        n.set("prompts", m.valueToTree(prompts));
        return n;
    }

    /** Reads the synth parameters written by {@link #toJson}. */
    static SyntheticCase fromJson(JsonNode n) {
        JsonNode s = n.get("shape");
        ModelShape shape = new ModelShape(s.get("name").asText(), s.get("nLayers").asInt(), s.get("dim").asInt(), s.get("ffDim").asInt(),
                s.get("nHeads").asInt(), s.get("nKvHeads").asInt(), s.get("vocab").asInt(), s.get("contextLength").asInt(),
                (float) s.get("ropeTheta").asDouble(), (float) s.get("rmsEps").asDouble(), s.get("tiedEmbeddings").asBoolean(),
                s.get("headSize").asInt());
        JsonNode o = n.get("options");
        SynthOptions options = SynthOptions.of(SynthArch.parse(n.get("arch").asText()))
                .withStd((float) o.get("weightStd").asDouble(), (float) o.get("outputStd").asDouble(), (float) o.get("normStd").asDouble())
                .withSlidingWindow(o.get("slidingWindow").asInt())
                .withRopeScaling(o.get("ropeScaling").asText(), (float) o.get("ropeFactor").asDouble())
                .withRopeFreqs(o.get("ropeFreqs").asBoolean());
        int[][] prompts = new int[n.get("prompts").size()][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = Reference.ints(n.get("prompts").get(i));
        }
        return new SyntheticCase(n.get("name").asText(), shape, options, n.get("seed").asLong(), prompts);
    }
}
