package dev.argon.synth;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.synth.ModelSynthesizer.TensorSpec;
import dev.argon.tensor.GgmlType;
import dev.argon.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelSynthesizerTest {
    @TempDir
    Path tmp;

    /** A shape whose rows (64, 128) are not multiples of 256, with tied embeddings: exercises the fallbacks. */
    static final ModelShape NARROW_TIED = new ModelShape("custom", 3, 64, 128, 4, 2, 300, 128, 10000f, 1e-5f, true);

    private Path synth(ModelShape shape, SynthType type, long seed, int threads) {
        Path p = tmp.resolve(shape.name() + "-" + type.cliName() + "-" + seed + "-" + threads + ".gguf");
        ModelSynthesizer.Result r = new ModelSynthesizer(shape, type).write(p, seed, threads, null);
        assertThat(r.path()).isEqualTo(p);
        return p;
    }

    private static void assertLoadsAndGenerates(Path p, ModelShape shape) {
        try (LanguageModel m = Models.load(p, 2)) {
            assertThat(m.config().nLayers()).isEqualTo(shape.nLayers());
            assertThat(m.config().dim()).isEqualTo(shape.dim());
            assertThat(m.config().ffDim()).isEqualTo(shape.ffDim());
            assertThat(m.config().nKvHeads()).isEqualTo(shape.nKvHeads());
            assertThat(m.config().vocabSize()).isEqualTo(shape.vocab());
            assertThat(m.parameterCount()).isEqualTo(shape.parameterCount());
            InferenceState s = m.newState(16);
            float[] logits = m.forward(s, m.tokenizer().bos(), 0, true);
            assertThat(logits).hasSize(shape.vocab());
            for (float v : logits) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            GenerationResult r = new Generator(m).generate(GenerationRequest.of("hello world", 6, SamplingParams.greedy()), 64, t -> { });
            assertThat(r.generatedTokens()).isNotEmpty();
            assertThat(IntStream.of(r.generatedTokens()).allMatch(id -> id >= 0 && id < shape.vocab())).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(SynthType.class)
    void tinyLoadsAndGeneratesInEveryType(SynthType type) {
        Path p = synth(ModelShape.TINY, type, 1, 2);
        assertLoadsAndGenerates(p, ModelShape.TINY);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getInt("general.file_type")).isEqualTo(type.fileType());
            assertThat(f.has("general.quantization_version")).isEqualTo(type.quantized());
            for (GgufTensorInfo t : f.tensors()) {
                if (t.shape().length == 1) {
                    assertThat(t.type()).as(t.name()).isEqualTo(GgmlType.F32);
                } else if (!type.mixed()) {
                    assertThat(t.type()).as(t.name()).isEqualTo(type.baseType());
                }
            }
        }
    }

    @Test
    void fallbackTypesLoadAndGenerate() {
        Path p = synth(NARROW_TIED, SynthType.Q4_K_M, 3, 2);
        assertLoadsAndGenerates(p, NARROW_TIED);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.tensor("output.weight")).isNull();
            assertThat(f.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q5_0);
        }
    }

    private static Map<String, GgmlType> types(ModelSynthesizer s) {
        return s.tensors().stream().collect(Collectors.toMap(TensorSpec::name, TensorSpec::type));
    }

    private static Set<Integer> layersOf(Map<String, GgmlType> types, String matrix, GgmlType type, int nLayers) {
        return IntStream.range(0, nLayers).filter(l -> types.get("blk." + l + "." + matrix + ".weight") == type)
                .boxed().collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void q4kmFollowsLlamaCppOnTiny() {
        Path p = synth(ModelShape.TINY, SynthType.Q4_K_M, 1, 2);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getInt("general.file_type")).isEqualTo(15);
            assertThat(f.getInt("general.quantization_version")).isEqualTo(2);
            Map<String, GgmlType> t = f.tensors().stream().collect(Collectors.toMap(GgufTensorInfo::name, GgufTensorInfo::type));
            assertThat(t.get("token_embd.weight")).isEqualTo(GgmlType.Q4_K);
            assertThat(t.get("output.weight")).isEqualTo(GgmlType.Q6_K);
            assertThat(t.get("output_norm.weight")).isEqualTo(GgmlType.F32);
            // use_more_bits(i, 2) holds for layer 1 only
            for (String m : List.of("attn_v", "ffn_down")) {
                assertThat(t.get("blk.0." + m + ".weight")).as(m).isEqualTo(GgmlType.Q4_K);
                assertThat(t.get("blk.1." + m + ".weight")).as(m).isEqualTo(GgmlType.Q6_K);
            }
            for (int l = 0; l < 2; l++) {
                for (String m : List.of("attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up")) {
                    assertThat(t.get("blk." + l + "." + m + ".weight")).as(m).isEqualTo(GgmlType.Q4_K);
                }
                for (String m : List.of("attn_norm", "ffn_norm")) {
                    assertThat(t.get("blk." + l + "." + m + ".weight")).as(m).isEqualTo(GgmlType.F32);
                }
            }
        }
        assertThat(new ModelSynthesizer(ModelShape.TINY, SynthType.Q4_K_M).fallbackSummary()).isNull();
    }

    @Test
    void q4kmOfSmolLm2MatchesLlamaCppsChoices() {
        // 576-wide rows do not fill Q4_K/Q6_K blocks: llama.cpp uses Q5_0/Q8_0 there, Q8_0 for the tied output
        ModelSynthesizer s = new ModelSynthesizer(ModelShape.SMOLLM2_135M, SynthType.Q4_K_M);
        Map<String, GgmlType> t = types(s);
        Set<Integer> moreBits = Set.of(0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29);
        assertThat(IntStream.range(0, 30).filter(l -> SynthType.useMoreBits(l, 30)).boxed().toList()).containsExactlyInAnyOrderElementsOf(moreBits);
        assertThat(t.get("token_embd.weight")).isEqualTo(GgmlType.Q8_0);
        assertThat(t).doesNotContainKey("output.weight");
        assertThat(layersOf(t, "attn_v", GgmlType.Q8_0, 30)).isEqualTo(new TreeSet<>(moreBits));
        assertThat(layersOf(t, "attn_v", GgmlType.Q5_0, 30)).hasSize(30 - moreBits.size());
        assertThat(layersOf(t, "ffn_down", GgmlType.Q6_K, 30)).isEqualTo(new TreeSet<>(moreBits)); // rows of 1536 = 6 x 256
        assertThat(layersOf(t, "ffn_down", GgmlType.Q4_K, 30)).hasSize(30 - moreBits.size());
        for (String m : List.of("attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up")) {
            assertThat(layersOf(t, m, GgmlType.Q5_0, 30)).as(m).hasSize(30);
        }
        assertThat(s.fallbackSummary()).contains("Q4_K -> Q5_0 x166", "Q6_K -> Q8_0 x15", "rows of 576");
        assertThat(s.parameterCount()).isEqualTo(ModelShape.SMOLLM2_135M.parameterCount()).isEqualTo(134_515_008L);
    }

    @Test
    void q5kmOfLlama32_1bIsQ5KWithQ4KMsQ6KLayers() {
        ModelSynthesizer s = new ModelSynthesizer(ModelShape.LLAMA_3_2_1B, SynthType.Q5_K_M);
        Map<String, GgmlType> t = types(s);
        assertThat(t.get("token_embd.weight")).isEqualTo(GgmlType.Q6_K);
        Set<Integer> moreBits = Set.of(0, 1, 4, 7, 10, 13, 14, 15);
        assertThat(layersOf(t, "attn_v", GgmlType.Q6_K, 16)).isEqualTo(new TreeSet<>(moreBits));
        assertThat(layersOf(t, "ffn_down", GgmlType.Q6_K, 16)).isEqualTo(new TreeSet<>(moreBits));
        assertThat(layersOf(t, "ffn_down", GgmlType.Q5_K, 16)).hasSize(8);
        assertThat(layersOf(t, "attn_q", GgmlType.Q5_K, 16)).hasSize(16);
        assertThat(SynthType.parse("q5_k")).isEqualTo(SynthType.Q5_K_M);
        assertThat(SynthType.Q5_K_M.fileType()).isEqualTo(17);
        // rows of 576 (the SmolLM2 shape) fall back from Q5_K to Q5_1, as llama.cpp does
        assertThat(types(new ModelSynthesizer(ModelShape.SMOLLM2_135M, SynthType.Q5_K_M)).get("blk.0.attn_q.weight"))
                .isEqualTo(GgmlType.Q5_1);
    }

    @Test
    void q4kmOfLlama32_1b() {
        ModelSynthesizer s = new ModelSynthesizer(ModelShape.LLAMA_3_2_1B, SynthType.Q4_K_M);
        Map<String, GgmlType> t = types(s);
        assertThat(t.get("token_embd.weight")).isEqualTo(GgmlType.Q6_K); // tied: quantized as the output
        Set<Integer> moreBits = Set.of(0, 1, 4, 7, 10, 13, 14, 15);
        assertThat(layersOf(t, "attn_v", GgmlType.Q6_K, 16)).isEqualTo(new TreeSet<>(moreBits));
        assertThat(layersOf(t, "ffn_down", GgmlType.Q6_K, 16)).isEqualTo(new TreeSet<>(moreBits));
        assertThat(layersOf(t, "attn_q", GgmlType.Q4_K, 16)).hasSize(16);
        assertThat(s.fallbackSummary()).isNull();
        // the F16 file is about 2 GB, never held in memory at once
        long f16 = new ModelSynthesizer(ModelShape.LLAMA_3_2_1B, SynthType.F16).tensors().stream().mapToLong(TensorSpec::bytes).sum();
        assertThat(f16).isBetween(2_000_000_000L, 2_200_000_000L);
    }

    @Test
    void sameSeedGivesIdenticalBytesWhateverTheThreads() throws IOException {
        for (SynthType type : List.of(SynthType.Q4_K_M, SynthType.F16)) {
            Path a = synth(ModelShape.TINY, type, 7, 1);
            Path b = synth(ModelShape.TINY, type, 7, 3);
            Path c = synth(ModelShape.TINY, type, 8, 3);
            assertThat(Files.mismatch(a, b)).as(type.cliName()).isEqualTo(-1L);
            assertThat(Files.mismatch(a, c)).as(type.cliName()).isNotEqualTo(-1L);
            assertThat(Files.size(a)).isEqualTo(Files.size(c));
        }
    }

    @Test
    void metadataAndVocabulary() {
        ModelShape shape = ModelShape.TINY;
        Path p = synth(shape, SynthType.Q8_0, 1, 2);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getString("general.architecture")).isEqualTo("llama");
            assertThat(f.getString("general.name")).isEqualTo("tiny");
            assertThat(f.getInt("llama.block_count")).isEqualTo(2);
            assertThat(f.getInt("llama.embedding_length")).isEqualTo(256);
            assertThat(f.getInt("llama.feed_forward_length")).isEqualTo(512);
            assertThat(f.getInt("llama.attention.head_count")).isEqualTo(4);
            assertThat(f.getInt("llama.attention.head_count_kv")).isEqualTo(2);
            assertThat(f.getInt("llama.rope.dimension_count")).isEqualTo(64);
            assertThat(f.getInt("llama.vocab_size")).isEqualTo(512);
            assertThat(f.getFloat("llama.rope.freq_base")).isEqualTo(10000f);
            assertThat(f.getString("tokenizer.ggml.model")).isEqualTo("llama");
            String[] tokens = (String[]) f.getArray("tokenizer.ggml.tokens").values();
            GgufArray types = f.getArray("tokenizer.ggml.token_type");
            float[] scores = (float[]) f.getArray("tokenizer.ggml.scores").values();
            assertThat(tokens).hasSize(512).startsWith("<unk>", "<s>", "</s>", "<0x00>", "<0x01>");
            assertThat(tokens[258]).isEqualTo("<0xFF>");
            assertThat(tokens[259]).isEqualTo("\u2581");
            assertThat(new HashSet<>(List.of(tokens))).hasSize(512);
            assertThat(types.getLong(0)).isEqualTo(2);
            assertThat(types.getLong(1)).isEqualTo(3);
            assertThat(types.getLong(2)).isEqualTo(3);
            for (int i = 3; i < 259; i++) {
                assertThat(types.getLong(i)).isEqualTo(6);
            }
            for (int i = 259; i < 512; i++) {
                assertThat(types.getLong(i)).isEqualTo(1);
                assertThat(scores[i]).isEqualTo(-(i - 258f));
            }
        }
        try (LanguageModel m = Models.load(p, 1)) {
            Tokenizer tok = m.tokenizer();
            String text = "Hello world 42 \u00e9";
            int[] ids = tok.encode(text, true, false);
            assertThat(ids[0]).isEqualTo(1);
            assertThat(tok.decode(java.util.Arrays.copyOfRange(ids, 1, ids.length))).isEqualTo(" " + text); // the space prefix
            assertThat(ids.length).isLessThan(text.length()); // merges into multi-character pieces
        }
    }

    @Test
    void vocabularyOfAnySize() {
        assertThat(SyntheticVocabulary.of(259).tokens()).hasSize(259).endsWith("<0xFF>");
        String[] big = SyntheticVocabulary.of(49152).tokens();
        assertThat(new HashSet<>(List.of(big))).hasSize(49152);
        assertThat(big[49151]).hasSize(3);
        assertThatThrownBy(() -> SyntheticVocabulary.of(258)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void progressCountsBytesUpToTheFileSize() throws IOException {
        List<long[]> calls = new ArrayList<>();
        Path p = tmp.resolve("p.gguf");
        ModelSynthesizer.Result r = new ModelSynthesizer(ModelShape.TINY, SynthType.F32).write(p, 1, 2, (w, total) -> calls.add(new long[]{w, total}));
        assertThat(r.fileBytes()).isEqualTo(Files.size(p));
        assertThat(r.parameterCount()).isEqualTo(ModelShape.TINY.parameterCount());
        assertThat(calls.size()).isGreaterThan(10);
        for (int i = 1; i < calls.size(); i++) {
            assertThat(calls.get(i)[0]).isGreaterThanOrEqualTo(calls.get(i - 1)[0]);
        }
        assertThat(calls.getLast()).containsExactly(Files.size(p), Files.size(p));
    }

    @Test
    void randomWeightsAreCentredWithUnitVariance() {
        float[] v = new float[200_000];
        RandomWeights.fill(RandomWeights.key(5, "x"), 0, v, v.length, 1f);
        double sum = 0;
        double sq = 0;
        for (float x : v) {
            sum += x;
            sq += x * x;
        }
        double mean = sum / v.length;
        assertThat(mean).isBetween(-0.01, 0.01);
        assertThat(Math.sqrt(sq / v.length - mean * mean)).isBetween(0.99, 1.01);
        float[] w = new float[10];
        RandomWeights.fill(RandomWeights.key(5, "x"), 100, w, 10, 1f);
        assertThat(w).containsExactly(java.util.Arrays.copyOfRange(v, 100, 110));
        RandomWeights.fill(RandomWeights.key(5, "y"), 100, w, 10, 1f);
        assertThat(w).doesNotContain(v[100]);
    }

    @Test
    void badShapesAndTypesAreRejectedWithClearMessages() {
        assertThatThrownBy(() -> ModelShape.named("gpt-5")).isInstanceOf(ArgonException.class)
                .hasMessageContaining("gpt-5").hasMessageContaining("tiny, smollm2-135m, llama-3.2-1b");
        assertThat(ModelShape.named("SmolLM2-135M")).isSameAs(ModelShape.SMOLLM2_135M);
        assertThatThrownBy(() -> SynthType.parse("q3_k")).isInstanceOf(ArgonException.class)
                .hasMessageContaining("q3_k").hasMessageContaining("f32, f16, q8_0, q4_0, q4_k_m, q5_k_m");
        assertThat(SynthType.parse("Q4_K_M")).isEqualTo(SynthType.Q4_K_M);
        Function<ModelShape, ModelSynthesizer> q4 = s -> new ModelSynthesizer(s, SynthType.Q4_0);
        assertThatThrownBy(() -> q4.apply(new ModelShape("custom", 2, 80, 128, 4, 2, 300, 64, 1e4f, 1e-5f, false)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("multiples of its block size 32");
        assertThatThrownBy(() -> q4.apply(new ModelShape("custom", 2, 96, 128, 5, 5, 300, 64, 1e4f, 1e-5f, false)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("not divisible by --heads 5");
        assertThatThrownBy(() -> q4.apply(new ModelShape("custom", 2, 64, 128, 4, 3, 300, 64, 1e4f, 1e-5f, false)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("--kv-heads 3");
        assertThatThrownBy(() -> q4.apply(new ModelShape("custom", 0, 64, 128, 4, 2, 300, 64, 1e4f, 1e-5f, false)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("--layers is 0");
        assertThatThrownBy(() -> q4.apply(new ModelShape("custom", 2, 64, 128, 4, 2, 100, 64, 1e4f, 1e-5f, false)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("at least 259");
        // Q4_K_M falls back to F16 where rows are not a multiple of 32, as llama.cpp does
        ModelSynthesizer odd = new ModelSynthesizer(new ModelShape("custom", 1, 40, 80, 2, 1, 300, 64, 1e4f, 1e-5f, false), SynthType.Q4_K_M);
        assertThat(odd.tensors()).filteredOn(t -> t.shape().length == 2).allMatch(t -> t.type() == GgmlType.F16);
    }
}
