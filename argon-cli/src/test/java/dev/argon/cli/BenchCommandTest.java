package dev.argon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Checks that {@code argon bench} runs and reports; speed itself is never asserted. */
class BenchCommandTest {
    static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    @Test
    void markdownTableHasOneRowPerTest() {
        CliRun r = CliRun.of("bench", "-m", TestFiles.model(STORIES).toString(), "-p", "16", "-n", "8", "-r", "2", "-t", "1");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("| model | size | params | backend | threads | test | t/s |")
                .contains("| pp16 |").contains("| tg8 |").contains("llama 292.80 K F32");
        // the report says which vector width and CPU it ran with
        assertThat(r.err()).contains("argon: CPU " + CpuInfo.describe() + ", " + dev.argon.tensor.Simd.describe());
        assertThat(dev.argon.tensor.Simd.describe()).matches("(128|256|512)-bit vectors \\((4|8|16) float lanes\\)|scalar kernels");
    }

    @Test
    void cpuInfoNamesTheModelAndTheSimdFeatures(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path x86 = java.nio.file.Files.writeString(dir.resolve("x86"), "processor\t: 0\nmodel name\t: AMD EPYC\n"
                + "flags\t\t: fpu sse avx f16c fma avx2 bmi2\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu\n");
        assertThat(CpuInfo.describe(x86)).isEqualTo("AMD EPYC (avx2 fma f16c)");
        java.nio.file.Path arm = java.nio.file.Files.writeString(dir.resolve("arm"), "processor\t: 0\nFeatures\t: fp asimd asimddp sve\n");
        assertThat(CpuInfo.describe(arm)).isEqualTo(System.getProperty("os.arch") + " (asimd asimddp sve)");
        assertThat(CpuInfo.describe(dir.resolve("missing"))).isEqualTo(System.getProperty("os.arch"));
    }

    @Test
    void jsonOutputIsParseableWithPositiveSpeeds() throws Exception {
        CliRun r = CliRun.of("bench", "-m", TestFiles.model(STORIES).toString(), "-p", "8", "-n", "4", "-r", "2", "-t", "1", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode rows = new ObjectMapper().readTree(r.out());
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0).get("test").asText()).isEqualTo("pp8");
        assertThat(rows.get(1).get("tps_mean").asDouble()).isPositive();
    }

    @Test
    void csvAndJsonCarryTheSameColumns() throws Exception {
        String m = TestFiles.model(STORIES).toString();
        CliRun csv = CliRun.of("bench", "-m", m, "-p", "0", "-n", "2", "-np", "1,2", "-r", "1", "-t", "1", "-o", "csv");
        assertThat(csv.exitCode()).as(csv.err()).isZero();
        String[] lines = csv.out().strip().split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).isEqualTo("model,size_bytes,params,type,threads,parallel,test,tps_mean,tps_sd,"
                + "llama_cpp_tps_mean,llama_cpp_tps_sd,ratio");
        assertThat(lines[2]).contains(",1,2,tg2 np=2,").endsWith(",,,");
        CliRun json = CliRun.of("bench", "-m", m, "-p", "0", "-n", "2", "-r", "1", "-t", "1", "-o", "json");
        assertThat(json.exitCode()).as(json.err()).isZero();
        JsonNode row = new ObjectMapper().readTree(json.out()).get(0);
        java.util.List<String> names = new java.util.ArrayList<>();
        row.fieldNames().forEachRemaining(names::add);
        assertThat(String.join(",", names)).isEqualTo(lines[0]);
        assertThat(row.get("ratio").isNull()).isTrue();
    }

    @Test
    void parallelSequencesAndAGrammarAddOneDecodeRowEach() throws Exception {
        // --json also adds the decode under the JSON grammar (tg4 +grammar) after the plain row
        CliRun r = CliRun.of("bench", "-m", TestFiles.model(STORIES).toString(), "-p", "0", "-n", "4", "-np", "1,3", "-r", "1",
                "-t", "1", "-o", "json", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode rows = new ObjectMapper().readTree(r.out());
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0).get("test").asText()).isEqualTo("tg4");
        assertThat(rows.get(1).get("test").asText()).isEqualTo("tg4 +grammar");
        assertThat(rows.get(2).get("test").asText()).isEqualTo("tg4 np=3");
        assertThat(rows.get(2).get("parallel").asInt()).isEqualTo(3);
        assertThat(rows.get(0).get("parallel").asInt()).isEqualTo(1);
        assertThat(rows.get(1).get("tps_mean").asDouble()).isPositive();
        assertThat(rows.get(2).get("tps_mean").asDouble()).isPositive();
        assertThat(r.err()).containsPattern("tg4 \\+grammar / tg4, median of 1 paired runs: [0-9.]+x");
    }

    @Test
    void cfgScaleMeasuresGreedyWithoutAndWithGuidance() throws Exception {
        String m = TestFiles.model(STORIES).toString();
        CliRun r = CliRun.of("bench", "-m", m, "-p", "0", "-n", "6", "-r", "2", "-t", "1", "-o", "json", "--cfg-scale", "1.5",
                "--cfg-negative-prompt", "sad");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode rows = new ObjectMapper().readTree(r.out());
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0).get("test").asText()).isEqualTo("tg6 greedy");
        assertThat(rows.get(1).get("test").asText()).isEqualTo("tg6 cfg=1.5");
        assertThat(rows.get(1).get("tps_mean").asDouble()).isPositive();
        assertThat(r.err()).containsPattern("tg6 cfg=1\\.5 / tg6 greedy, median of 2 paired runs: [0-9.]+x \\(each pair: [0-9.]+, [0-9.]+\\)");
        for (String[] args : new String[][]{{"-np", "1,2"}, {"-d", "0,8"}, {"--spec", "ngram"}}) {
            CliRun bad = CliRun.of("bench", "-m", m, "-p", "0", "-n", "4", "--cfg-scale", "2", args[0], args[1]);
            assertThat(bad.exitCode()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(bad.err()).startsWith("argon: error: --cfg-scale measures greedy decoding of one sequence");
        }
        // without a negative prompt the unconditional row starts from BOS alone, as in generate
        CliRun bosOnly = CliRun.of("bench", "-m", m, "-p", "0", "-n", "3", "-r", "1", "-t", "1", "--cfg-scale", "1.5");
        assertThat(bosOnly.exitCode()).as(bosOnly.err()).isZero();
        assertThat(bosOnly.out()).contains("| tg3 cfg=1.5 |");
        CliRun negativeAlone = CliRun.of("bench", "-m", m, "-p", "0", "-n", "4", "--cfg-negative-prompt", "sad");
        assertThat(negativeAlone.err()).startsWith("argon: error: --cfg-negative-prompt needs --cfg-scale");
        CliRun outOfRange = CliRun.of("bench", "-m", m, "-p", "0", "-n", "4", "--cfg-scale", "-1");
        assertThat(outOfRange.exitCode()).isEqualTo(2);
        assertThat(outOfRange.err()).startsWith("argon: error: the guidance scale (--cfg-scale) is -1.0");
    }

    @Test
    void aBadGrammarIsAnErrorBeforeAnyMeasurement() {
        CliRun bad = CliRun.of("bench", "-m", TestFiles.model(STORIES).toString(), "-p", "0", "-n", "4", "--grammar", "root ::= x");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).startsWith("argon: error: ").contains("undefined rule 'x'");
        assertThat(bad.out()).isEmpty();
    }

    @Test
    void theModelTypeIsTheFileTypeNotTheLargestTensorType(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String file = dir.resolve("tiny-q4_k_m.gguf").toString();
        CliRun synth = CliRun.of("synth", "--shape", "tiny", "--type", "q4_k_m", "-o", file);
        assertThat(synth.exitCode()).as(synth.err()).isZero();
        CliRun r = CliRun.of("bench", "-m", file, "-p", "0", "-n", "2", "-r", "1", "-t", "1", "-o", "json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(new ObjectMapper().readTree(r.out()).get(0).get("type").asText()).isEqualTo("Q4_K_M");
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        String m = TestFiles.model(STORIES).toString();
        for (String[] args : new String[][]{{"-r", "0"}, {"-o", "xml"}, {"-p", "-1"}, {"-t", "0"}, {"-t", "100000"}, {"-np", "0"}}) {
            String[] all = new String[]{"bench", "-m", m, args[0], args[1]};
            CliRun r = CliRun.of(all);
            assertThat(r.exitCode()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).startsWith("argon: error: ");
        }
        CliRun none = CliRun.of("bench", "-m", m, "-p", "0", "-n", "0");
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).startsWith("argon: error: nothing to measure");
        assertThat(none.out()).isEmpty();
        CliRun specDepth = CliRun.of("bench", "-m", m, "-p", "0", "-n", "8", "--spec", "ngram", "-d", "0,64");
        assertThat(specDepth.exitCode()).isEqualTo(2);
        assertThat(specDepth.err()).startsWith("argon: error: --spec measures greedy decoding from an empty context");
        assertThat(specDepth.out()).isEmpty();
        CliRun tooLong = CliRun.of("bench", "-m", m, "-p", "100000", "-n", "0");
        assertThat(tooLong.exitCode()).isEqualTo(2);
        assertThat(tooLong.err()).startsWith("argon: error: a test of 100000 tokens (with its depth -d) is longer than the model's context length");
    }
}
