package dev.argon.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.TestFiles;
import dev.argon.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code argon batch --engine spark --master local[2]} against {@code --engine local} on the same
 * input files (stories260K, in this JVM): every output row has the same status and the same
 * response body (greedy and seeded sampling, completions and chat, {@code n} 2, refused rows); the
 * Spark runs load the model once in this (executor) JVM for both files; on TinyLLama-v0 both
 * engines' greedy rows equal {@code argon generate}'s text.
 */
@Timeout(240)
class BatchEngineSparkTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "tinyllamas/stories260K/stories260K.gguf";

    @TempDir
    Path dir;

    private record Run(int exit, String err) {
    }

    private Run batch(Path in, Path out, String... engine) {
        List<String> args = new ArrayList<>(List.of("batch", "-m", TestFiles.model(MODEL).toString(), "-i", in.toString(),
                "-o", out.toString(), "-t", "2", "-c", "128", "-np", "4", "-n", "24", "--temp", "0", "--no-progress"));
        args.addAll(List.of(engine));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, err.toString(StandardCharsets.UTF_8));
    }

    private static ObjectNode request(String id, String url, int maxTokens) {
        ObjectNode row = JSON.createObjectNode().put("custom_id", id).put("method", "POST").put("url", url);
        row.putObject("body").put("max_tokens", maxTokens).put("temperature", 0);
        return row;
    }

    /** Output rows by custom_id (null ids by line), each body without its per-answer id and time. */
    private static Map<String, JsonNode> rows(Path out) throws Exception {
        Map<String, JsonNode> m = new HashMap<>();
        for (String line : Files.readAllLines(out)) {
            ObjectNode r = (ObjectNode) JSON.readTree(line);
            String key = r.get("custom_id").isNull() ? "line " + r.at("/error/line").asInt() : r.get("custom_id").asText();
            r.remove("id");
            if (r.get("response").isObject()) {
                ObjectNode response = (ObjectNode) r.get("response");
                response.remove("request_id");
                ObjectNode body = (ObjectNode) response.get("body");
                body.remove("id");
                body.remove("created");
                if (body.get("usage") != null) {
                    ((ObjectNode) body.get("usage")).remove("prompt_tokens_details"); // cache reuse depends on the schedule
                }
            }
            assertThat(m.put(key, r)).as("row %s twice", key).isNull();
        }
        return m;
    }

    @Test
    void sparkLocal2GivesTheLocalEnginesRowsWithOneModelLoad() throws Exception {
        String[] prompts = {"Once upon a time", "Tim wanted to", "The little dog ran to the park and saw a big red ball. He",
                "Lily", "One day, a big red ball", "The sun was", "Sam and Mia went to the park", "She liked"};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            ObjectNode r = request("c" + i, "/v1/completions", 16 + i);
            ((ObjectNode) r.get("body")).put("prompt", prompts[i]);
            lines.add(r.toString());
        }
        ObjectNode chat = request("chat", "/v1/chat/completions", 12);
        ((ObjectNode) chat.get("body")).putArray("messages").addObject().put("role", "user").put("content", "Tell me a story.");
        lines.add(chat.toString());
        ObjectNode sampled = request("sampled", "/v1/completions", 20); // seeded sampling, two choices (seeds 7 and 8)
        ((ObjectNode) sampled.get("body")).put("prompt", "The cat").put("temperature", 0.9).put("seed", 7).put("n", 2)
                .putArray("stop").add(".");
        lines.add(sampled.toString());
        ObjectNode badUrl = request("bad-url", "/v1/embeddings", 4);
        lines.add(badUrl.toString());
        ObjectNode badTopP = request("bad-top-p", "/v1/completions", 4);
        ((ObjectNode) badTopP.get("body")).put("prompt", "Hi").put("top_p", 3);
        lines.add(badTopP.toString());
        lines.add("{not json");
        Path in = dir.resolve("in.jsonl");
        Files.write(in, lines);
        Path text = dir.resolve("in.txt");
        Files.write(text, List.of(prompts));

        Path localJson = dir.resolve("local.jsonl");
        Path localText = dir.resolve("local-text.jsonl");
        Run l1 = batch(in, localJson);
        Run l2 = batch(text, localText);
        assertThat(l1.exit()).as(l1.err()).isZero();
        assertThat(l2.exit()).as(l2.err()).isZero();

        int loadsBefore = ExecutorEngine.loads();
        Path sparkJson = dir.resolve("spark.jsonl");
        Path sparkText = dir.resolve("spark-text.jsonl");
        Run s1 = batch(in, sparkJson, "--engine", "spark", "--master", "local[2]", "--job-rows", "4"); // 3 Spark jobs, 2 at once
        Run s2 = batch(text, sparkText, "--engine", "spark", "--master", "local[2]");
        assertThat(s1.exit()).as(s1.err()).isZero();
        assertThat(s2.exit()).as(s2.err()).isZero();
        assertThat(ExecutorEngine.loads() - loadsBefore).as("models loaded by the executor JVM for two Spark jobs").isEqualTo(1);
        assertThat(s1.err()).contains("batch: 13 rows").contains("10 ok, 3 errors")
                // refused rows never reach Spark; the chat row and the n = 2 row (two generations) make the last job
                .contains("engine job 1: 4 rows, 4 generations in").contains("engine job 2: 4 rows, 4 generations in")
                .contains("engine job 3: 2 rows, 3 generations in");

        Map<String, JsonNode> local = rows(localJson);
        Map<String, JsonNode> spark = rows(sparkJson);
        assertThat(local).hasSize(13);
        assertThat(spark).isEqualTo(local);
        assertThat(spark.get("c2").at("/response/body/choices/0/text").asText()).isNotEmpty();
        assertThat(spark.get("sampled").at("/response/body/choices").size()).isEqualTo(2);
        assertThat(spark.get("bad-url").at("/response/status_code").asInt()).isEqualTo(400);

        Map<String, JsonNode> localT = rows(localText);
        assertThat(localT).hasSize(prompts.length);
        assertThat(rows(sparkText)).isEqualTo(localT);

        // what a kill leaves (5 whole rows of the local run and half of a 6th) is finished by the spark engine:
        // each row once, the same rows
        List<String> done = Files.readAllLines(localJson);
        Path cut = dir.resolve("cut.jsonl");
        Files.writeString(cut, String.join("\n", done.subList(0, 5)) + "\n" + done.get(5).substring(0, done.get(5).length() / 2));
        Run resumed = batch(in, cut, "--engine", "spark", "--master", "local[2]", "--job-rows", "3");
        assertThat(resumed.exit()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("resuming: 5 rows already in").contains("5 already done");
        assertThat(rows(cut)).isEqualTo(local);
        assertThat(ExecutorEngine.loads() - loadsBefore).isEqualTo(1);
    }

    /** Runs {@code argon ARGS} in this JVM: exit code and standard output. */
    private static Run cli(ByteArrayOutputStream out, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void greedyTinyLlamaRowsEqualGenerateWithBothEngines() throws Exception {
        String model = TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf").toString();
        List<String> prompts = List.of("Once upon a time", "The little dog ran to the park and saw", "Lily and Tom");
        Path in = dir.resolve("tiny.txt");
        Files.write(in, prompts);
        String[] common = {"batch", "-m", model, "-i", in.toString(), "-t", "2", "-c", "128", "-np", "4", "-n", "24", "--temp", "0",
                "--no-progress"};
        Path local = dir.resolve("tiny-local.jsonl");
        Path spark = dir.resolve("tiny-spark.jsonl");
        List<String> l = new ArrayList<>(List.of(common));
        l.addAll(List.of("-o", local.toString()));
        Run lr = cli(new ByteArrayOutputStream(), l.toArray(String[]::new));
        assertThat(lr.exit()).as(lr.err()).isZero();
        List<String> s = new ArrayList<>(List.of(common));
        s.addAll(List.of("-o", spark.toString(), "--engine", "spark", "--master", "local[2]"));
        Run sr = cli(new ByteArrayOutputStream(), s.toArray(String[]::new));
        assertThat(sr.exit()).as(sr.err()).isZero();
        Map<String, JsonNode> localRows = rows(local);
        assertThat(rows(spark)).isEqualTo(localRows);
        for (int i = 0; i < prompts.size(); i++) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Run g = cli(out, "generate", "-m", model, "-p", prompts.get(i), "-n", "24", "--temp", "0", "-t", "2", "-c", "128");
            assertThat(g.exit()).as(g.err()).isZero();
            String printed = out.toString(StandardCharsets.UTF_8);
            String generated = printed.substring(0, printed.length() - System.lineSeparator().length()); // generate ends with a newline
            assertThat(generated).hasSizeGreaterThan(20);
            assertThat(localRows.get("line-" + (i + 1)).at("/response/body/choices/0/text").asText()).isEqualTo(generated);
        }
    }

    @Test
    void requestsTheExecutorsCannotCarryAreRowErrorsAndBadFlagsExit2() throws Exception {
        ObjectNode lp = request("lp", "/v1/completions", 4);
        ((ObjectNode) lp.get("body")).put("prompt", "Once").put("logprobs", 2);
        ObjectNode ok = request("ok", "/v1/completions", 4);
        ((ObjectNode) ok.get("body")).put("prompt", "Once");
        Path in = dir.resolve("in.jsonl");
        Files.write(in, List.of(lp.toString(), ok.toString()));
        Path out = dir.resolve("out.jsonl");
        Run r = batch(in, out, "--engine", "spark", "--master", "local[2]");
        assertThat(r.exit()).as(r.err()).isZero();
        Map<String, JsonNode> rows = rows(out);
        assertThat(rows.get("ok").at("/response/status_code").asInt()).isEqualTo(200);
        assertThat(rows.get("lp").at("/response/status_code").asInt()).isEqualTo(400);
        assertThat(rows.get("lp").at("/response/body/error/code").asText()).isEqualTo("unsupported_by_engine");
        assertThat(rows.get("lp").at("/response/body/error/message").asText())
                .contains("logprobs").contains("--engine spark").contains("--engine local");

        Run master = batch(in, dir.resolve("x.jsonl"), "--master", "local[2]");
        assertThat(master.exit()).isEqualTo(2);
        assertThat(master.err()).contains("argon: error: --master local[2] is for --engine spark");
        Run jobRows = batch(in, dir.resolve("x.jsonl"), "--job-rows", "8");
        assertThat(jobRows.exit()).isEqualTo(2);
        assertThat(jobRows.err()).contains("argon: error: --job-rows 8 is for --engine spark");
        Run zeroRows = batch(in, dir.resolve("x.jsonl"), "--engine", "spark", "--job-rows", "0");
        assertThat(zeroRows.exit()).isEqualTo(2);
        assertThat(zeroRows.err()).contains("argon: error: --job-rows is 0; expected at least 1");
        Run unknown = batch(in, dir.resolve("y.jsonl"), "--engine", "ray");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown --engine 'ray'").contains("engines found: spark");
    }
}
