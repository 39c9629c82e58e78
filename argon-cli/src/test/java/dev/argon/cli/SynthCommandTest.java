package dev.argon.cli;

import dev.argon.gguf.GgufFile;
import dev.argon.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code argon synth}: writes loadable random-weight models; mistakes give one line and exit code 2. */
class SynthCommandTest {
    @TempDir
    Path tmp;

    private static void assertCleanError(CliRun r, String... fragments) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("argon: error: ").doesNotContain("\tat ").doesNotContain("Exception");
        assertThat(r.err().lines().count()).as(r.err()).isLessThanOrEqualTo(2);
        for (String f : fragments) {
            assertThat(r.err()).contains(f);
        }
    }

    @Test
    void writesAModelThatGenerates() throws IOException {
        Path p = tmp.resolve("tiny.gguf");
        CliRun r = CliRun.of("synth", "--shape", "tiny", "--type", "q4_0", "--seed", "3", "-o", p.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains(p.toString(), "MiB", String.format("%,d bytes", Files.size(p)), "1,443,072 parameters", "q4_0");
        assertThat(r.err()).doesNotContain("synth tiny.gguf"); // no progress bar when stderr is not a terminal
        CliRun g = CliRun.of("generate", "-m", p.toString(), "-p", "hello", "-n", "4", "--temp", "0");
        assertThat(g.exitCode()).as(g.err()).isZero();
    }

    @Test
    void customShapeAndProgressBar() throws IOException {
        Path p = tmp.resolve("sub/custom.gguf");
        // synth writes only the -o file: a missing directory is an error, not created
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "-o", p.toString()), "directory", "sub", "does not exist");
        assertThat(Files.exists(p.getParent())).isFalse();
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "-o", ""), "-o is empty; expected a file");
        Files.createDirectories(p.getParent());
        CliRun r = CliRun.of("synth", "--layers", "1", "--dim", "64", "--ff", "96", "--heads", "2", "--vocab", "300",
                "--tied-embeddings", "--type", "q4_k_m", "--progress", "-t", "2", "-o", p.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("synth custom.gguf", "100%", "argon: note: ", "Q4_K -> Q5_0", "custom (1 layers, dim 64");
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getInt("llama.attention.head_count_kv")).isEqualTo(2);
            assertThat(f.tensor("output.weight")).isNull();
            assertThat(f.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q8_0);
        }
    }

    @Test
    void refusesToOverwriteWithoutForce() throws IOException {
        Path p = Files.writeString(tmp.resolve("x.gguf"), "keep me");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "-o", p.toString()), "x.gguf", "already exists", "--force");
        assertThat(Files.readString(p)).isEqualTo("keep me");
        CliRun r = CliRun.of("synth", "--shape", "tiny", "--type", "f32", "--force", "-o", p.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getInt("general.file_type")).isZero();
        }
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "-o", tmp.toString()), "is a directory");
        // a dangling symbolic link is something that exists too
        Path link = Files.createSymbolicLink(tmp.resolve("link.gguf"), tmp.resolve("nowhere.gguf"));
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "-o", link.toString()), "already exists");
        assertThat(Files.isSymbolicLink(link)).isTrue();
    }

    @Test
    void badNamesListTheValidOnes() {
        Path p = tmp.resolve("m.gguf");
        assertCleanError(CliRun.of("synth", "--shape", "llama-7b", "-o", p.toString()),
                "unknown shape 'llama-7b'", "tiny, smollm2-135m, llama-3.2-1b");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--type", "q3_k", "-o", p.toString()),
                "unknown type 'q3_k'", "f32, f16, q8_0, q4_0, q4_k_m");
        assertCleanError(CliRun.of("synth", "-o", p.toString()), "no shape given", "--shape NAME");
        assertCleanError(CliRun.of("synth", "--layers", "2", "--dim", "64", "-o", p.toString()), "missing --ff, --heads, --vocab");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--heads", "3", "-o", p.toString()), "not divisible by --heads 3");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--dim", "80", "--heads", "4", "--type", "q8_0", "-o", p.toString()),
                "multiples of its block size 32");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--vocab", "10", "-o", p.toString()), "at least 259");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "-t", "0", "-o", p.toString()), "threads");
        assertCleanError(CliRun.of("synth", "--shape", "tiny"), "--output");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--dim", "2000000000", "-o", p.toString()),
                "--dim is 2000000000; at most 1048576");
        // 4096 layers of 2^20 x 2^20 F32 matrices: exabytes, more than any disk has free
        assertCleanError(CliRun.of("synth", "--layers", "4096", "--dim", "1048576", "--ff", "1048576", "--heads", "8192",
                "--vocab", "300", "--type", "f32", "-o", p.toString()), "TiB of tensor data but", " free; choose a smaller");
        assertThat(SynthCommand.humanBytes(5_779_456)).isEqualTo("5.5 MiB");
        assertThat(SynthCommand.humanBytes(1000)).isEqualTo("1000 B");
        assertThat(p).doesNotExist();
    }

    @Test
    void otherArchitecturesAndTheirFlags() {
        Path p = tmp.resolve("qwen3.gguf");
        CliRun r = CliRun.of("synth", "--arch", "qwen3", "--layers", "2", "--dim", "64", "--ff", "96", "--heads", "4", "--kv-heads", "2",
                "--head-dim", "24", "--vocab", "300", "--type", "f32", "--weight-std", "0.05", "--output-std", "0.2", "--norm-std", "0.1",
                "--rope-scaling", "linear", "--rope-factor", "4", "-o", p.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("qwen3 custom (2 layers, dim 64, ff 96, heads 4/2 of 24");
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getString("general.architecture")).isEqualTo("qwen3");
            assertThat(f.getInt("qwen3.attention.key_length")).isEqualTo(24);
            assertThat(f.getString("qwen3.rope.scaling.type")).isEqualTo("linear");
            assertThat(f.tensor("blk.1.attn_q_norm.weight").shape()).containsExactly(24);
        }
        CliRun g = CliRun.of("generate", "-m", p.toString(), "-p", "hello", "-n", "3", "--temp", "0");
        assertThat(g.exitCode()).as(g.err()).isZero();

        Path m = tmp.resolve("mistral.gguf");
        r = CliRun.of("synth", "--arch", "mistral", "--shape", "tiny", "--sliding-window", "16", "--type", "q8_0", "-o", m.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (GgufFile f = GgufFile.open(m)) {
            assertThat(f.getString("general.architecture")).isEqualTo("llama");
            assertThat(f.getInt("llama.attention.sliding_window")).isEqualTo(16);
        }
        Path gpt2 = tmp.resolve("gpt2.gguf");
        r = CliRun.of("synth", "--arch", "gpt2", "--shape", "tiny", "--kv-heads", "4", "--tied-embeddings", "-o", gpt2.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (GgufFile f = GgufFile.open(gpt2)) {
            assertThat(f.getString("tokenizer.ggml.model")).isEqualTo("gpt2");
            assertThat(f.tensor("position_embd.weight")).isNotNull();
        }
    }

    @Test
    void badArchitectureFlags() {
        Path p = tmp.resolve("m.gguf");
        assertCleanError(CliRun.of("synth", "--arch", "mamba", "--shape", "tiny", "-o", p.toString()),
                "unknown architecture 'mamba'", "llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3, gpt2");
        assertCleanError(CliRun.of("synth", "--arch", "qwen2", "--shape", "tiny", "--rope-freqs", "-o", p.toString()), "rope_freqs");
        assertCleanError(CliRun.of("synth", "--arch", "phi3", "--shape", "tiny", "--sliding-window", "8", "-o", p.toString()),
                "--sliding-window applies to");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--sliding-window", "-2", "-o", p.toString()), "--sliding-window is -2");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--rope-scaling", "ntk", "-o", p.toString()), "--rope-scaling 'ntk'");
        assertThat(p).doesNotExist();
    }
}
