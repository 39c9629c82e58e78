package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** generate's guidance flags: --cfg-scale and --cfg-negative-prompt. */
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
}
