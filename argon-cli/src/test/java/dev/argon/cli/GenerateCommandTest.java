package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GenerateCommandTest {
    static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    @Test
    void greedyOutputEqualsLlamaCppTextAndOnlyTextGoesToStdout() {
        CliRun r = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time",
                "-n", "48", "--temp", "0", "-t", "2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it," + System.lineSeparator());
        assertThat(r.err()).contains("tokens/s").contains("finish: length");
    }

    @Test
    void echoPrintsThePromptFirst() {
        CliRun r = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time",
                "-n", "3", "--temp", "0", "--echo");
        assertThat(r.out()).startsWith("Once upon a time, there was");
    }

    @Test
    void stopStringEndsGenerationAndIsNotPrinted() {
        CliRun r = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time",
                "-n", "48", "--temp", "0", "--stop", "Lily");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).isEqualTo(", there was a little girl named " + System.lineSeparator());
        assertThat(r.err()).contains("finish: stop_string");
    }

    @Test
    void seededSamplingIsReproducible() {
        String m = TestFiles.model(STORIES).toString();
        CliRun a = CliRun.of("generate", "-m", m, "-p", "Tim wanted to", "-n", "32", "--temp", "1.0", "--seed", "42");
        CliRun b = CliRun.of("generate", "-m", m, "-p", "Tim wanted to", "-n", "32", "--temp", "1.0", "--seed", "42");
        CliRun c = CliRun.of("generate", "-m", m, "-p", "Tim wanted to", "-n", "32", "--temp", "1.0", "--seed", "43");
        assertThat(a.exitCode()).isZero();
        assertThat(a.out()).isEqualTo(b.out()).isNotEqualTo(c.out());
    }

    @Test
    void randomSeedIsReportedSoARunCanBeRepeated() {
        String m = TestFiles.model(STORIES).toString();
        CliRun a = CliRun.of("generate", "-m", m, "-p", "Tim wanted to", "-n", "24", "--temp", "1.0");
        java.util.regex.Matcher seed = java.util.regex.Pattern.compile("seed (-?\\d+)").matcher(a.err());
        assertThat(seed.find()).as(a.err()).isTrue();
        CliRun b = CliRun.of("generate", "-m", m, "-p", "Tim wanted to", "-n", "24", "--temp", "1.0", "--seed", seed.group(1));
        assertThat(b.out()).isEqualTo(a.out());
    }

    @Test
    void everyCommandPrintsTheVersion() {
        for (String cmd : new String[]{"generate", "inspect", "tokenize", "bench"}) {
            CliRun r = CliRun.of(cmd, "--version");
            assertThat(r.exitCode()).isZero();
            assertThat(r.out()).as(cmd).startsWith("argon ");
        }
    }

    @Test
    void contextLimitEndsGenerationWithAReason() {
        CliRun r = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time",
                "-n", "100", "--temp", "0", "-c", "16");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("generated 11 tokens").contains("finish: context_full");
    }

    @Test
    void sinksWindowAndContextShiftGenerateBeyondTheContext() {
        for (String[] policy : new String[][]{{"--kv-sink", "4", "--kv-window", "28"}, {"--context-shift", "--keep", "2"}}) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("generate", "-m", TestFiles.model(STORIES).toString(),
                    "-p", "Once upon a time", "-n", "300", "--temp", "0", "-c", "32", "--ignore-eos"));
            args.addAll(java.util.List.of(policy));
            CliRun r = CliRun.of(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(r.err()).contains("generated 300 tokens").contains("finish: length").contains("when full: ");
            // the first 27 tokens fit without eviction, so they equal plain generation's
            CliRun plain = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time", "-n", "20",
                    "--temp", "0", "-c", "32", "--ignore-eos");
            assertThat(r.out()).startsWith(plain.out().strip());
        }
    }

    @Test
    void conflictingContextPoliciesAreRefused() {
        CliRun r = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "x", "--context-shift", "--kv-sink", "4");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("argon: error: --context-shift, --kv-sink/--kv-window and --kv-heavy/--kv-window are different ways");
        CliRun big = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "x", "-c", "32", "--kv-sink", "4",
                "--kv-window", "40");
        assertThat(big.exitCode()).isEqualTo(2);
        assertThat(big.err()).contains("do not fit in the context of 32 (-c)");
        CliRun noHeavy = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "x", "-c", "32", "--kv-heavy", "0",
                "--kv-window", "10");
        assertThat(noHeavy.exitCode()).isEqualTo(2);
        assertThat(noHeavy.err()).contains("argon: error: --kv-heavy is 0; expected at least 1");
        CliRun banGrammar = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "x", "--grammar", "root ::= \"yes\"",
                "--ban-string", "es");
        assertThat(banGrammar.exitCode()).isEqualTo(2);
        assertThat(banGrammar.err()).contains("--ban-string").contains("cannot be combined with").contains("--grammar")
                .doesNotContain("Exception");
    }
}
