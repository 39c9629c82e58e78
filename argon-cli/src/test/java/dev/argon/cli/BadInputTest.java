package dev.argon.cli;

import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.gguf.GgufWriter;
import dev.argon.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Mistakes a new user makes: each gives one clear line on stderr, exit code 2, nothing on stdout. */
class BadInputTest {
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
    void aPromptWithoutDashPSaysWhereItGoes() {
        assertCleanError(CliRun.of("generate", "-n", "4", "Hello"), "Unmatched argument", "'Hello'", "the prompt goes after -p");
        assertCleanError(CliRun.of("chat", "Hello"), "the prompt goes after -p");
        // -p given, then unquoted words: the hint is about quoting, not about where the prompt goes
        assertCleanError(CliRun.of("generate", "-p", "hi", "-n", "2", "extra", "words"), "Quote a prompt of several words");
        // commands without a --prompt option get no such hint
        CliRun r = CliRun.of("inspect", "a.gguf", "b.gguf");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).doesNotContain("-p");
    }

    @Test
    void everyUsageErrorHasExactlyOneHintLine() {
        String[][] cases = {
                {"generate", "--bogus"}, {"generate", "Hello"}, {"bench", "--bogus"}, {"bench", "-p", "x"}, {"serve", "--port"},
                {"serve", "--bogus"}, {"batch"}, {"batch", "--bogus"}, {"watermark"}, {"watermark", "detect"},
                {"watermark", "detect", "--key", "k", "--bogus"}, {"tokenize", "-x"}, {"bogus"}, {},
                // Argon's own value and combination checks, not picocli's
                {"generate", "-p", "hi", "--kv-window", "0"}, {"generate", "-p", "hi", "-f", "x.txt"},
        };
        for (String[] c : cases) {
            CliRun r = CliRun.of(c);
            String what = String.join(" ", c) + ": " + r.err();
            assertThat(r.exitCode()).as(what).isEqualTo(2);
            java.util.List<String> lines = r.err().lines().toList();
            assertThat(lines).as(what).hasSize(2);
            assertThat(lines.get(0)).as(what).startsWith("argon: error: ").doesNotContain("Try ").doesNotContain("--help");
            assertThat(lines.get(1)).as(what).startsWith("Try ").endsWith(" --help' for usage.");
        }
        // an unknown option is not a misplaced prompt; a word is
        assertThat(CliRun.of("generate", "--bogus").err().lines().toList().get(1)).isEqualTo("Try 'argon generate --help' for usage.");
        assertThat(CliRun.of("generate", "Hello").err().lines().toList().get(1))
                .isEqualTo("Try -p \"TEXT\" (the prompt goes after -p), or 'argon generate --help' for usage.");
        assertThat(CliRun.of("tokenize", "-x").err().lines().toList().get(1))
                .startsWith("Try 'argon tokenize -- -x' if -x is text (text that starts with '-' goes after '--')");
        assertThat(CliRun.of("watermark").err()).startsWith("argon: error: missing subcommand: use 'argon watermark detect")
                .endsWith("Try 'argon watermark --help' for usage." + System.lineSeparator());
        assertThat(CliRun.of().err().lines().toList().getFirst()).isEqualTo("argon: error: missing command: choose one of generate, chat,"
                + " serve, bench, inspect, tokenize, synth, loadtest, perplexity, watermark, compress, decompress, rerank, embed, batch");
        assertThat(CliRun.of("generate", "-p", "hi", "--kv-window", "0").err().lines().toList())
                .containsExactly("argon: error: --kv-window is 0; expected >= 1 recent tokens", "Try 'argon generate --help' for usage.");
    }

    @Test
    void truncatedModel() throws IOException {
        byte[] all = Files.readAllBytes(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"));
        Path p = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(all, all.length - 1000));
        assertCleanError(CliRun.of("generate", "-m", p.toString(), "-p", "hi"), "cut.gguf", "truncated");
    }

    @Test
    void textFileRenamedGguf() throws IOException {
        Path p = Files.writeString(tmp.resolve("readme.gguf"), "# just text\n");
        assertCleanError(CliRun.of("generate", "-m", p.toString()), "readme.gguf", "not a GGUF file");
        assertCleanError(CliRun.of("inspect", p.toString()), "not a GGUF file");
    }

    @Test
    void emptyFile() throws IOException {
        Path p = Files.createFile(tmp.resolve("empty.gguf"));
        assertCleanError(CliRun.of("generate", "-m", p.toString()), "empty.gguf", "empty");
    }

    @Test
    void unknownTensorType() {
        Path p = tmp.resolve("type.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensorRaw("token_embd.weight", 77, new long[]{32}, MemorySegment.ofArray(new byte[64])).write(p);
        assertCleanError(CliRun.of("generate", "-m", p.toString()), "token_embd.weight", "unknown tensor type id 77");
    }

    @Test
    void unsupportedTensorType() {
        // stories260K with its embedding re-typed as IQ4_NL, a type Argon knows but cannot compute (its
        // 32-element blocks divide the rows of 64, which the GGUF reader checks first)
        Path p = tmp.resolve("iq.gguf");
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> w.put(k, f.typeOf(k), v));
            for (GgufTensorInfo t : f.tensors()) {
                if (t.name().equals("token_embd.weight")) {
                    w.addTensorRaw(t.name(), GgmlType.IQ4_NL.id(), t.shape(),
                            MemorySegment.ofArray(new byte[(int) GgmlType.IQ4_NL.bytesFor(t.elementCount())]));
                } else {
                    w.addTensor(t.name(), t.type(), t.shape(), f.tensorData(t));
                }
            }
            w.write(p);
        }
        assertCleanError(CliRun.of("generate", "-m", p.toString()), "token_embd.weight", "IQ4_NL", "not supported");
    }

    @Test
    void promptLongerThanContext() {
        assertCleanError(CliRun.of("generate", "-m", TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString(),
                "-c", "8", "-p", "Once upon a time there was a little girl named Lily who liked to play"), "context", "-c");
    }

    @Test
    void negativeTokenCount() {
        assertCleanError(CliRun.of("generate", "-m", TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString(),
                "-n", "-5"), "-n", "-5");
    }

    @Test
    void badSamplingValues() {
        String m = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();
        assertCleanError(CliRun.of("generate", "-m", m, "--temp", "-1"), "--temp");
        assertCleanError(CliRun.of("generate", "-m", m, "--top-p", "1.5"), "--top-p");
        assertCleanError(CliRun.of("generate", "-m", m, "-t", "0"), "threads");
        assertCleanError(CliRun.of("generate", "-m", m, "-t", "100000"), "threads (-t) is 100000; at most");
        assertCleanError(CliRun.of("generate", "-m", m, "-n", "ten"), "ten");
    }

    @Test
    void hugeContextIsRefusedBeforeAllocating() {
        String m = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();
        assertCleanError(CliRun.of("generate", "-m", m, "-p", "hi", "-c", "2147483647"), "-c");
    }

    @Test
    void promptFileProblemsAreNamed() throws IOException {
        String m = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();
        assertCleanError(CliRun.of("generate", "-m", m, "-f", tmp.resolve("nope.txt").toString()), "nope.txt", "not found");
        Path bad = Files.write(tmp.resolve("latin1.txt"), new byte[]{'a', ' ', (byte) 0xFF, ' ', 'b'});
        assertCleanError(CliRun.of("generate", "-m", m, "-f", bad.toString()), "latin1.txt", "not valid UTF-8");
    }

    @Test
    void samplingErrorsNameTheFlag() {
        String m = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();
        assertCleanError(CliRun.of("generate", "-m", m, "--min-p", "1.5"), "--min-p");
        assertCleanError(CliRun.of("generate", "-m", m, "--repeat-last-n", "-2"), "--repeat-last-n");
    }

    @Test
    void missingModelPath() {
        assertCleanError(CliRun.of("generate", "-m", tmp.resolve("nope.gguf").toString()), "nope.gguf", "no such file");
    }

    @Test
    void vocabularyOnlyFileCannotGenerate() {
        assertCleanError(CliRun.of("generate", "-m", TestFiles.model("llama-cpp-vocab/ggml-vocab-llama-spm.gguf").toString()),
                "vocabulary-only");
    }

    @Test
    void unknownCommandAndOption() {
        CliRun r = CliRun.of("frobnicate");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("frobnicate");
        CliRun o = CliRun.of("generate", "--no-such-flag");
        assertThat(o.exitCode()).isEqualTo(2);
        assertThat(o.err()).contains("--no-such-flag");
    }

    @Test
    void nothingIsWrittenNextToTheModel() throws IOException {
        Path p = Files.writeString(tmp.resolve("x.gguf"), "nope");
        CliRun.of("generate", "-m", p.toString());
        try (var files = Files.list(tmp)) {
            assertThat(files).containsExactly(p);
        }
    }
}
