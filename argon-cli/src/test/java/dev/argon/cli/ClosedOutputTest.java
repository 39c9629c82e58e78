package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code argon generate ... | head -c 20}: when the reader of standard output goes away the
 * command stops generating and ends quietly with exit code 0 (the normal report on standard
 * error, no error line); other write errors (a full disk) are still errors.
 */
class ClosedOutputTest {
    static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    /** Accepts {@code limit} bytes, then fails every write with {@code message}, as a closed pipe or a full disk. */
    static final class FailingAfter extends OutputStream {
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        final int limit;
        final String message;

        FailingAfter(int limit, String message) {
            this.limit = limit;
            this.message = message;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            int room = limit - received.size();
            received.write(b, off, Math.min(room, len));
            if (len > room) {
                throw new IOException(message);
            }
        }

        String text() {
            return received.toString(StandardCharsets.UTF_8);
        }
    }

    private static String[] generate() {
        return new String[]{"generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time", "-n", "200",
                "--temp", "0", "-t", "1"};
    }

    @Test
    void brokenPipeEndsQuietlyWithExitZero() {
        FailingAfter head = new FailingAfter(20, "Broken pipe");
        CliRun r = CliRun.withStdout(head, generate());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(head.text()).isEqualTo(", there was a little");
        List<String> lines = r.err().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("argon: stories260K.gguf (llama, 292800 parameters) loaded in ");
        assertThat(lines.get(1)).startsWith("argon: KV cache f16: 640 bytes per token");
        // ", there was a little" is five tokens; the sixth (" girl") finds the pipe closed
        assertThat(lines.get(2)).startsWith("argon: prompt 5 tokens ").contains("| generated 6 tokens ")
                .endsWith("| finish: cancelled");
    }

    @Test
    void chatOneShotToABrokenPipeEndsQuietlyToo() {
        FailingAfter head = new FailingAfter(3, "Broken pipe");
        CliRun r = CliRun.withStdout(head, "chat", "-m", TestFiles.model(STORIES).toString(), "-p", "hi", "-n", "50",
                "--temp", "0", "-t", "1");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(head.text()).hasSize(3);
        assertThat(r.err()).doesNotContain("error").contains("| finish: cancelled");
    }

    @Test
    void otherWriteErrorsStillFailWithOneLine() {
        FailingAfter full = new FailingAfter(20, "No space left on device");
        CliRun r = CliRun.withStdout(full, generate());
        assertThat(r.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(r.err().lines().filter(l -> l.startsWith("argon: error")).toList()).containsExactly(
                "argon: error: cannot write the generated text to standard output (full disk or another write error)");
    }

    /** A real process whose standard output is a pipe closed after 20 bytes, as {@code | head -c 20}. */
    @Test
    void realProcessPipedIntoAClosedPipe() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        // 2000 tokens take seconds, so the pipe is closed long before the process could finish
        cmd.addAll(List.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time", "-n", "2000",
                "-c", "2048", "--temp", "0", "-t", "1"));
        Process p = new ProcessBuilder(cmd).start();
        byte[] head;
        try (InputStream in = p.getInputStream()) {
            head = in.readNBytes(20);
        } // closed: the process's next write gets EPIPE
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(err).isZero();
        assertThat(new String(head, StandardCharsets.UTF_8)).isEqualTo(", there was a little");
        assertThat(err.lines().filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList())
                .hasSize(3).last().asString().endsWith("| finish: cancelled");
    }
}
