package dev.argon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.server.OpenAiServer;
import dev.argon.server.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code argon batch} on stories260K: rows answered exactly as the server answers the same bodies
 * and plain-text rows exactly as {@code generate} prints them (greedy); an interrupted run resumed
 * with every row once; bad rows recorded while the rest of the file runs.
 */
@Timeout(180)
class BatchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "tinyllamas/stories260K/stories260K.gguf";
    private static final List<String> PROMPTS = List.of("Once upon a time", "Tim wanted to",
            "The little dog ran to the park and saw a big red ball. He", "Lily");

    @TempDir
    Path dir;

    private static String completion(String id, String prompt, int maxTokens) {
        ObjectNode row = JSON.createObjectNode().put("custom_id", id).put("method", "POST").put("url", "/v1/completions");
        row.putObject("body").put("prompt", prompt).put("max_tokens", maxTokens).put("temperature", 0);
        return row.toString();
    }

    private static String chat(String id, String content, int maxTokens) {
        ObjectNode row = JSON.createObjectNode().put("custom_id", id).put("method", "POST").put("url", "/v1/chat/completions");
        ObjectNode body = row.putObject("body").put("max_tokens", maxTokens).put("temperature", 0);
        body.putArray("messages").addObject().put("role", "user").put("content", content);
        return row.toString();
    }

    private CliRun batch(Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("batch", "-m", TestFiles.model(MODEL).toString(), "-i", in.toString(),
                "-o", out.toString(), "--cache-type", "f32", "-t", "2", "-c", "256", "-np", "3"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    private static List<JsonNode> rows(Path out) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            rows.add(JSON.readTree(line));
        }
        return rows;
    }

    private static Map<String, JsonNode> byId(List<JsonNode> rows) {
        Map<String, JsonNode> m = new HashMap<>();
        for (JsonNode r : rows) {
            assertThat(m.put(r.get("custom_id").asText(), r)).as("custom_id %s twice", r.get("custom_id")).isNull();
        }
        return m;
    }

    /**
     * A response body without the fields that differ per answer (id, created) and per schedule
     * (prompt tokens reused from a slot's cache depend on which requests ran before).
     */
    private static JsonNode stable(JsonNode body) {
        ObjectNode copy = body.deepCopy();
        copy.remove("id");
        copy.remove("created");
        ((ObjectNode) copy.get("usage")).remove("prompt_tokens_details");
        return copy;
    }

    @Test
    void rowsEqualTheServersAnswersAndTextRowsEqualGenerate() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) {
            lines.add(completion("c" + i, PROMPTS.get(i), 20));
        }
        lines.add(chat("chat", "Tell me a story about a cat.", 12));
        ObjectNode lp = (ObjectNode) JSON.readTree(completion("lp", "Once upon a time", 6));
        ((ObjectNode) lp.get("body")).put("logprobs", 2);
        lines.add(lp.toString());
        Path in = dir.resolve("in.jsonl");
        Files.write(in, lines);
        Path out = dir.resolve("out.jsonl");
        CliRun r = batch(in, out);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("batch: 6 rows").contains("6 ok, 0 errors");
        Map<String, JsonNode> got = byId(rows(out));
        assertThat(got).hasSize(6);

        // the same bodies sent to the server over HTTP
        Path path = TestFiles.model(MODEL);
        try (LanguageModel model = Models.load(path, 2)) {
            ChatTemplate template;
            try (GgufFile f = GgufFile.open(path)) {
                template = ChatTemplate.fromGguf(f, model.tokenizer());
            }
            OpenAiServer server = new OpenAiServer(model, template,
                    new ServerConfig("127.0.0.1", 0, 2, 8, 256, KvCache.Precision.F32, null, "stories260K")).start();
            try {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                for (String line : lines) {
                    JsonNode req = JSON.readTree(line);
                    HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(server.url() + req.get("url").asText()))
                            .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(req.get("body").toString())).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
                    JsonNode row = got.get(req.get("custom_id").asText());
                    assertThat(row.path("response").path("status_code").asInt()).isEqualTo(200);
                    assertThat(row.get("id").asText()).startsWith("batch_req_");
                    assertThat(row.path("response").path("request_id").asText()).startsWith("req_");
                    assertThat(stable(row.path("response").path("body"))).isEqualTo(stable(JSON.readTree(res.body())));
                }
            } finally {
                server.stop(Duration.ofSeconds(5));
            }
        }
        // llama.cpp's greedy text for this prompt (GenerateCommandTest) starts with the 20 tokens
        String c0 = got.get("c0").at("/response/body/choices/0/text").asText();
        assertThat(c0).hasSizeGreaterThan(50);
        assertThat(", there was a little girl named Lily. She loved to play outside in the park.").startsWith(c0);

        // plain text, one prompt per line: generate's output for each
        Path text = dir.resolve("prompts.txt");
        Files.write(text, PROMPTS);
        Path textOut = dir.resolve("text-out.jsonl");
        CliRun t = batch(text, textOut, "-n", "20", "--temp", "0");
        assertThat(t.exitCode()).as(t.err()).isZero();
        Map<String, JsonNode> textRows = byId(rows(textOut));
        for (int i = 0; i < PROMPTS.size(); i++) {
            CliRun g = CliRun.of("generate", "-m", path.toString(), "-p", PROMPTS.get(i), "-n", "20", "--temp", "0",
                    "--cache-type", "f32", "-t", "2", "-c", "256");
            assertThat(g.exitCode()).as(g.err()).isZero();
            String generated = g.out().substring(0, g.out().length() - System.lineSeparator().length());
            assertThat(textRows.get("line-" + (i + 1)).at("/response/body/choices/0/text").asText()).isEqualTo(generated);
        }
    }

    /** {@code --spec ngram} (generate's flags) speculates on every row; greedy rows are the same as without it. */
    @Test
    void speculationFlagsKeepGreedyRowsTheSame() throws Exception {
        Path text = dir.resolve("spec-prompts.txt");
        Files.write(text, PROMPTS);
        Path plainOut = dir.resolve("spec-plain.jsonl");
        CliRun plain = batch(text, plainOut, "-n", "40", "--temp", "0");
        assertThat(plain.exitCode()).as(plain.err()).isZero();
        assertThat(plain.err()).doesNotContain("speculative");
        Path specOut = dir.resolve("spec-ngram.jsonl");
        CliRun spec = batch(text, specOut, "-n", "40", "--temp", "0", "--spec", "ngram", "--draft-max", "8");
        assertThat(spec.exitCode()).as(spec.err()).isZero();
        assertThat(spec.err()).containsPattern("argon: speculative \\(ngram\\): [1-9][0-9]* verify pass");
        Map<String, JsonNode> a = byId(rows(plainOut));
        Map<String, JsonNode> b = byId(rows(specOut));
        assertThat(b.keySet()).isEqualTo(a.keySet()).hasSize(PROMPTS.size());
        for (String id : a.keySet()) {
            assertThat(b.get(id).at("/response/body/choices/0/text").asText()).as(id)
                    .isEqualTo(a.get(id).at("/response/body/choices/0/text").asText());
        }
        CliRun ignored = batch(text, dir.resolve("spec-bad.jsonl"), "-n", "4", "--lookahead-window", "4");
        assertThat(ignored.exitCode()).isEqualTo(2);
        assertThat(ignored.err()).contains("--lookahead-window");
    }

    @Test
    void anInterruptedRunResumesWithEveryRowExactlyOnce() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            lines.add(completion("r" + i, PROMPTS.get(i % PROMPTS.size()) + " " + i, 12));
        }
        lines.add("{broken");
        Path in = dir.resolve("in.jsonl");
        Files.write(in, lines);
        Path full = dir.resolve("full.jsonl");
        CliRun first = batch(in, full);
        assertThat(first.exitCode()).as(first.err()).isZero();
        List<String> done = Files.readAllLines(full);
        assertThat(done).hasSize(8);

        // what a kill leaves: three whole rows and the start of a fourth, without its newline
        Path cut = dir.resolve("cut.jsonl");
        String partial = done.get(3).substring(0, done.get(3).length() / 2);
        Files.writeString(cut, done.get(0) + "\n" + done.get(1) + "\n" + done.get(2) + "\n" + partial, StandardCharsets.UTF_8);
        CliRun resumed = batch(in, cut);
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("resuming: 3 rows already in").contains("3 already done");
        List<String> after = Files.readAllLines(cut);
        assertThat(after).hasSize(8);
        assertThat(after.subList(0, 3)).isEqualTo(done.subList(0, 3)); // kept as they were
        Map<String, String> expected = texts(done);
        assertThat(texts(after)).isEqualTo(expected);

        // a third run finds everything done and adds nothing
        CliRun again = batch(in, cut);
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.err()).contains("8 already done");
        assertThat(Files.readAllLines(cut)).isEqualTo(after);
    }

    /** custom_id (or the input line of a row without one) → the completion text or error code, each row once. */
    private static Map<String, String> texts(List<String> lines) throws Exception {
        Map<String, String> m = new HashMap<>();
        for (String line : lines) {
            JsonNode r = JSON.readTree(line);
            String key = r.get("custom_id").isNull() ? "#" + r.at("/error/line").asInt() : r.get("custom_id").asText();
            String value = r.get("response").isNull() ? r.at("/error/code").asText() : r.at("/response/body/choices/0/text").asText();
            assertThat(m.put(key, value)).as("row %s twice", key).isNull();
        }
        return m;
    }

    @Test
    void badRowsAreRecordedWithTheirReasonAndTheRestRuns() throws Exception {
        Path in = dir.resolve("in.jsonl");
        Files.write(in, List.of(
                "{\"custom_id\": \"x\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": ",
                "{\"custom_id\": \"u\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": {\"input\": \"a\"}}",
                "{\"custom_id\": \"t\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": \"a\", \"top_p\": 3}}",
                "{\"custom_id\": \"g\", \"method\": \"GET\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": \"a\"}}",
                "{\"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {\"prompt\": \"a\"}}",
                "{\"custom_id\": \"s\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", \"body\": {\"messages\": [], \"max_tokens\": 4}}",
                completion("ok", "Once upon a time", 5),
                completion("ok", "again", 5),
                "[1, 2]",
                completion("long", "cat ".repeat(300), 5)));
        Path out = dir.resolve("out.jsonl");
        CliRun r = batch(in, out, "--progress");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("1 ok, 9 errors");
        assertThat(r.err()).contains("batch").contains("10/10").contains("rows").contains("tok/s"); // the progress bar
        List<JsonNode> rows = rows(out);
        assertThat(rows).hasSize(10);
        Map<String, JsonNode> byLine = new HashMap<>();
        Map<String, JsonNode> byCustomId = new HashMap<>();
        for (JsonNode row : rows) {
            if (row.get("custom_id").isNull()) {
                assertThat(row.get("response").isNull()).isTrue();
                byLine.put(row.at("/error/line").asText(), row.get("error"));
            } else {
                byCustomId.put(row.get("custom_id").asText(), row.get("response"));
            }
        }
        assertThat(byLine.get("1").get("code").asText()).isEqualTo("invalid_json_line");
        assertThat(byLine.get("1").get("message").asText()).contains("line 1 is not valid JSON");
        assertThat(byLine.get("5").get("code").asText()).isEqualTo("missing_custom_id");
        assertThat(byLine.get("8").get("code").asText()).isEqualTo("duplicate_custom_id");
        assertThat(byLine.get("8").get("message").asText()).contains("'ok' was already used on line 7");
        assertThat(byLine.get("9").get("code").asText()).isEqualTo("invalid_json_line");
        assertError(byCustomId.get("u"), "url", "'/v1/embeddings'");
        assertError(byCustomId.get("t"), "top_p", "'top_p' is 3");
        assertError(byCustomId.get("g"), "method", "'GET'; expected POST");
        assertError(byCustomId.get("s"), "messages", "'messages' is empty");
        assertError(byCustomId.get("long"), "prompt", "but the context holds 256 tokens");
        assertThat(byCustomId.get("long").at("/body/error/code").asText()).isEqualTo("context_length_exceeded");
        assertThat(byCustomId.get("long").at("/body/error/message").asText()).contains("use a larger -c").doesNotContain("server");
        assertThat(byCustomId.get("ok").get("status_code").asInt()).isEqualTo(200);
        assertThat(byCustomId.get("ok").at("/body/choices/0/text").asText()).isEqualTo(", there was a little");
    }

    private static void assertError(JsonNode response, String param, String message) {
        assertThat(response.get("status_code").asInt()).isEqualTo(400);
        assertThat(response.at("/body/error/param").asText()).isEqualTo(param);
        assertThat(response.at("/body/error/message").asText()).contains(message);
        assertThat(response.at("/body/error/type").asText()).isEqualTo("invalid_request_error");
    }

    @Test
    void mistakesInTheCommandAreOneLineWithExitCode2() throws Exception {
        Path out = dir.resolve("out.jsonl");
        CliRun missing = batch(dir.resolve("nope.jsonl"), out);
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("argon: error: --input").contains("nope.jsonl does not exist").doesNotContain("Exception");

        Path in = dir.resolve("in.txt");
        Files.writeString(in, "hello\n");
        Path other = dir.resolve("notes.jsonl");
        Files.writeString(other, "my notes\n");
        CliRun foreign = batch(in, other);
        assertThat(foreign.exitCode()).isEqualTo(2);
        assertThat(foreign.err()).contains("argon: error: --output").contains("line 1 is not an argon batch output row");
        assertThat(Files.readString(other)).isEqualTo("my notes\n"); // left alone

        CliRun np = CliRun.of("batch", "-m", TestFiles.model(MODEL).toString(), "-i", in.toString(), "-o", out.toString(), "-np", "0");
        assertThat(np.exitCode()).isEqualTo(2);
        assertThat(np.err()).contains("--parallel is 0");
        CliRun noModel = CliRun.of("batch", "-m", dir.resolve("missing.gguf").toString(), "-i", in.toString(), "-o", out.toString());
        assertThat(noModel.exitCode()).isEqualTo(2);
        assertThat(noModel.err()).contains("argon: error:").contains("missing.gguf");
        assertThat(out).doesNotExist(); // a run that wrote no row leaves no file behind
        CliRun temp = batch(in, out, "--temp", "-1");
        assertThat(temp.exitCode()).isEqualTo(2);
        assertThat(temp.err()).contains("--temp");
        CliRun bogus = batch(in, out, "--engine", "bogus");
        assertThat(bogus.exitCode()).isEqualTo(2);
        assertThat(bogus.err()).contains("argon: error: unknown --engine 'bogus'; expected local, spark");
        assertThat(out).doesNotExist();
        // argon-cli alone has no Spark: the engine is looked up at run time and its absence named
        CliRun spark = batch(in, out, "--engine", "spark", "--master", "local[2]");
        assertThat(spark.exitCode()).isEqualTo(2);
        assertThat(spark.err()).contains("argon: error: the spark engine needs argon-spark").contains("docs/batch.md")
                .doesNotContain("Exception");
        assertThat(out).doesNotExist();
    }
}
