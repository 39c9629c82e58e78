package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** generate's steering flags (--cfg-scale, --reward-model, --ban-string) and serve's --reward-model. */
class SteeringCommandTest {
    static final String STORIES = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();

    @Test
    void guidanceChangesTheGreedyTextAndScaleOneDoesNot() {
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "30", "--temp", "0");
        CliRun one = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "30", "--temp", "0", "--cfg-scale", "1");
        CliRun guided = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "30", "--temp", "0",
                "--cfg-scale", "3", "--cfg-negative-prompt", "Lily");
        assertThat(guided.exitCode()).as(guided.err()).isZero();
        assertThat(one.out()).isEqualTo(plain.out());
        assertThat(guided.out()).isNotEqualTo(plain.out());
    }

    @Test
    void badGuidanceIsAUsageError() {
        CliRun r = CliRun.of("generate", "-m", STORIES, "-n", "5", "--cfg-scale", "-2");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("argon: error:").contains("--cfg-scale");
        r = CliRun.of("generate", "-m", STORIES, "-n", "5", "--cfg-negative-prompt", "x");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("needs --cfg-scale");
    }

    @Test
    void rewardModelsSteerAndMismatchedOnesAreRefused() {
        String q8 = TestFiles.model("tinyllamas/stories260K/stories260K-q8_0.ggufv2.gguf").toString();
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "1", "--seed", "4");
        CliRun zero = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "1", "--seed", "4",
                "--reward-model", q8, "--reward-weight", "0");
        CliRun steered = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "1", "--seed", "4",
                "--reward-model", q8, "--reward-beta", "0.2");
        assertThat(steered.exitCode()).as(steered.err()).isZero();
        // one notice line for the reward model, after the base model's load line
        java.util.List<String> rewardLines = steered.err().lines().filter(l -> l.startsWith("argon: reward model ")).toList();
        assertThat(rewardLines).hasSize(1);
        assertThat(rewardLines.getFirst()).matches("argon: reward model stories260K-q8_0\\.ggufv2\\.gguf \\(llama, 292800 parameters,"
                + " 0\\.\\d\\d MiB\\) loaded in \\d+\\.\\d\\d s; steers with GenARM at weight 1\\.0, beta 0\\.2");
        assertThat(steered.err().indexOf("argon: reward model ")).isGreaterThan(steered.err().indexOf("argon: stories260K.gguf (llama"));
        assertThat(plain.err()).doesNotContain("reward model");
        assertThat(zero.err()).contains("steers with GenARM at weight 0.0, beta 1.0");
        assertThat(zero.out()).isEqualTo(plain.out());
        assertThat(steered.out()).isNotEqualTo(plain.out());
        CliRun tiny = CliRun.of("generate", "-m", STORIES, "-n", "5", "--reward-model",
                TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf").toString());
        assertThat(tiny.exitCode()).isEqualTo(2);
        assertThat(tiny.err()).contains("TinyLLama-v0.Q4_0.gguf").contains("same vocabulary");
        CliRun weights = CliRun.of("generate", "-m", STORIES, "-n", "5", "--reward-model", q8, "--reward-weight", "1", "--reward-weight", "2");
        assertThat(weights.exitCode()).isEqualTo(2);
        assertThat(weights.err()).contains("one weight per reward model");
    }

    @Test
    void aServerWithRewardModelsAnswersTheCliText() throws Exception {
        String q8 = TestFiles.model("tinyllamas/stories260K/stories260K-q8_0.ggufv2.gguf").toString();
        // the Q8_0 copy agrees with the base on the greedy token, so a positive weight keeps the greedy text;
        // a negative weight (away from the reward model, 1 - 1/0.5 < 0) changes it
        String[] flags = {"--reward-model", q8, "--reward-weight", "-1", "--reward-beta", "0.5"};
        CliRun cli = CliRun.of(concat(new String[]{"generate", "-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "0"}, flags));
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "0");
        assertThat(cli.exitCode()).as(cli.err()).isZero();
        assertThat(cli.out()).isNotEqualTo(plain.out());
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        var utf8 = java.nio.charset.StandardCharsets.UTF_8;
        picocli.CommandLine cl = new picocli.CommandLine(new Main(Main.Streams.of(
                new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true, utf8), new java.io.PrintStream(err, true, utf8))));
        ServeCommand serve = (ServeCommand) cl.getSubcommands().get("serve").getCommand();
        java.util.List<java.net.http.HttpResponse<String>> answers = new java.util.ArrayList<>();
        serve.onStarted = server -> {
            try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
                for (String extra : new String[]{"", ",\"guidance_scale\":2"}) {
                    answers.add(http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url() + "/v1/completions"))
                            .header("Content-Type", "application/json")
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"temperature\":0" + extra + "}"))
                            .build(), java.net.http.HttpResponse.BodyHandlers.ofString()));
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        int code = cl.execute(concat(new String[]{"serve", "-m", STORIES, "--port", "0", "-c", "256", "-t", "1", "--parallel", "2"}, flags));
        assertThat(code).as(err.toString(utf8)).isZero();
        assertThat(err.toString(utf8)).contains("steered by 1 reward model (GenARM, beta 0.5)")
                .contains("argon: reward model stories260K-q8_0.ggufv2.gguf (llama, 292800 parameters, ")
                .contains("steers with GenARM at weight -1.0, beta 0.5");
        assertThat(answers.getFirst().statusCode()).as(answers.getFirst().body()).isEqualTo(200);
        String text = new com.fasterxml.jackson.databind.ObjectMapper().readTree(answers.getFirst().body())
                .at("/choices/0/text").textValue();
        assertThat(text + "\n").isEqualTo(cli.out());
        // classifier-free guidance and reward models do not combine: a 400 naming the field
        assertThat(answers.get(1).statusCode()).isEqualTo(400);
        assertThat(answers.get(1).body()).contains("guidance_scale").contains("--reward-model");
        CliRun beta = CliRun.of("serve", "-m", STORIES, "--port", "0", "--reward-beta", "0.5");
        assertThat(beta.exitCode()).isEqualTo(2);
        assertThat(beta.err()).contains("--reward-beta needs --reward-model");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void banStringKeepsTheTextOut() {
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "30", "--temp", "0");
        CliRun banned = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "30", "--temp", "0", "--ban-string", "Lily");
        assertThat(plain.out()).contains("Lily");
        assertThat(banned.exitCode()).as(banned.err()).isZero();
        assertThat(banned.out()).doesNotContain("Lily").startsWith(", there was a little girl named ");
        CliRun both = CliRun.of("generate", "-m", STORIES, "-n", "5", "--ban-string", "x", "--cfg-scale", "2");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("--ban-string");
    }

    @Test
    void backspaceTokenFlag() {
        // greedy stories260K never samples token 100, so a backspace token there changes nothing
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "12", "--temp", "0");
        CliRun bs = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "12", "--temp", "0", "--backspace-token", "100");
        assertThat(bs.exitCode()).as(bs.err()).isZero();
        assertThat(bs.out()).isEqualTo(plain.out());
        CliRun bad = CliRun.of("generate", "-m", STORIES, "-n", "5", "--backspace-token", "999999");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("--backspace-token").contains("999999").doesNotContain("Exception");
    }
}
