package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ServeCommandTest {
    private static final String MODEL = "tinyllamas/stories260K/stories260K.gguf";

    @Test
    void servesOnLoopbackAndPrintsTheUrl() {
        String model = TestFiles.model(MODEL).toString();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new Main(Main.Streams.of(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8))));
        cl.setErr(new PrintWriter(err, true));
        List<String> bodies = new ArrayList<>();
        ServeCommand serve = (ServeCommand) cl.getSubcommands().get("serve").getCommand();
        List<Integer> whileLoading = new ArrayList<>();
        serve.onListening = server -> {
            // the port is bound before the model loads: /health says "loading" with 503
            try (HttpClient http = HttpClient.newHttpClient()) {
                HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                whileLoading.add(h.statusCode());
                bodies.add(h.body());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        serve.onStarted = server -> {
            try (HttpClient http = HttpClient.newHttpClient()) {
                bodies.add(http.send(HttpRequest.newBuilder(URI.create(server.url() + "/health")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
                bodies.add(http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/models")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        int code = cl.execute("serve", "-m", model, "--port", "0", "-c", "128", "-t", "1", "--parallel", "2");
        assertThat(code).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(err.toString(StandardCharsets.UTF_8)).containsPattern("serving stories260K at http://127\\.0\\.0\\.1:\\d+/v1");
        assertThat(err.toString(StandardCharsets.UTF_8)).containsPattern("listening at http://127\\.0\\.0\\.1:\\d+; loading stories260K\\.gguf");
        assertThat(whileLoading).containsExactly(503);
        assertThat(bodies.get(0)).contains("\"status\":\"loading\"");
        assertThat(bodies.get(1)).contains("\"status\":\"ok\"");
        assertThat(bodies.get(2)).contains("\"id\":\"stories260K\"");
    }

    /**
     * Runs {@code serve} with {@code args} (after the model and port) and the environment
     * {@code env}; while it serves, returns the status of {@code GET /v1/models} with each of
     * {@code keys} as the bearer token (null: none sent).
     */
    private static List<Integer> statusesWithKeys(java.util.Map<String, String> env, List<String> keys, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new Main(Main.Streams.of(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8))));
        ServeCommand serve = (ServeCommand) cl.getSubcommands().get("serve").getCommand();
        serve.environment = env::get;
        List<Integer> statuses = new ArrayList<>();
        serve.onStarted = server -> {
            try (HttpClient http = HttpClient.newHttpClient()) {
                for (String key : keys) {
                    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + "/v1/models"));
                    if (key != null) {
                        b.header("Authorization", "Bearer " + key);
                    }
                    statuses.add(http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode());
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        List<String> all = new ArrayList<>(List.of("serve", "-m", TestFiles.model(MODEL).toString(), "--port", "0", "-c", "64", "-t", "1"));
        all.addAll(List.of(args));
        int code = cl.execute(all.toArray(String[]::new));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        return statuses;
    }

    @Test
    void theApiKeyComesFromTheFlagTheFileOrTheEnvironment(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("key");
        java.nio.file.Files.writeString(file, "  file-key \nsecond line\n");
        java.util.Map<String, String> env = java.util.Map.of("ARGON_API_KEY", "env-key");
        List<String> keys = java.util.Arrays.asList(null, "flag-key", "file-key", "env-key");
        // the first line of the file, trimmed; it wins over the environment
        assertThat(statusesWithKeys(env, keys, "--api-key-file", file.toString())).containsExactly(401, 401, 200, 401);
        // the flag wins over the environment
        assertThat(statusesWithKeys(env, keys, "--api-key", "flag-key")).containsExactly(401, 200, 401, 401);
        // the environment alone
        assertThat(statusesWithKeys(env, keys)).containsExactly(401, 401, 401, 200);
        // none: open
        assertThat(statusesWithKeys(java.util.Map.of(), keys)).containsExactly(200, 200, 200, 200);
    }

    @Test
    void aBadApiKeyFileIsOneClearLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String model = TestFiles.model(MODEL).toString();
        java.nio.file.Path missing = dir.resolve("missing");
        java.nio.file.Path empty = java.nio.file.Files.writeString(dir.resolve("empty"), "\n  \nkey-on-line-3\n");
        for (String[] c : new String[][]{{missing.toString(), "no such file"}, {empty.toString(), "the first line is empty"},
                {dir.toString(), "not a regular file"}, {"/dev/zero", "not a regular file"}}) {
            CliRun r = CliRun.of("serve", "-m", model, "--port", "0", "-t", "1", "--api-key-file", c[0]);
            assertThat(r.exitCode()).as(r.err()).isEqualTo(Main.USAGE_ERROR);
            assertThat(r.err().lines().toList()).hasSize(2).last().isEqualTo("Try 'argon serve --help' for usage.");
            assertThat(r.err()).startsWith("argon: error: --api-key-file " + c[0] + ": " + c[1]).doesNotContain("Exception");
            assertThat(r.out()).isEmpty();
        }
        java.nio.file.Path big = java.nio.file.Files.write(dir.resolve("big"), new byte[ServeCommand.MAX_KEY_FILE_BYTES + 1]);
        CliRun r = CliRun.of("serve", "-m", model, "--port", "0", "-t", "1", "--api-key-file", big.toString());
        assertThat(r.err()).isEqualTo("argon: error: --api-key-file " + big + ": larger than 65536 bytes; expected a file holding"
                + " the API key on its first line" + System.lineSeparator() + "Try 'argon serve --help' for usage." + System.lineSeparator());
        CliRun both = CliRun.of("serve", "-m", model, "--port", "0", "--api-key", "k", "--api-key-file", big.toString());
        assertThat(both.err()).isEqualTo("argon: error: give the API key either with --api-key or with --api-key-file, not both"
                + System.lineSeparator() + "Try 'argon serve --help' for usage." + System.lineSeparator());
    }

    @Test
    void kvCachesThatCannotFitTheHeapNameParallelAndContext() {
        CliRun r = CliRun.of("serve", "-m", TestFiles.model(MODEL).toString(), "--port", "0", "-t", "1", "--parallel", "100000",
                "-c", "2048");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(Main.USAGE_ERROR);
        assertThat(r.err()).contains("argon: error: 100000 sequences (--parallel) of 2048 tokens need ")
                .contains("use a smaller -c or --parallel or a larger heap").doesNotContain("Exception");
    }

    /** Runs the CLI capturing System.err too (where Javalin/Jetty would log). */
    private static CliRun withSystemErr(StringBuilder systemErr, String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            return CliRun.of(args);
        } finally {
            System.setErr(saved);
            systemErr.append(captured.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aTakenPortIsOneClearLineAndExitCode1() throws Exception {
        String model = TestFiles.model(MODEL).toString();
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();
            StringBuilder logged = new StringBuilder();
            CliRun r = withSystemErr(logged, "serve", "-m", model, "--port", Integer.toString(port), "-t", "1");
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err().lines().toList()).containsExactly("argon: error: port " + port + " on 127.0.0.1 is already in use");
            assertThat(r.out()).isEmpty();
            assertThat(logged.toString()).doesNotContain("ERROR").doesNotContain("Javalin").doesNotContain("Exception");
        }
    }

    @Test
    void anUnresolvableHostIsOneClearLine() {
        String model = TestFiles.model(MODEL).toString();
        StringBuilder logged = new StringBuilder();
        CliRun r = withSystemErr(logged, "serve", "-m", model, "--host", "999.1.1.1", "--port", "0", "-t", "1");
        assertThat(r.exitCode()).isEqualTo(Main.USAGE_ERROR); // the user's mistake, not the machine's
        assertThat(r.err().lines().toList()).containsExactly(
                "argon: error: --host '999.1.1.1': it is not an IP address or a known host name", "Try 'argon serve --help' for usage.");
        assertThat(logged.toString()).doesNotContain("ERROR").doesNotContain("Exception");
    }

    @Test
    void badFlagsAreUsageErrors() {
        String model = TestFiles.model(MODEL).toString();
        CliRun r = CliRun.of("serve", "-m", model, "--parallel", "0");
        assertThat(r.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(r.err()).contains("--parallel");
        CliRun p = CliRun.of("serve", "-m", model, "--port", "70000");
        assertThat(p.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(p.err()).contains("--port");
        CliRun b = CliRun.of("serve", "-m", model, "--kv-block-size", "-1");
        assertThat(b.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(b.err()).contains("argon: error: --kv-block-size is -1; expected 1 to 4096 tokens");
        // the scheduler does not speculate on a backtracking sequence: refused rather than silently ignored
        CliRun s = CliRun.of("serve", "-m", model, "--port", "0", "-t", "1", "--ban-string", "dog", "--spec", "ngram");
        assertThat(s.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(s.err()).contains("argon: error: --ban-string cannot be combined with speculative decoding (--spec, -md)");
    }
}
