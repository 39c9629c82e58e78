package dev.argon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.grammar.Grammar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code --grammar}, {@code --grammar-file}, {@code --json-schema(-file)} and {@code --json} on generate. */
class StructuredOutputCliTest {
    static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    @TempDir
    Path tmp;

    private static CliRun generate(String... extra) {
        String[] base = {"generate", "-m", TestFiles.model(STORIES).toString(), "-p", "Once upon a time", "-n", "120", "--temp", "0", "-t", "1"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CliRun.of(args);
    }

    @Test
    void grammarConstrainsTheOutput() throws Exception {
        String gbnf = "root ::= \" \" (\"yes\" | \"no\") \", \" [a-z]{2,8} \".\"\n";
        CliRun r = generate("--grammar", gbnf);
        assertThat(r.exitCode()).as(r.err()).isZero();
        String text = r.out().strip();
        assertThat(Grammar.parse(gbnf).matches(" " + text)).as(r.out()).isTrue();
        assertThat(r.err()).contains("finish: end_of_sequence");
        Path f = tmp.resolve("g.gbnf");
        Files.writeString(f, gbnf);
        assertThat(generate("--grammar-file", f.toString()).out()).isEqualTo(r.out());
    }

    @Test
    void jsonSchemaAndJsonGiveParsableJson() throws Exception {
        Path schema = tmp.resolve("s.json");
        Files.writeString(schema, "{\"type\": \"object\", \"properties\": {\"color\": {\"enum\": [\"red\", \"green\"]},"
                + " \"n\": {\"type\": \"integer\"}}, \"required\": [\"color\", \"n\"]}");
        CliRun r = generate("--json-schema-file", schema.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(r.out());
        assertThat(doc.get("color").asText()).isIn("red", "green");
        assertThat(doc.get("n").isIntegralNumber()).isTrue();
        CliRun j = generate("--json");
        assertThat(j.exitCode()).as(j.err()).isZero();
        assertThat(j.out().strip()).startsWith("{");
    }

    @Test
    void badGrammarsAndSchemasAreOneLineErrorsWithExitCode2() {
        CliRun r = generate("--grammar", "root ::= \"a\" | ( \"b\"\n");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).startsWith("argon: error: --grammar: grammar error at 2:1: expected ')' to close the group")
                .doesNotContain("\tat ");
        CliRun s = generate("--json-schema", "{\"type\": \"object\", \"patternProperties\": {}}");
        assertThat(s.exitCode()).isEqualTo(2);
        assertThat(s.err()).contains("--json-schema: JSON schema at #: keyword 'patternProperties' is not supported");
        CliRun j = generate("--json-schema", "{\"type\": ");
        assertThat(j.exitCode()).isEqualTo(2);
        assertThat(j.err()).contains("--json-schema: not valid JSON at line 1");
        CliRun trailing = generate("--json-schema", "{\"type\": \"object\"} trailing");
        assertThat(trailing.exitCode()).isEqualTo(2);
        assertThat(trailing.err()).contains("--json-schema: not valid JSON");
        CliRun both = generate("--json", "--grammar", "root ::= \"x\"");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("give one of --grammar, --json, not several");
    }
}
