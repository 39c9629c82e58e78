package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code argon bench --vs-llama-cpp} with a native {@code llama-bench} named by {@code LLAMA_BENCH}:
 * a stand-in script that answers in llama-bench's JSON format (a fixed 10 ms per test) and logs its
 * arguments shows what Argon runs and how it reads the answer.
 */
class NativeLlamaBenchTest {
    private static Path fakeLlamaBench(Path dir) throws Exception {
        Path log = dir.resolve("calls.log");
        Path script = dir.resolve("llama-bench");
        Files.writeString(script, "#!/bin/sh\necho \"$@\" >> '" + log + "'\n"
                + "echo '[{\"build_commit\": \"fake\", \"n_prompt\": 8, \"n_gen\": 0, \"avg_ns\": 10000000, \"stddev_ns\": 0,"
                + " \"avg_ts\": 800.0, \"samples_ns\": [10000000]}]'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private static String[] run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cl = Main.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        ((BenchCommand) cl.getSubcommands().get("bench").getCommand()).environment = env::get;
        int code = cl.execute(args);
        return new String[]{Integer.toString(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void llamaBenchRunsOncePerRepetitionAndItsAverageTimeIsTheSpeed(@TempDir Path dir) throws Exception {
        Path script = fakeLlamaBench(dir);
        String model = TestFiles.model(ChatCommandTest.STORIES).toString();
        String[] r = run(Map.of("LLAMA_BENCH", script.toString()), "bench", "-m", model, "-p", "8", "-n", "4", "-r", "2", "-t", "1",
                "--vs-llama-cpp", "-o", "csv");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[2]).contains("argon: comparing with native llama-bench " + script);
        // one warm-up run and two timed runs per test, each a single repetition in JSON
        List<String> calls = Files.readAllLines(dir.resolve("calls.log"));
        String abs = Path.of(model).toAbsolutePath().toString();
        assertThat(calls).containsExactly(
                "-m " + abs + " -t 1 -p 8 -n 0 -r 1 -o json", "-m " + abs + " -t 1 -p 8 -n 0 -r 1 -o json",
                "-m " + abs + " -t 1 -p 8 -n 0 -r 1 -o json",
                "-m " + abs + " -t 1 -p 0 -n 4 -r 1 -o json", "-m " + abs + " -t 1 -p 0 -n 4 -r 1 -o json",
                "-m " + abs + " -t 1 -p 0 -n 4 -r 1 -o json");
        // 10 ms per test: 8 tokens -> 800 t/s, 4 tokens -> 400 t/s
        List<String> lines = r[1].lines().toList();
        assertThat(lines.get(1)).contains(",pp8,").contains(",800.000,0.000,");
        assertThat(lines.get(2)).contains(",tg4,").contains(",400.000,0.000,");
    }

    @Test
    void aLlamaBenchThatIsNotThereIsOneClearLine(@TempDir Path dir) {
        String[] r = run(Map.of("LLAMA_BENCH", dir.resolve("nope").toString()), "bench", "-m",
                TestFiles.model(ChatCommandTest.STORIES).toString(), "-p", "8", "-n", "0", "-r", "1", "-t", "1", "--vs-llama-cpp");
        assertThat(r[0]).isEqualTo(Integer.toString(Main.USAGE_ERROR));
        assertThat(r[2]).contains("argon: error: LLAMA_BENCH: " + dir.resolve("nope") + " is not an executable llama-bench"
                + " (build one with ../shared/tools/build-llama-cpp.sh)");
    }

    @Test
    void outputWithoutATestIsAnError() {
        assertThat(NativeLlamaBench.seconds("[{\"avg_ns\": 2500000000}]", List.of("x"))).isEqualTo(2.5);
        for (String bad : new String[]{"[]", "{}", "[{\"avg_ns\": 0}]", "not json", "[{\"avg_ns\": 1}, {\"avg_ns\": 2}]"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> NativeLlamaBench.seconds(bad, List.of("llama-bench")))
                    .isInstanceOf(dev.argon.ArgonException.class).hasMessageContaining("llama-bench");
        }
    }
}
