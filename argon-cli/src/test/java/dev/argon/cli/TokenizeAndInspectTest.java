package dev.argon.cli;

import dev.argon.TestFiles;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TokenizeAndInspectTest {
    static final String SPM = "llama-cpp-vocab/ggml-vocab-llama-spm.gguf";

    @Test
    void tokenizeIdsAsJsonOnVocabularyOnlyFile() {
        CliRun r = CliRun.of("tokenize", "-m", TestFiles.model(SPM).toString(), "--ids", "Hello world");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("[1,15043,3186]" + System.lineSeparator());
    }

    @Test
    void tokenizeNoBosAndPieces() {
        CliRun r = CliRun.of("tokenize", "-m", TestFiles.model(SPM).toString(), "--no-bos", "Hello world");
        assertThat(r.out()).isEqualTo(" 15043 -> '▁Hello'" + System.lineSeparator() + "  3186 -> '▁world'" + System.lineSeparator());
    }

    @Test
    void specialTokenTextIsPlainUnlessParseSpecial() {
        String m = TestFiles.model(SPM).toString();
        CliRun plain = CliRun.of("tokenize", "-m", m, "--ids", "--no-bos", "<s>");
        CliRun special = CliRun.of("tokenize", "-m", m, "--ids", "--no-bos", "--parse-special", "<s>");
        assertThat(special.out().trim()).isEqualTo("[1]");
        assertThat(plain.out().trim()).isNotEqualTo("[1]").doesNotContain("[1,").startsWith("[");
    }

    @Test
    void inspectShowsMetadataAndTensorTable() {
        CliRun r = CliRun.of("inspect", TestFiles.model("tinyllamas/stories260K/stories260K.gguf").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("GGUF version 3").contains("general.architecture").contains("\"llama\"")
                .contains("token_embd.weight").contains("[64, 512]").contains("131072");
    }

    @Test
    void inspectVocabularyOnlyFile() {
        CliRun r = CliRun.of("inspect", TestFiles.model(SPM).toString());
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("0 tensors").contains("tokenizer.ggml.tokens");
    }
}
