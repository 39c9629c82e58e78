package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code argon compress} / {@code argon decompress}: byte-exact round trips and clear refusals. */
class CompressCommandTest {
    private static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    @Test
    void roundTripAcrossThreadCountsAndWindows(@TempDir Path dir) throws IOException {
        String model = TestFiles.model(STORIES).toString();
        byte[] random = new byte[200];
        new SplittableRandom(9).nextBytes(random);
        byte[] text = "Once upon a time, there was a little dog. Él dijo: «¡Hola!» 🙂\n".getBytes(StandardCharsets.UTF_8);
        byte[] data = new byte[text.length + random.length];
        System.arraycopy(text, 0, data, 0, text.length);
        System.arraycopy(random, 0, data, text.length, random.length);
        Path in = dir.resolve("in.bin");
        Files.write(in, data);
        for (String[] extra : new String[][] {{"-c", "64"}, {"--window-bits", "96"}}) {
            Path z = dir.resolve("in.argz");
            Path out = dir.resolve("out.bin");
            CliRun c = CliRun.of(concat(new String[] {"compress", "-m", model, "-t", "1", in.toString(), "-o", z.toString()}, extra));
            assertThat(c.exitCode()).as(c.err()).isZero();
            assertThat(c.err()).contains("bits/byte").contains("model cross-entropy");
            assertThat(c.out()).isEmpty();
            CliRun d = CliRun.of("decompress", "-m", model, "-t", "2", z.toString(), "-o", out.toString());
            assertThat(d.exitCode()).as(d.err()).isZero();
            assertThat(Files.readAllBytes(out)).isEqualTo(data);
            try (var files = Files.list(dir)) {
                assertThat(files.filter(f -> f.getFileName().toString().endsWith(".tmp"))).isEmpty();
            }
        }
    }

    @Test
    void refusesAnotherModelAndFilesThatAreNotCompressed(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("story.txt");
        Files.writeString(in, "Once upon a time");
        Path z = dir.resolve("story.argz");
        CliRun c = CliRun.of("compress", "-m", TestFiles.model(STORIES).toString(), in.toString(), "-o", z.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        Path out = dir.resolve("out.txt");
        CliRun other = CliRun.of("decompress", "-m", TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf").toString(), z.toString(),
                "-o", out.toString());
        assertThat(other.exitCode()).isEqualTo(2);
        assertThat(other.err()).startsWith("argon: error: " + z + ": compressed with another model").doesNotContain("Exception");
        assertThat(out).doesNotExist();
        CliRun self = CliRun.of("compress", "-m", TestFiles.model(STORIES).toString(), in.toString(), "-o", in.toString());
        assertThat(self.exitCode()).isEqualTo(2);
        assertThat(self.err()).contains("the output file is the input file");
        assertThat(Files.readString(in)).isEqualTo("Once upon a time");
        CliRun notZ = CliRun.of("decompress", "-m", TestFiles.model(STORIES).toString(), in.toString(), "-o", out.toString());
        assertThat(notZ.exitCode()).isEqualTo(2);
        assertThat(notZ.err()).contains("not an Argon compressed file");
        CliRun missing = CliRun.of("compress", "-m", TestFiles.model(STORIES).toString(), dir.resolve("nope").toString(), "-o", z.toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("nope: input file not found");
        CliRun device = CliRun.of("compress", "-m", TestFiles.model(STORIES).toString(), "/dev/null", "-o", z.toString());
        assertThat(device.exitCode()).isEqualTo(2);
        assertThat(device.err()).contains("/dev/null: input file is not a regular file");
        CliRun badBits = CliRun.of("compress", "-m", TestFiles.model(STORIES).toString(), in.toString(), "-o", z.toString(), "--window-bits", "20");
        assertThat(badBits.exitCode()).isEqualTo(2);
        assertThat(badBits.err()).contains("--window-bits is 20");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
