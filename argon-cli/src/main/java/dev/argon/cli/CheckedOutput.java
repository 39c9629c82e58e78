package dev.argon.cli;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Standard output as the commands write to it: a {@link PrintStream} (which turns write errors
 * into {@link #checkError()}) that also remembers the first error, so a command can tell a reader
 * that went away ({@code argon generate | head}: a broken pipe, which ends the command quietly,
 * exit code 0, as other Unix tools do) from a failure such as a full disk (an error).
 */
final class CheckedOutput extends PrintStream {
    private final Recorder recorder;

    /** @param target the stream written to (standard output, or a test's stream) */
    CheckedOutput(OutputStream target) {
        this(new Recorder(target));
    }

    private CheckedOutput(Recorder recorder) {
        super(recorder, true, StandardCharsets.UTF_8);
        this.recorder = recorder;
    }

    /**
     * @return whether writing to {@code out} failed because its reader closed it (a broken pipe);
     *     false if nothing failed, the failure was another one, or {@code out} is not a {@code CheckedOutput}
     */
    static boolean readerClosed(PrintStream out) {
        if (!out.checkError() || !(out instanceof CheckedOutput c) || c.recorder.failure == null) {
            return false;
        }
        // EPIPE reads "Broken pipe" (Linux, macOS); Windows says "The pipe is being closed" / "has been ended"
        String message = c.recorder.failure.getMessage();
        return message != null && message.toLowerCase(Locale.ROOT).contains("pipe");
    }

    private static final class Recorder extends FilterOutputStream {
        private volatile IOException failure;

        Recorder(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            try {
                out.write(b);
            } catch (IOException e) {
                throw record(e);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                throw record(e);
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                throw record(e);
            }
        }

        private IOException record(IOException e) {
            if (failure == null) {
                failure = e;
            }
            return e;
        }
    }
}
