package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --verbose-prompt} lists the prompt's tokens; with it, {@code argon chat} shows that
 * control-token text typed by the user stays plain text (TinyLLama-v0: Llama 2 vocabulary, BOS 1,
 * EOS 2, no chat template, so the Llama 2 {@code [INST]} format).
 */
class VerbosePromptTest {
    private static final String TINYLLAMA = "tinyllama-v0/TinyLLama-v0.Q4_0.gguf";
    private static final Pattern LINE = Pattern.compile("^\\s*(\\d+) -> '(.*)'$", Pattern.MULTILINE);

    private static int[] promptIds(CliRun r) {
        Matcher m = LINE.matcher(r.err());
        int[] ids = new int[0];
        while (m.find()) {
            ids = Arrays.copyOf(ids, ids.length + 1);
            ids[ids.length - 1] = Integer.parseInt(m.group(1));
        }
        return ids;
    }

    private static long count(int[] ids, int id) {
        return Arrays.stream(ids).filter(i -> i == id).count();
    }

    @Test
    void endOfSequenceTextFromTheUserIsNotTheEndOfSequenceToken() {
        String model = TestFiles.model(TINYLLAMA).toString();
        CliRun r = CliRun.of("chat", "-m", model, "-p", "</s>", "--verbose-prompt", "-n", "1", "--temp", "0", "-t", "2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        int[] ids = promptIds(r);
        assertThat(r.err()).contains("argon: prompt: " + ids.length + " tokens");
        // BOS once (the template's), no EOS; the user's </s> is the plain text "</s>" in several pieces
        assertThat(ids[0]).isEqualTo(1);
        assertThat(count(ids, 1)).isEqualTo(1);
        assertThat(count(ids, 2)).isZero();
        CliRun plain = CliRun.of("tokenize", "-m", model, "--ids", "--", "[INST] </s> [/INST]");
        assertThat(plain.out().strip()).isEqualTo(Arrays.toString(ids).replace(" ", ""));

        // the documented opt-in restores the old behaviour: the user's </s> becomes EOS
        CliRun unsafe = CliRun.of("chat", "-m", model, "-p", "</s>", "--verbose-prompt", "--parse-special-in-content", "-n", "1",
                "--temp", "0", "-t", "2");
        assertThat(unsafe.exitCode()).as(unsafe.err()).isZero();
        assertThat(count(promptIds(unsafe), 2)).isEqualTo(1);
    }

    @Test
    void generateListsThePromptTokensAsTokenizeDoes() {
        String model = TestFiles.model(TINYLLAMA).toString();
        CliRun g = CliRun.of("generate", "-m", model, "-p", "Once upon a time", "--verbose-prompt", "-n", "1", "--temp", "0");
        assertThat(g.exitCode()).as(g.err()).isZero();
        CliRun t = CliRun.of("tokenize", "-m", model, "--", "Once upon a time");
        String listed = LINE.matcher(g.err()).results().map(java.util.regex.MatchResult::group).reduce("", (a, b) -> a + b + "\n");
        assertThat(listed).isEqualTo(t.out().replace(System.lineSeparator(), "\n")).isNotEmpty();
    }

    @Test
    void tokenizeWarnsWhenTheTextsOwnBosFollowsTheAddedOne() {
        String model = TestFiles.model(TINYLLAMA).toString();
        CliRun twice = CliRun.of("tokenize", "-m", model, "--ids", "--parse-special", "--", "<s>hi");
        assertThat(twice.exitCode()).as(twice.err()).isZero();
        assertThat(twice.out().strip()).startsWith("[1,1,");
        assertThat(twice.err()).contains("argon: warning: the text starts with a BOS token").contains("--no-bos");
        CliRun once = CliRun.of("tokenize", "-m", model, "--ids", "--parse-special", "--no-bos", "--", "<s>hi");
        assertThat(once.out().strip()).startsWith("[1,").doesNotStartWith("[1,1,");
        assertThat(once.err()).doesNotContain("warning");
    }
}
