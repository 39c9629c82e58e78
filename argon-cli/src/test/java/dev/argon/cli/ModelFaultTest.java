package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/** A model file truncated while {@code argon generate} reads it: one error line, not a JVM stack trace. */
class ModelFaultTest {
    @Test
    void aModelTruncatedDuringGenerationIsOneErrorLine(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("m.gguf");
        Files.copy(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), model);
        // the first generated text truncates the file: the next forward pass reads unmapped pages
        OutputStream truncating = new OutputStream() {
            boolean done;

            @Override
            public void write(int b) {
                if (!done) {
                    done = true;
                    try (FileChannel ch = FileChannel.open(model, StandardOpenOption.WRITE)) {
                        ch.truncate(4096);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
        };
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[]{"generate", "-m", model.toString(), "-p", "Once upon a time", "-n", "64", "--temp", "0",
                "-t", "1"}, new PrintStream(truncating, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String log = err.toString(StandardCharsets.UTF_8);
        assertThat(code).as(log).isEqualTo(Main.USAGE_ERROR);
        assertThat(log).contains("argon: error: reading the model file failed (a fault in its memory mapping): it was truncated,"
                + " replaced or removed while in use").doesNotContain("\tat ").doesNotContain("InternalError");
    }
}
