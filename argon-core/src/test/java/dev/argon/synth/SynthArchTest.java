package dev.argon.synth;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.gguf.GgufFile;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code argon synth --arch}: tensor names, shapes and metadata per architecture, as llama.cpp loads them. */
class SynthArchTest {
    @TempDir
    Path tmp;

    static final ModelShape SHAPE = new ModelShape("t", 2, 64, 96, 4, 2, 300, 128, 10000f, 1e-6f, false);

    private Path synth(SynthArch arch, ModelShape shape, SynthType type, SynthOptions o) {
        Path p = tmp.resolve(arch.cliName() + "-" + type.cliName() + ".gguf");
        new ModelSynthesizer(shape, type, o).write(p, 7, 2, null);
        return p;
    }

    @ParameterizedTest
    @EnumSource(SynthArch.class)
    void everyArchitectureLoadsAndGenerates(SynthArch arch) {
        ModelShape shape = arch.encoder() ? new ModelShape("t", 2, 64, 96, 4, 4, 300, 128, 10000f, 1e-6f, false) : SHAPE;
        for (SynthType type : List.of(SynthType.F32, SynthType.Q8_0)) {
            Path p = synth(arch, shape, type, SynthOptions.of(arch));
            try (GgufFile f = GgufFile.open(p)) {
                assertThat(f.getString("general.architecture")).isEqualTo(arch.ggufName());
                assertThat(f.getInt(arch.ggufName() + ".block_count")).isEqualTo(2);
            }
            try (LanguageModel m = Models.load(p, 2)) {
                assertThat(m.config().architecture()).isEqualTo(arch.ggufName());
                assertThat(m.config().nLayers()).isEqualTo(2);
                assertThat(m.config().dim()).isEqualTo(64);
                assertThat(m.config().vocabSize()).isEqualTo(300);
                assertThat(m.parameterCount()).isEqualTo(new ModelSynthesizer(shape, type, SynthOptions.of(arch)).parameterCount());
                if (m instanceof dev.argon.model.TextEncoder enc) { // no next tokens: one vector per token instead
                    int[] ids = m.tokenizer().encode("hello world", true, false);
                    float[] h = enc.encode(ids);
                    assertThat(h).hasSize(ids.length * 64);
                    assertThat(IntStream.range(0, h.length).allMatch(i -> Float.isFinite(h[i]))).isTrue();
                    continue;
                }
                GenerationResult r = new Generator(m).generate(GenerationRequest.of("hello world", 5, SamplingParams.greedy()), 64, t -> { });
                assertThat(r.generatedTokens()).isNotEmpty();
            }
        }
    }

    @Test
    void tensorsPerArchitecture() {
        ModelShape s = new ModelShape("t", 1, 64, 96, 4, 2, 300, 128, 10000f, 1e-6f, false, 24);
        Function<SynthArch, Map<String, long[]>> plan = a -> new ModelSynthesizer(a == SynthArch.QWEN3 || a == SynthArch.GEMMA3 ? s : SHAPE,
                SynthType.F32, SynthOptions.of(a)).tensors().stream()
                .collect(Collectors.toMap(ModelSynthesizer.TensorSpec::name, ModelSynthesizer.TensorSpec::shape));
        Map<String, long[]> qwen2 = plan.apply(SynthArch.QWEN2);
        assertThat(qwen2.get("blk.0.attn_q.bias")).containsExactly(64);
        assertThat(qwen2.get("blk.0.attn_k.bias")).containsExactly(32);
        Map<String, long[]> qwen3 = plan.apply(SynthArch.QWEN3);
        assertThat(qwen3.get("blk.0.attn_q.weight")).containsExactly(64, 96); // 4 heads of 24
        assertThat(qwen3.get("blk.0.attn_output.weight")).containsExactly(96, 64);
        assertThat(qwen3.get("blk.0.attn_q_norm.weight")).containsExactly(24);
        assertThat(qwen3).doesNotContainKey("blk.0.attn_q.bias");
        Map<String, long[]> phi3 = plan.apply(SynthArch.PHI3);
        assertThat(phi3.get("blk.0.attn_qkv.weight")).containsExactly(64, 64 + 2 * 32);
        assertThat(phi3.get("blk.0.ffn_up.weight")).containsExactly(64, 2 * 96);
        assertThat(phi3).doesNotContainKeys("blk.0.ffn_gate.weight", "blk.0.attn_q.weight");
        Map<String, long[]> gemma2 = plan.apply(SynthArch.GEMMA2);
        assertThat(gemma2).containsKeys("blk.0.post_attention_norm.weight", "blk.0.post_ffw_norm.weight", "blk.0.ffn_gate.weight")
                .doesNotContainKey("output.weight"); // llama.cpp's gemma2 always uses token_embd
        Map<String, long[]> gemma3 = plan.apply(SynthArch.GEMMA3);
        assertThat(gemma3).containsKeys("blk.0.attn_k_norm.weight", "blk.0.post_ffw_norm.weight", "output.weight");
        Map<String, long[]> gpt2 = plan.apply(SynthArch.GPT2);
        assertThat(gpt2.get("position_embd.weight")).containsExactly(64, 128);
        assertThat(gpt2.get("blk.0.attn_qkv.bias")).containsExactly(64 + 2 * 32);
        assertThat(gpt2).containsKeys("blk.0.attn_norm.bias", "blk.0.attn_output.bias", "blk.0.ffn_up.bias", "blk.0.ffn_down.bias",
                "output_norm.bias").doesNotContainKey("blk.0.ffn_gate.weight");
        assertThat(plan.apply(SynthArch.MISTRAL).keySet()).isEqualTo(plan.apply(SynthArch.LLAMA).keySet());
    }

    /** BERT: exactly the tensors and keys llama.cpp's converter writes for a Hugging Face BertModel (src/models/bert.cpp loads them). */
    @Test
    void bertTensorsAndMetadataAreLlamaCpps() {
        ModelShape s = new ModelShape("t", 1, 64, 96, 4, 4, 300, 128, 10000f, 1e-12f, false);
        Map<String, long[]> t = new ModelSynthesizer(s, SynthType.Q8_0, SynthOptions.of(SynthArch.BERT)).tensors().stream()
                .collect(Collectors.toMap(ModelSynthesizer.TensorSpec::name, ModelSynthesizer.TensorSpec::shape));
        assertThat(t.keySet()).containsExactlyInAnyOrder("token_embd.weight", "position_embd.weight", "token_types.weight",
                "token_embd_norm.weight", "token_embd_norm.bias",
                "blk.0.attn_q.weight", "blk.0.attn_q.bias", "blk.0.attn_k.weight", "blk.0.attn_k.bias",
                "blk.0.attn_v.weight", "blk.0.attn_v.bias", "blk.0.attn_output.weight", "blk.0.attn_output.bias",
                "blk.0.attn_output_norm.weight", "blk.0.attn_output_norm.bias", "blk.0.ffn_up.weight", "blk.0.ffn_up.bias",
                "blk.0.ffn_down.weight", "blk.0.ffn_down.bias", "blk.0.layer_output_norm.weight", "blk.0.layer_output_norm.bias");
        assertThat(t.get("position_embd.weight")).containsExactly(64, 128);
        assertThat(t.get("token_types.weight")).containsExactly(64, 2);
        assertThat(t.get("blk.0.ffn_up.weight")).containsExactly(64, 96);
        try (GgufFile f = GgufFile.open(synth(SynthArch.BERT, s, SynthType.F32, SynthOptions.of(SynthArch.BERT)))) {
            assertThat(f.getFloat("bert.attention.layer_norm_epsilon")).isEqualTo(1e-12f);
            assertThat(f.getBool("bert.attention.causal", true)).isFalse();
            assertThat(f.getInt("bert.pooling_type")).isEqualTo(1);
            assertThat(f.getInt("tokenizer.ggml.token_type_count")).isEqualTo(2);
            assertThat(f.has("bert.rope.dimension_count")).isFalse();
            assertThat(f.has("bert.attention.head_count_kv")).isFalse();
            assertThat(f.getInt("tokenizer.ggml.seperator_token_id")).isEqualTo(102);
            assertThat(f.getInt("tokenizer.ggml.cls_token_id")).isEqualTo(101);
        }
    }

    @Test
    void metadataPerArchitecture() {
        try (GgufFile f = GgufFile.open(synth(SynthArch.GEMMA2, SHAPE, SynthType.F32, SynthOptions.of(SynthArch.GEMMA2)))) {
            assertThat(f.getInt("gemma2.attention.sliding_window")).isEqualTo(4096);
            assertThat(f.getFloat("gemma2.attn_logit_softcapping")).isEqualTo(50f);
            assertThat(f.getFloat("gemma2.final_logit_softcapping")).isEqualTo(30f);
            assertThat(f.getInt("gemma2.attention.key_length")).isEqualTo(16);
        }
        try (GgufFile f = GgufFile.open(synth(SynthArch.MISTRAL, SHAPE, SynthType.F32, SynthOptions.of(SynthArch.MISTRAL)))) {
            assertThat(f.getString("general.architecture")).isEqualTo("llama");
            assertThat(f.getInt("llama.attention.sliding_window")).isEqualTo(4096);
        }
        SynthOptions scaled = SynthOptions.of(SynthArch.QWEN2).withRopeScaling("yarn", 4f).withSlidingWindow(0);
        try (GgufFile f = GgufFile.open(synth(SynthArch.QWEN2, SHAPE, SynthType.F32, scaled))) {
            assertThat(f.getString("qwen2.rope.scaling.type")).isEqualTo("yarn");
            assertThat(f.getFloat("qwen2.rope.scaling.factor")).isEqualTo(4f);
            assertThat(f.getInt("qwen2.rope.scaling.original_context_length")).isEqualTo(32);
            assertThat(f.has("qwen2.attention.sliding_window")).isFalse();
        }
        try (GgufFile f = GgufFile.open(synth(SynthArch.GPT2, SHAPE, SynthType.F32, SynthOptions.of(SynthArch.GPT2)))) {
            assertThat(f.getFloat("gpt2.attention.layer_norm_epsilon")).isEqualTo(1e-6f);
            assertThat(f.has("gpt2.rope.freq_base")).isFalse();
        }
        SynthOptions freqs = SynthOptions.of(SynthArch.LLAMA).withRopeFreqs(true);
        try (GgufFile f = GgufFile.open(synth(SynthArch.LLAMA, SHAPE, SynthType.F32, freqs))) {
            assertThat(f.tensor("rope_freqs.weight").shape()).containsExactly(8);
        }
    }

    @Test
    void spreadOfWeightsNormsAndBiases() {
        SynthOptions o = SynthOptions.of(SynthArch.QWEN2).withStd(0.1f, 0.5f, 0.2f);
        Map<String, ModelSynthesizer.TensorSpec> t = new ModelSynthesizer(SHAPE, SynthType.F32, o).tensors().stream()
                .collect(Collectors.toMap(ModelSynthesizer.TensorSpec::name, x -> x));
        assertThat(t.get("blk.0.attn_q.weight").std()).isEqualTo(0.1f);
        assertThat(t.get("output.weight").std()).isEqualTo(0.5f);
        assertThat(t.get("token_embd.weight").std()).isEqualTo(0.1f);
        assertThat(t.get("blk.0.attn_norm.weight").mean()).isEqualTo(1f);
        assertThat(t.get("blk.0.attn_norm.weight").std()).isEqualTo(0.2f);
        assertThat(t.get("blk.0.attn_q.bias").mean()).isEqualTo(0f);
        ModelShape tied = new ModelShape("t", 2, 64, 96, 4, 2, 300, 128, 10000f, 1e-6f, true);
        assertThat(new ModelSynthesizer(tied, SynthType.F32, o).tensors().getFirst().std()).isEqualTo(0.5f); // the embedding is the output
        // the defaults: llama's norms are exactly 1, as before
        assertThat(new ModelSynthesizer(SHAPE, SynthType.F32).tensors().stream().filter(x -> x.shape().length == 1)
                .allMatch(x -> x.std() == 0f && x.mean() == 1f)).isTrue();
    }

    @Test
    void byteLevelBpeVocabulary() {
        SyntheticBpeVocabulary v = SyntheticBpeVocabulary.of(600);
        assertThat(v.tokens()).hasSize(600);
        assertThat(new HashSet<>(List.of(v.tokens()))).hasSize(600);
        assertThat(v.tokens()[' ']).isEqualTo("\u0120");
        assertThat(v.tokens()[599]).isEqualTo("<|endoftext|>");
        assertThat(v.merges()).hasSize(600 - 257);
        Set<String> known = new HashSet<>(List.of(v.tokens()));
        for (String m : v.merges()) {
            String[] parts = m.split(" ");
            assertThat(known).contains(parts[0], parts[1], parts[0] + parts[1]);
        }
        assertThatThrownBy(() -> SyntheticBpeVocabulary.of(256)).isInstanceOf(IllegalArgumentException.class);
        try (LanguageModel m = Models.load(synth(SynthArch.GPT2, SHAPE, SynthType.F32, SynthOptions.of(SynthArch.GPT2)), 1)) {
            Tokenizer tok = m.tokenizer();
            String text = "the tea is hot, 42 times!";
            int[] ids = tok.encode(text, true, false);
            assertThat(tok.decode(ids)).isEqualTo(text);
            assertThat(ids.length).isLessThan(text.length()); // merged into multi-character tokens
            assertThat(Arrays.stream(ids).noneMatch(id -> id == 299)).isTrue(); // no BOS added
        }
    }

    @Test
    void invalidOptionsAreRejectedWithClearMessages() {
        assertThatThrownBy(() -> SynthArch.parse("mamba")).isInstanceOf(ArgonException.class)
                .hasMessageContaining("llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3, gpt2");
        assertThatThrownBy(() -> new ModelSynthesizer(SHAPE, SynthType.F32, SynthOptions.of(SynthArch.QWEN2).withRopeFreqs(true)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("rope_freqs");
        assertThatThrownBy(() -> new ModelSynthesizer(SHAPE, SynthType.F32, SynthOptions.of(SynthArch.GPT2).withRopeScaling("linear", 2f)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("gpt2 has no RoPE");
        assertThatThrownBy(() -> new ModelSynthesizer(SHAPE, SynthType.F32, SynthOptions.of(SynthArch.LLAMA).withRopeScaling("ntk", 2f)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("none, linear, yarn");
        assertThatThrownBy(() -> new ModelSynthesizer(SHAPE, SynthType.F32, SynthOptions.of(SynthArch.QWEN3).withSlidingWindow(8)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("--sliding-window applies to llama, mistral, gemma2, gemma3");
        assertThatThrownBy(() -> new ModelSynthesizer(SHAPE, SynthType.F32, SynthOptions.of(SynthArch.LLAMA).withStd(0f, 1f, 0f)))
                .isInstanceOf(ArgonException.class).hasMessageContaining("--weight-std");
        ModelShape odd = new ModelShape("t", 1, 64, 96, 4, 2, 300, 128, 10000f, 1e-6f, false, 7);
        assertThatThrownBy(() -> new ModelSynthesizer(odd, SynthType.F32)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("head size 7 (--head-dim) must be even");
        ModelShape q8 = new ModelShape("t", 1, 64, 96, 4, 2, 300, 128, 10000f, 1e-6f, false, 20);
        assertThatThrownBy(() -> new ModelSynthesizer(q8, SynthType.Q8_0)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("query width 80");
    }
}
