package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The speculative decoding flags of generate and chat: the same text, a report line, clear errors. */
class SpeculationCommandTest {
    static final String STORIES = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();
    static final String Q8 = TestFiles.model("tinyllamas/stories260K/stories260K-q8_0.ggufv2.gguf").toString();
    static final String TINY = TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf").toString();
    static final String PROMPT = "Sue and Ben were friends. They liked to draw pictures together. Sue drew a cat and Ben drew a dog."
            + " Once upon a time, Sue and Ben";
    private static final Pattern REPORT = Pattern.compile(
            "argon: speculative \\((\\w+)\\): (\\d+) verify pass(?:es)?, (\\d+) draft tokens, (\\d+) accepted \\(([\\d.]+) %\\)");

    @Test
    void ngramAndDraftModelGiveThePlainText() {
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", PROMPT, "-n", "60", "--temp", "0");
        CliRun ngram = CliRun.of("generate", "-m", STORIES, "-p", PROMPT, "-n", "60", "--temp", "0", "--spec", "ngram",
                "--draft-max", "8", "--spec-ngram-min", "1");
        CliRun draft = CliRun.of("generate", "-m", STORIES, "-p", PROMPT, "-n", "60", "--temp", "0", "-md", Q8, "--draft-p-min", "0.3");
        CliRun lookahead = CliRun.of("generate", "-m", STORIES, "-p", PROMPT, "-n", "60", "--temp", "0", "--spec", "lookahead",
                "--lookahead-window", "5", "--lookahead-ngram", "3", "--lookahead-guess", "4");
        assertThat(lookahead.exitCode()).as(lookahead.err()).isZero();
        assertThat(lookahead.out()).isEqualTo(plain.out());
        assertThat(lookahead.err()).contains("argon: speculative (lookahead)");
        assertThat(ngram.exitCode()).as(ngram.err()).isZero();
        assertThat(draft.exitCode()).as(draft.err()).isZero();
        assertThat(ngram.out()).isEqualTo(plain.out());
        assertThat(draft.out()).isEqualTo(plain.out());
        assertThat(plain.err()).doesNotContain("speculative");
        for (CliRun r : new CliRun[] {ngram, draft, lookahead}) {
            Matcher m = REPORT.matcher(r.err());
            assertThat(m.find()).as(r.err()).isTrue();
            assertThat(Long.parseLong(m.group(4))).as(r.err()).isPositive().isLessThanOrEqualTo(Long.parseLong(m.group(3)));
        }
        CliRun chat = CliRun.of("chat", "-m", STORIES, "-p", PROMPT, "-n", "20", "--temp", "0", "--spec-type", "ngram-simple");
        assertThat(chat.exitCode()).as(chat.err()).isZero();
        assertThat(chat.err()).contains("argon: speculative (ngram)");
    }

    @Test
    void badSpeculationFlagsAreUsageErrors() {
        String[][] cases = {
                {"--spec", "jacobi", "--spec is 'jacobi'; expected none, ngram, draft or lookahead"},
                {"--spec", "lookahead", "--lookahead-window", "62", "--lookahead-window is 62; expected 1..61"},
                {"--spec", "lookahead", "--lookahead-ngram", "1", "--lookahead-ngram is 1; expected 2..16"},
                {"--spec", "draft", "--spec draft needs a draft model (-md/--model-draft FILE)"},
                {"--spec", "ngram", "--draft-max", "0", "--draft-max is 0; expected 1..64"},
                {"--spec", "ngram", "--draft-min", "9", "--draft-max", "4", "--draft-min is 9"},
                {"--spec", "ngram", "--spec-ngram-min", "3", "--spec-ngram-max", "2", "--spec-ngram-max is 2"},
                {"-md", TINY, "vocabulary of 32000 tokens but the model has 512"},
                {"--spec", "ngram", "--context-shift", "cannot be combined with --context-shift"},
                {"--spec", "ngram", "--cfg-scale", "2", "cannot be combined with --cfg-scale"},
                {"--spec", "ngram", "--spec-accept", "judge", "--spec-accept is 'judge'; expected exact or typical"},
                {"--spec", "ngram", "--spec-accept", "typical", "--spec-typical-epsilon", "-0.1",
                        "--spec-typical-epsilon is -0.1; expected 0..1"},
                {"--spec", "ngram", "--spec-accept", "typical", "--spec-typical-delta", "1.5", "--spec-typical-delta is 1.5; expected 0..1"},
                {"--spec", "ngram", "--spec-typical-delta", "0.5",
                        "--spec-typical-delta applies to --spec-accept typical, but this run uses --spec-accept exact"},
                {"--spec-accept", "typical", "--spec-accept applies to speculative decoding"}};
        for (String[] c : cases) {
            String[] full = new String[c.length - 1 + 7];
            System.arraycopy(new String[] {"generate", "-m", STORIES, "-n", "4", "-p", "Hi"}, 0, full, 0, 7);
            System.arraycopy(c, 0, full, 7, c.length - 1);
            CliRun r = CliRun.of(full);
            assertThat(r.exitCode()).as(String.join(" ", full) + "\n" + r.err()).isEqualTo(2);
            assertThat(r.err()).startsWith("argon: error:").contains(c[c.length - 1]);
        }
    }

    private static final Pattern LENIENT = Pattern.compile("typical acceptance \\(lossy, epsilon ([\\d.]+), delta ([\\d.]+)\\): (\\d+) accepted"
            + " that exact verification would have rejected");

    @Test
    void typicalAcceptanceIsReportedAndKeepsGreedyOutput() {
        String[] base = {"generate", "-m", STORIES, "-p", PROMPT, "-n", "60", "--spec", "ngram", "--draft-max", "8"};
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", PROMPT, "-n", "60", "--temp", "0");
        CliRun greedy = CliRun.of(concat(base, "--temp", "0", "--spec-accept", "typical"));
        assertThat(greedy.exitCode()).as(greedy.err()).isZero();
        assertThat(greedy.out()).as("greedy requests keep exact verification").isEqualTo(plain.out());
        Matcher g = LENIENT.matcher(greedy.err());
        assertThat(g.find()).as(greedy.err()).isTrue();
        assertThat(g.group(1)).isEqualTo("0.09");
        assertThat(g.group(2)).isEqualTo("0.3");
        assertThat(g.group(3)).isEqualTo("0");
        CliRun sampled = CliRun.of(concat(base, "--temp", "0.9", "--seed", "3", "--spec-accept", "typical", "--spec-typical-epsilon",
                "0.05", "--spec-typical-delta", "0.2"));
        assertThat(sampled.exitCode()).as(sampled.err()).isZero();
        Matcher m = REPORT.matcher(sampled.err());
        Matcher l = LENIENT.matcher(sampled.err());
        assertThat(m.find() && l.find()).as(sampled.err()).isTrue();
        assertThat(l.group(1) + " " + l.group(2)).isEqualTo("0.05 0.2");
        assertThat(Long.parseLong(l.group(3))).as(sampled.err()).isPositive().isLessThanOrEqualTo(Long.parseLong(m.group(4)));
        CliRun exact = CliRun.of(concat(base, "--temp", "0.9", "--seed", "3"));
        assertThat(exact.err()).contains("argon: speculative (ngram)").doesNotContain("typical");
        CliRun bench = CliRun.of("bench", "-m", STORIES, "-p", "0", "-n", "4", "--spec", "ngram", "--spec-accept", "typical");
        assertThat(bench.exitCode()).isEqualTo(2);
        assertThat(bench.err()).contains("--spec-accept typical changes nothing in argon bench");
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
