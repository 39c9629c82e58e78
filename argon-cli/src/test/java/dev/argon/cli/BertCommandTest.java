package dev.argon.cli;

import dev.argon.embed.Embedder;
import dev.argon.gguf.GgufFile;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code argon synth --arch bert} writes llama.cpp's BERT layout; {@code argon embed} prints the
 * library's vectors with the file's pooling; generating with an encoder exits with 2 saying why.
 */
class BertCommandTest {
    @TempDir
    Path tmp;

    @Test
    void synthEmbedAndRefusals() {
        Path p = tmp.resolve("bert.gguf");
        CliRun synth = CliRun.of("synth", "--arch", "bert", "--layers", "2", "--dim", "64", "--ff", "128", "--heads", "4",
                "--vocab", "300", "--context", "64", "--pooling", "cls", "--type", "q8_0", "-o", p.toString());
        assertThat(synth.exitCode()).as(synth.err()).isZero();
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getString("general.architecture")).isEqualTo("bert");
            assertThat(f.getInt("bert.pooling_type")).isEqualTo(2);
            assertThat(f.getBool("bert.attention.causal", true)).isFalse();
            assertThat(f.getInt("tokenizer.ggml.token_type_count")).isEqualTo(2);
            assertThat(f.getString("tokenizer.ggml.model")).isEqualTo("bert");
            assertThat(f.tensor("token_types.weight").type().name()).isEqualTo("F32"); // never quantized, as in llama.cpp
            assertThat(f.tensor("blk.1.attn_output_norm.bias")).isNotNull();
            assertThat(f.tensor("blk.1.layer_output_norm.weight")).isNotNull();
            assertThat(f.tensor("output.weight")).isNull();
        }
        CliRun emb = CliRun.of("embed", "-m", p.toString(), "-t", "1", "the tea is hot", "a cold day");
        assertThat(emb.exitCode()).as(emb.err()).isZero();
        String[] lines = emb.out().split("\n");
        assertThat(lines).hasSize(2);
        try (LanguageModel m = Models.load(p, new ModelOptions(1, true))) {
            float[] v = new Embedder(m, Embedder.Pooling.CLS, 64).embed("a cold day").vector();
            String[] e = lines[1].replace("[", "").replace("]", "").split(",");
            assertThat(e).hasSize(64);
            for (int i = 0; i < v.length; i++) {
                assertThat(Float.parseFloat(e[i])).isEqualTo(v[i]);
            }
        }
        CliRun gen = CliRun.of("generate", "-m", p.toString(), "-n", "3", "-p", "hello");
        assertThat(gen.exitCode()).isEqualTo(2);
        assertThat(gen.err()).contains("argon: error:").contains("text encoder").contains("argon embed").doesNotContain("Exception");
        CliRun chat = CliRun.of("chat", "-m", p.toString());
        assertThat(chat.exitCode()).isEqualTo(2);
        assertThat(chat.err()).contains("argon: error:").contains("text encoder");
        CliRun gqa = CliRun.of("synth", "--arch", "bert", "--layers", "1", "--dim", "64", "--ff", "128", "--heads", "4",
                "--kv-heads", "2", "--vocab", "300", "-o", tmp.resolve("x.gguf").toString());
        assertThat(gqa.exitCode()).isEqualTo(2);
        assertThat(gqa.err()).contains("bert has no grouped-query attention");
        CliRun pooling = CliRun.of("synth", "--arch", "llama", "--shape", "tiny", "--pooling", "cls", "-o", tmp.resolve("y.gguf").toString());
        assertThat(pooling.exitCode()).isEqualTo(2);
        assertThat(pooling.err()).contains("--pooling applies to bert");
    }
}
