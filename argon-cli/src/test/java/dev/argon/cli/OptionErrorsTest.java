package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Option handling across commands (fresh-user report 10): empty file arguments, errors that name the
 * flag as typed, flags that would be ignored, mismatched synth arguments, encoders in batch.
 */
class OptionErrorsTest {
    static final String STORIES = TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString();

    @TempDir
    Path tmp;

    private static void assertCleanError(CliRun r, String expected) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("argon: error: " + expected).doesNotContain("\tat ").doesNotContain("Exception");
    }

    @Test
    void anEmptyFileArgumentIsAnErrorNamingTheFlagAsTyped() {
        assertCleanError(CliRun.of("generate", "-p", "hi", "-md", ""), "-md is empty; expected a file");
        assertCleanError(CliRun.of("generate", "-p", "hi", "--model-draft", ""), "--model-draft is empty; expected a file");
        assertCleanError(CliRun.of("generate", "-f", ""), "-f is empty; expected a file");
        assertCleanError(CliRun.of("generate", "--grammar-file", ""), "--grammar-file is empty; expected a file");
        // -m '' used to fall back to the default model
        assertCleanError(CliRun.of("generate", "-m", "", "-p", "hi", "-n", "1"), "-m is empty; expected a file");
        assertCleanError(CliRun.of("embed", "--model=", "x"), "--model is empty; expected a file");
        assertCleanError(CliRun.of("inspect", ""), "MODEL is empty; expected a file");
        assertCleanError(CliRun.of("batch", "-m", STORIES, "-i", "", "-o", tmp.resolve("o.jsonl").toString()), "-i is empty");
        assertThat(tmp.resolve("o.jsonl")).doesNotExist();
    }

    @Test
    void typeErrorsNameTheAliasTheUserTyped() {
        assertCleanError(CliRun.of("generate", "--draft-max", "abc"), "Invalid value for option '--draft-max': 'abc' is not an int");
        assertCleanError(CliRun.of("generate", "--draft-max=abc"), "Invalid value for option '--draft-max': 'abc' is not an int");
        assertCleanError(CliRun.of("generate", "--spec-draft-n-max", "x"), "Invalid value for option '--spec-draft-n-max'");
        assertCleanError(CliRun.of("generate", "--draft-p-min", "nan"), "Invalid value for option '--draft-p-min': 'nan' is not a float");
        // the occurrence with the bad value is named when the flag is given twice under two names
        assertCleanError(CliRun.of("chat", "--draft-min", "1", "--spec-draft-n-min", "z"), "Invalid value for option '--spec-draft-n-min'");
        assertCleanError(CliRun.of("generate", "-c", "big"), "Invalid value for option '-c': 'big' is not an int");
    }

    @Test
    void numbersBeyondTheirTypeAndEmptyStopsAreNamedAsTyped() {
        assertCleanError(CliRun.of("generate", "--temp", "1e40"), "Invalid value for option '--temp': '1e40' is not a finite number");
        assertCleanError(CliRun.of("generate", "--cfg-scale", "1e300"), "Invalid value for option '--cfg-scale': '1e300' is not a finite");
        assertCleanError(CliRun.of("generate", "--top-p", "NaN"), "Invalid value for option '--top-p': 'NaN' is not a finite number");
        assertCleanError(CliRun.of("watermark", "detect", "--key", "k", "--watermark-gamma", "Infinity", "x"), "Invalid value for option '--watermark-gamma'");
        assertCleanError(CliRun.of("generate", "-p", "hi", "--stop", ""), "--stop is empty; expected text");
    }

    @Test
    void theKeepLimitNamesTheNumberTyped() {
        String[] base = {"generate", "-m", STORIES, "-p", "hi", "-n", "2", "-c", "64", "--context-shift"};
        assertCleanError(run(base, "--keep", "64"),
                "--keep 64 leaves no room to evict in a context of 64 tokens (-c); it must be at most 61 (BOS is kept as well)");
        assertCleanError(run(base, "--keep", "62"), "--keep 62 leaves no room");
        // StreamingLLM's sinks: only --kv-sink is named, not --keep (which is not given)
        CliRun sink = CliRun.of("generate", "-m", STORIES, "-p", "hi", "-n", "2", "-c", "32", "--kv-sink", "40");
        assertCleanError(sink, "--kv-sink 40 leaves no room to evict in a context of 32 tokens (-c)");
        assertThat(sink.err()).doesNotContain("--keep");
        CliRun most = run(base, "--keep", "61");
        assertThat(most.exitCode()).as(most.err()).isZero();
    }

    @Test
    void compressRefusesAContextLargerThanTheModelsAsPerplexityDoes() throws IOException {
        Path in = Files.writeString(tmp.resolve("in.txt"), "Once upon a time");
        Path out = tmp.resolve("in.argz");
        assertCleanError(CliRun.of("compress", "-m", STORIES, in.toString(), "-o", out.toString(), "-c", "999999"),
                "-c 999999 is larger than the model's context of 2048 tokens");
        assertThat(out).doesNotExist();
    }

    @Test
    void aVocabularyOnlyFileIsNotBlamedForGeneratingInEmbed() {
        CliRun r = CliRun.of("embed", "-m", TestFiles.model("llama-cpp-vocab/ggml-vocab-bert-bge.gguf").toString(), "x");
        assertCleanError(r, "");
        assertThat(r.err()).contains("vocabulary-only", "not as a model").doesNotContain("generate");
    }

    @Test
    void flagsThatWouldBeIgnoredAreRefused() {
        String[] base = {"generate", "-m", STORIES, "-p", "hi", "-n", "2"};
        assertCleanError(run(base, "--draft-max", "4"),
                "--draft-max applies to speculative decoding (--spec ngram, draft or lookahead, or -md), which is not given");
        assertCleanError(run(base, "--lookahead-window", "4"), "--lookahead-window applies to speculative decoding");
        assertCleanError(run(base, "--spec", "ngram", "--lookahead-guess", "4"),
                "--lookahead-guess applies to --spec lookahead, but this run uses --spec ngram");
        assertCleanError(run(base, "--spec-draft-n-min", "1"), "--spec-draft-n-min applies to speculative decoding");
        assertCleanError(run(base, "--spec", "none", "--spec-ngram-max", "3"), "--spec-ngram-max applies to speculative decoding");
        assertCleanError(run(base, "--spec", "ngram", "--draft-p-min", "0.5"),
                "--draft-p-min applies to --spec draft, but this run uses --spec ngram");
        assertCleanError(run(base, "-md", STORIES, "--spec-ngram-min", "1"),
                "--spec-ngram-min applies to --spec ngram, but this run uses --spec draft");
        assertCleanError(run(base, "--watermark-delta", "3"), "--watermark-delta applies to --watermark, which is not given");
        assertCleanError(CliRun.of("bench", "-m", STORIES, "-p", "0", "-n", "2", "--draft-max", "4"), "--draft-max applies to");
        // the flags are honoured where they apply; serve keeps them as defaults that a request's speculative.type may use
        CliRun ok = run(base, "--spec", "ngram", "--draft-max", "4", "--temp", "0");
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertCleanError(CliRun.of("serve", "-m", STORIES, "--draft-max", "4", "--port", "99999"), "--port is 99999");
    }

    @Test
    void noVerifyPassIsReportedAsSuch() {
        // a 3-token prompt has no earlier n-gram to copy: the run makes no verify pass
        CliRun gen = CliRun.of("generate", "-m", STORIES, "-p", "hi", "-n", "3", "--temp", "0", "--spec", "ngram");
        assertThat(gen.exitCode()).as(gen.err()).isZero();
        assertThat(gen.err()).contains("argon: speculative (ngram): no verify pass ran").doesNotContain("per pass");
        CliRun bench = CliRun.of("bench", "-m", STORIES, "-p", "0", "-n", "3", "-r", "1", "--spec", "ngram");
        assertThat(bench.exitCode()).as(bench.err()).isZero();
        assertThat(bench.err()).contains("tg3 spec=ngram: no verify pass ran").doesNotContain("0.00 tokens per verify pass");
    }

    @Test
    void synthRefusesAShapeOrPoolingOfTheOtherKindOfModel() throws IOException {
        String out = tmp.resolve("m.gguf").toString();
        assertCleanError(CliRun.of("synth", "--arch", "llama", "--shape", "all-minilm-l6-v2", "-o", out),
                "--shape all-minilm-l6-v2 is a BERT encoder's shape; use it with --arch bert");
        assertCleanError(CliRun.of("synth", "--shape", "BGE-small-en-v1.5", "-o", out), "--shape bge-small-en-v1.5 is a BERT encoder's shape");
        assertCleanError(CliRun.of("synth", "--arch", "bert", "--shape", "tiny", "-o", out), "--shape tiny is a decoder's shape");
        assertCleanError(CliRun.of("synth", "--shape", "tiny", "--pooling", "mean", "-o", out),
                "--pooling applies to bert (an encoder: --arch bert); --arch llama is a decoder");
        assertThat(Path.of(out)).doesNotExist();
        // a bad argument is named before an existing output file
        Files.writeString(Path.of(out), "x");
        assertCleanError(CliRun.of("synth", "--arch", "nope", "--shape", "tiny", "-o", out), "unknown");
        CliRun pooling = CliRun.of("synth", "--arch", "bert", "--layers", "1", "--dim", "64", "--ff", "64", "--heads", "4", "--vocab", "300",
                "--pooling", "bogus", "-o", out);
        assertCleanError(pooling, "");
        assertThat(pooling.err()).contains("bogus").doesNotContain("already exists");
    }

    @Test
    void batchBenchAndServeSpeculationRefuseAnEncoderAtStart() throws IOException {
        Path bert = tmp.resolve("bert.gguf");
        CliRun synth = CliRun.of("synth", "--arch", "bert", "--layers", "1", "--dim", "64", "--ff", "64", "--heads", "4",
                "--vocab", "300", "--context", "64", "--type", "f32", "-o", bert.toString());
        assertThat(synth.exitCode()).as(synth.err()).isZero();
        Path in = Files.writeString(tmp.resolve("in.txt"), "hello\nworld\n");
        Path out = tmp.resolve("out.jsonl");
        assertCleanError(CliRun.of("batch", "-m", bert.toString(), "-i", in.toString(), "-o", out.toString()),
                "bert.gguf: this model (bert) is a text encoder for embeddings, and argon batch generates text");
        assertThat(out).doesNotExist();
        CliRun bench = CliRun.of("bench", "-m", bert.toString(), "-p", "8", "-n", "0", "-r", "1");
        assertThat(bench.exitCode()).isEqualTo(2);
        assertThat(bench.err()).startsWith("argon: error: this model (bert) is a text encoder"); // no CPU line first
        CliRun serve = CliRun.of("serve", "-m", bert.toString(), "--spec", "ngram", "--port", "0");
        assertThat(serve.exitCode()).isEqualTo(2);
        assertThat(serve.err()).contains("argon: error: --spec/-md: this model (bert) is a text encoder for embeddings");
    }

    @Test
    void outOfRangeKvValuesAndAWindowAloneAreErrorsBeforeTheModelLoads() {
        // the model does not exist: the flag errors come first, so they are checked before loading
        String none = tmp.resolve("none.gguf").toString();
        String[][] commands = {{"generate", "-m", none, "-p", "hi"}, {"chat", "-m", none}, {"serve", "-m", none, "--port", "0"},
                {"perplexity", "-m", none, "-f", tmp.resolve("none.txt").toString()}};
        for (String[] cmd : commands) {
            assertCleanError(run(cmd, "--kv-sink", "2", "--kv-window", "0"), "--kv-window is 0; expected >= 1 recent tokens");
            assertCleanError(run(cmd, "--kv-sink", "-1", "--kv-window", "8"), "--kv-sink is -1; expected >= 0 attention sinks");
            assertCleanError(run(cmd, "--kv-heavy", "-1", "--kv-window", "8"), "--kv-heavy is -1; expected at least 1");
            assertCleanError(run(cmd, "--kv-window", "8"),
                    "--kv-window 8 needs --kv-sink S (StreamingLLM: --kv-sink 0 keeps no sinks), --kv-heavy H (H2O) or --kv-policy P");
            assertCleanError(run(cmd, "--kv-policy", "sentencekv", "--kv-sink", "-1"), "--kv-sink is -1; expected >= 0 attention sinks");
        }
        // batch has the flags (shared with generate) but no context policy: refused rather than ignored
        assertCleanError(CliRun.of("batch", "-m", none, "-i", none, "-o", tmp.resolve("o.jsonl").toString(), "--kv-sink", "4",
                "--kv-window", "8"), "--context-shift, --kv-sink, --kv-window, --kv-heavy and --kv-policy are not supported by argon batch");
        assertCleanError(CliRun.of("batch", "-m", none, "-i", none, "-o", tmp.resolve("o.jsonl").toString(), "--minicache-t", "0.5"),
                "--minicache-t 0.5 applies to --kv-policy minicache, which is not given");
        // so its help does not describe them as working
        CliRun help = CliRun.of("batch", "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("--temp").contains("--parallel").doesNotContain("--context-shift").doesNotContain("--keep")
                .doesNotContain("--kv-sink").doesNotContain("--kv-window").doesNotContain("--kv-heavy").doesNotContain("--kv-policy")
                .doesNotContain("--minicache-").doesNotContain("--kvmerger-").doesNotContain("--sentencekv-");
        assertThat(CliRun.of("generate", "--help").out()).contains("--kv-policy").contains("--minicache-t");
    }

    @Test
    void validWindowsStillWork() {
        // sinks 0 + window is StreamingLLM without sinks; --kv-window with --kv-policy sets its exact window
        CliRun noSinks = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "40", "--temp", "0", "-c", "32",
                "--ignore-eos", "--kv-sink", "0", "--kv-window", "28");
        assertThat(noSinks.exitCode()).as(noSinks.err()).isZero();
        assertThat(noSinks.err()).contains("when full: sinks 0 + window 28").contains("generated 40 tokens");
        CliRun merged = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "4", "--temp", "0", "-c", "32",
                "--kv-policy", "kvmerger", "--kv-window", "8");
        assertThat(merged.exitCode()).as(merged.err()).isZero();
        assertThat(merged.err()).contains("exact window 8");
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "8", "--temp", "0", "-c", "32");
        assertThat(plain.exitCode()).as(plain.err()).isZero();
        assertThat(plain.err()).contains("KV cache f16").doesNotContain("when full");
    }

    @Test
    void rewardAndBackspaceValuesThatMakeNoSenseAreErrors() {
        String none = tmp.resolve("none.gguf").toString();
        for (String[] cmd : new String[][]{{"generate", "-m", none, "-p", "hi"}, {"serve", "-m", none, "--port", "0"}}) {
            // given explicitly, even the default value is an error without a reward model
            assertCleanError(run(cmd, "--reward-beta", "1"),
                    "--reward-beta needs --reward-model FILE: it applies to the reward models, and none is given (--reward-beta 1.0)");
            assertCleanError(run(cmd, "--reward-weight", "-1"), "--reward-weight needs --reward-model FILE");
            assertCleanError(run(cmd, "--reward-model", STORIES, "--reward-beta", "0"),
                    "--reward-beta is 0.0; expected a finite number > 0 (smaller steers harder)");
            assertCleanError(run(cmd, "--reward-model", STORIES, "--reward-beta", "-2"), "--reward-beta is -2.0; expected a finite number > 0");
        }
        assertCleanError(run(new String[]{"generate", "-m", none, "-p", "hi"}, "--backspace-token", "-2"),
                "--backspace-token is -2; expected a token id (0 or more), or -1 for none");
        // -1 is documented as "none": the same text as without the flag
        CliRun off = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "8", "--temp", "0", "--backspace-token", "-1");
        CliRun plain = CliRun.of("generate", "-m", STORIES, "-p", "Once upon a time", "-n", "8", "--temp", "0");
        assertThat(off.exitCode()).as(off.err()).isZero();
        assertThat(off.out()).isEqualTo(plain.out());
    }

    private static CliRun run(String[] base, String... more) {
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return CliRun.of(all);
    }
}
