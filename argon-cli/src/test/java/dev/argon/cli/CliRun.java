package dev.argon.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the CLI in-process and captures its exit code, standard output and standard error. */
record CliRun(int exitCode, String out, String err) {
    static CliRun of(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * Runs with standard output set up as {@link Main#main} does ({@link CheckedOutput}) over
     * {@code stdout}; {@link #out()} is empty (the caller holds what {@code stdout} received).
     */
    static CliRun withStdout(OutputStream stdout, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new CheckedOutput(stdout), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new CliRun(code, "", err.toString(StandardCharsets.UTF_8));
    }
}
