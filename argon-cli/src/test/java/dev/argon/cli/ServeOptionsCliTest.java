package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The flags of issue 21 through the CLI: {@code serve --alias}, {@code --cors-origin},
 * {@code --chat-template} / {@code --chat-template-file}, the sampling defaults, the access log,
 * and {@code generate -f -}.
 */
class ServeOptionsCliTest {
    private static final String MODEL = "tinyllamas/stories260K/stories260K.gguf";

    /** Runs serve with {@code args}; while it serves, {@code probe} gets the base URL; returns its results and the exit code's run. */
    private static List<String> serve(Function<String, List<String>> probe, StringBuilder err, String... args) {
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new Main(Main.Streams.of(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(errBytes, true, StandardCharsets.UTF_8))));
        ServeCommand serve = (ServeCommand) cl.getSubcommands().get("serve").getCommand();
        List<String> results = new ArrayList<>();
        serve.onStarted = server -> results.addAll(probe.apply(server.url()));
        List<String> all = new ArrayList<>(List.of("serve", "-m", TestFiles.model(MODEL).toString(), "--port", "0", "-c", "128", "-t", "1"));
        all.addAll(List.of(args));
        int code = cl.execute(all.toArray(String[]::new));
        err.append(errBytes.toString(StandardCharsets.UTF_8));
        assertThat(code).as(err.toString()).isZero();
        return results;
    }

    private static String post(String url, String body) {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static HttpResponse<String> send(HttpRequest r) {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aliasCorsTemplateAndDefaultsReachTheServer() {
        StringBuilder err = new StringBuilder();
        List<String> out = serve(url -> {
            List<String> r = new ArrayList<>();
            r.add(send(HttpRequest.newBuilder(URI.create(url + "/v1/models")).build()).body());
            r.add(post(url + "/v1/chat/completions", "{\"model\":\"gpt-3.5-turbo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3}"));
            HttpResponse<String> pre = send(HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions"))
                    .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "http://localhost:5173")
                    .header("Access-Control-Request-Method", "POST").build());
            r.add(pre.statusCode() + " " + pre.headers().firstValue("Access-Control-Allow-Origin").orElse("none"));
            r.add(post(url + "/apply-template", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
            r.add(send(HttpRequest.newBuilder(URI.create(url + "/props")).build()).body());
            return r;
        }, err, "--alias", "gpt-3.5-turbo", "-a", "my-model", "--cors-origin", "http://localhost:5173", "--chat-template", "chatml",
                "--temp", "0", "--top-k", "1");
        assertThat(out.get(0)).contains("\"id\":\"gpt-3.5-turbo\"", "\"id\":\"my-model\"", "\"id\":\"stories260K\"");
        assertThat(out.get(1)).contains("\"model\":\"gpt-3.5-turbo\"", "\"finish_reason\"");
        assertThat(out.get(2)).isEqualTo("204 http://localhost:5173");
        assertThat(out.get(3)).isEqualTo("{\"prompt\":\"<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n\"}");
        assertThat(out.get(4)).contains("\"temperature\":0.0", "\"top_k\":1", "\"model_alias\":\"gpt-3.5-turbo\"", "<|im_start|>");
        assertThat(err.toString()).containsPattern("argon: POST /v1/chat/completions 200 \\d+ tokens \\d+ ms")
                .contains("serving gpt-3.5-turbo at");
    }

    @Test
    void aTemplateFileReplacesTheModelsTemplate(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("t.jinja"),
                "{% for m in messages %}<<{{ m['role'] }}>>{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}<<assistant>>{% endif %}");
        StringBuilder err = new StringBuilder();
        List<String> out = serve(url -> List.of(post(url + "/apply-template", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")),
                err, "--chat-template-file", file.toString(), "--no-access-log");
        assertThat(out).containsExactly("{\"prompt\":\"<<user>>Hi<<assistant>>\"}");
        assertThat(err.toString()).doesNotContain("argon: POST");
    }

    @Test
    void embeddingsAndRerankWorkThroughServeWithItsContext() {
        StringBuilder err = new StringBuilder();
        List<String> out = serve(url -> List.of(post(url + "/v1/embeddings", "{\"input\":\"hello\"}"),
                post(url + "/v1/rerank", "{\"query\":\"ball\",\"documents\":[\"a red ball\",\"a cat\"]}"),
                post(url + "/api/embed", "{\"input\":[\"hello\"]}")), err, "--no-access-log");
        assertThat(out.get(0)).as(err.toString()).contains("\"object\":\"embedding\"");
        assertThat(out.get(1)).contains("\"relevance_score\"");
        assertThat(out.get(2)).contains("\"embeddings\":[[");
    }

    @Test
    void badOptionsAreOneClearLine(@TempDir Path dir) throws Exception {
        String model = TestFiles.model(MODEL).toString();
        String[][] cases = {
                {"--chat-template", "vicuna-ish", "--chat-template 'vicuna-ish' is neither a known template name (chatml, llama2"},
                {"--chat-template-file", dir.resolve("none.jinja").toString(), "chat template file not found"},
                {"--chat-template", "{{ x | nosuchfilter }}", "--chat-template: chat template line 1: the filter 'nosuchfilter' is not supported"},
                {"--temp", "-1", "--temp"},
                {"--top-p", "2", "--top-p"},
                {"--cors-origin", "localhost:3000", "--cors-origin 'localhost:3000' is not an origin"},
                {"--alias", " ", "--alias is empty"},
                {"--chat-template", "{% if %}", "--chat-template: "},
                {"--kv-window", "100", "--kv-window 100 needs --kv-sink S (StreamingLLM: --kv-sink 0 keeps no sinks), --kv-heavy H"},
                {"--kv-sink=0", "--kv-window=100", "--kv-sink 0 + --kv-window 100 = 100 tokens do not fit in the context of 64 (-c)"},
        };
        for (String[] c : cases) {
            CliRun r = CliRun.of("serve", "-m", model, "--port", "0", "-t", "1", "-c", "64", c[0], c[1]);
            assertThat(r.exitCode()).as(String.join(" ", c) + ": " + r.err()).isEqualTo(Main.USAGE_ERROR);
            assertThat(r.err()).contains("argon: error: ").contains(c[2]).doesNotContain("Exception");
        }
    }

    @Test
    void generateReadsThePromptFromStandardInputWithDashF() {
        String model = TestFiles.model(MODEL).toString();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new Main(Main.Streams.of(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))));
        GenerateCommand gen = (GenerateCommand) cl.getSubcommands().get("generate").getCommand();
        gen.stdin = new ByteArrayInputStream("Once upon a time".getBytes(StandardCharsets.UTF_8));
        int code = cl.execute("generate", "-m", model, "-f", "-", "-n", "12", "--temp", "0", "-t", "1", "--echo");
        assertThat(code).isZero();
        CliRun direct = CliRun.of("generate", "-m", model, "-p", "Once upon a time", "-n", "12", "--temp", "0", "-t", "1", "--echo");
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("Once upon a time").isEqualTo(direct.out());
        assertThat(direct.out().length()).isGreaterThan("Once upon a time".length() + 5);

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cl2 = Main.commandLine(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        ((GenerateCommand) cl2.getSubcommands().get("generate").getCommand()).stdin = new ByteArrayInputStream(new byte[]{(byte) 0xff, 'a'});
        assertThat(cl2.execute("generate", "-m", model, "-f", "-", "-n", "2")).isEqualTo(Main.USAGE_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("argon: error: prompt from standard input (-f -) is not valid UTF-8"
                + System.lineSeparator() + "Try 'argon generate --help' for usage." + System.lineSeparator());
    }
}
