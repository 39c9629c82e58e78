package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class WatermarkCommandTest {
    static final String STORIES = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();

    private static double z(String line) {
        Matcher m = Pattern.compile(" z (-?[0-9.]+) ").matcher(line);
        assertThat(m.find()).as(line).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void generatedWithTheKeyIsDetectedAndPlainTextIsNot(@TempDir Path dir) throws Exception {
        CliRun marked = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "200", "--temp", "1", "--seed", "3",
                "--watermark", "my key");
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "200", "--temp", "1", "--seed", "3");
        assertThat(marked.exitCode()).as(marked.err()).isZero();
        assertThat(marked.out()).isNotEqualTo(plain.out());
        Files.writeString(dir.resolve("marked.txt"), marked.out(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("plain.txt"), plain.out(), StandardCharsets.UTF_8);
        CliRun d = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "my key", "--window", "100",
                dir.resolve("marked.txt").toString(), dir.resolve("plain.txt").toString());
        assertThat(d.exitCode()).as(d.err()).isZero();
        String[] lines = d.out().split("\\R");
        String markedLine = lines[0];
        String plainLine = java.util.Arrays.stream(lines).filter(l -> l.contains("plain.txt")).findFirst().orElseThrow();
        assertThat(markedLine).contains("marked.txt").endsWith(" watermarked");
        assertThat(z(markedLine)).isGreaterThanOrEqualTo(4);
        assertThat(plainLine).endsWith("not watermarked");
        assertThat(z(plainLine)).isLessThan(4);
        assertThat(d.out()).contains("  tokens 0..100: scored ");
        CliRun wrongKey = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "other", dir.resolve("marked.txt").toString());
        assertThat(z(wrongKey.out())).isLessThan(4);
    }

    @Test
    void detectReadsStandardInputForDash(@TempDir Path dir) throws Exception {
        CliRun marked = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "120", "--temp", "1", "--seed", "5",
                "--watermark", "k");
        assertThat(marked.exitCode()).as(marked.err()).isZero();
        Path file = Files.writeString(dir.resolve("marked.txt"), marked.out(), StandardCharsets.UTF_8);
        CliRun fromFile = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "k", file.toString());
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        picocli.CommandLine cl = Main.commandLine(new java.io.PrintStream(out, true, StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        WatermarkCommand.Detect detect = (WatermarkCommand.Detect) cl.getSubcommands().get("watermark").getSubcommands().get("detect").getCommand();
        detect.stdin = new java.io.ByteArrayInputStream(marked.out().getBytes(StandardCharsets.UTF_8));
        int code = cl.execute("watermark", "detect", "-m", STORIES, "--key", "k", "-", file.toString());
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        String[] lines = out.toString(StandardCharsets.UTF_8).split("\\R");
        String score = fromFile.out().strip().substring(file.toString().length()); // ": scored ... watermarked"
        assertThat(score).contains(" scored ").endsWith(" watermarked");
        assertThat(lines).containsExactly("-" + score, file + score);
        // standard input can be read once: '-' twice is refused
        CliRun twice = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "k", "-", "-");
        assertThat(twice.exitCode()).isEqualTo(2);
        assertThat(twice.err()).startsWith("argon: error: - (standard input) is given more than once; it can be read only once");
        // every file is checked before any is scored: no result printed for the first one
        CliRun missing = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "k", file.toString(), dir.resolve("nope.txt").toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.out()).isEmpty();
        assertThat(missing.err()).startsWith("argon: error: " + dir.resolve("nope.txt") + ": text file not found");
    }

    @Test
    void theSynthIdSchemeIsDetectedWithItsKeyAndScheme(@TempDir Path dir) throws Exception {
        CliRun marked = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "200", "--temp", "1", "--seed", "3",
                "--watermark", "my key", "--watermark-scheme", "synthid");
        assertThat(marked.exitCode()).as(marked.err()).isZero();
        Files.writeString(dir.resolve("marked.txt"), marked.out(), StandardCharsets.UTF_8);
        CliRun d = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "my key", "--watermark-scheme", "synthid",
                dir.resolve("marked.txt").toString());
        assertThat(d.exitCode()).as(d.err()).isZero();
        assertThat(d.out().strip()).contains(" mean g ").endsWith(" watermarked").doesNotContain("not watermarked");
        assertThat(z(d.out())).isGreaterThanOrEqualTo(4);
        CliRun asKgw = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "my key", dir.resolve("marked.txt").toString());
        assertThat(z(asKgw.out())).as("the green-list test does not see a tournament watermark").isLessThan(4);
        CliRun bad = CliRun.of("generate", "-m", STORIES, "-n", "5", "--watermark", "k", "--watermark-scheme", "other");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).startsWith("argon: error:").contains("--watermark-scheme").contains("synthid");
    }

    @Test
    void badSettingsAreUsageErrors(@TempDir Path dir) throws Exception {
        CliRun g = CliRun.of("generate", "-m", STORIES, "-n", "5", "--watermark", "k", "--watermark-gamma", "1.5");
        assertThat(g.exitCode()).isEqualTo(2);
        assertThat(g.err()).startsWith("argon: error:").contains("gamma is 1.5");
        CliRun missing = CliRun.of("watermark", "detect", "-m", STORIES, "--key", "k", dir.resolve("none.txt").toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("none.txt");
        CliRun noKey = CliRun.of("watermark", "detect", "-m", STORIES, dir.resolve("none.txt").toString());
        assertThat(noKey.exitCode()).isEqualTo(2);
        assertThat(noKey.err()).contains("--key");
    }
}
