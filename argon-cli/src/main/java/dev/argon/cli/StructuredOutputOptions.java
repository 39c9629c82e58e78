package dev.argon.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.ArgonException;
import dev.argon.generate.TokenConstraint;
import dev.argon.grammar.Grammar;
import dev.argon.grammar.GrammarConstraint;
import dev.argon.grammar.GrammarException;
import dev.argon.grammar.JsonGrammar;
import dev.argon.grammar.JsonSchemaGrammar;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Options that constrain generated text (llama.cpp's names): {@code --grammar},
 * {@code --grammar-file} (GBNF), {@code --json-schema}, {@code --json-schema-file}, and
 * {@code --json} for any JSON object. At most one of them.
 */
final class StructuredOutputOptions {
    @Option(names = "--grammar", paramLabel = "GBNF", description = "Constrain the output to this GBNF grammar (llama.cpp's format; generation starts at rule root).")
    String grammar;

    @Option(names = "--grammar-file", paramLabel = "FILE", description = "Read the GBNF grammar from a file.")
    Path grammarFile;

    @Option(names = {"-j", "--json-schema"}, paramLabel = "SCHEMA", description = "Constrain the output to JSON valid against this JSON Schema.")
    String jsonSchema;

    @Option(names = "--json-schema-file", paramLabel = "FILE", description = "Read the JSON Schema from a file.")
    Path jsonSchemaFile;

    @Option(names = "--json", description = "Constrain the output to a JSON object.")
    boolean json;

    /**
     * @return the constraint the options ask for, or null for none
     * @throws ArgonException if more than one is given, a file cannot be read, or the grammar or
     *     schema is invalid (the message names the flag and the place)
     */
    TokenConstraint.Factory constraint() {
        List<String> given = new ArrayList<>();
        if (grammar != null) {
            given.add("--grammar");
        }
        if (grammarFile != null) {
            given.add("--grammar-file");
        }
        if (jsonSchema != null) {
            given.add("--json-schema");
        }
        if (jsonSchemaFile != null) {
            given.add("--json-schema-file");
        }
        if (json) {
            given.add("--json");
        }
        if (given.isEmpty()) {
            return null;
        }
        if (given.size() > 1) {
            throw new ArgonException("give one of " + String.join(", ", given) + ", not several");
        }
        String flag = given.getFirst();
        try {
            Grammar g;
            if (json) {
                g = JsonGrammar.object();
            } else if (grammar != null || grammarFile != null) {
                g = Grammar.parse(grammar != null ? grammar : TextFiles.readUtf8(grammarFile, "grammar file"));
            } else {
                String text = jsonSchema != null ? jsonSchema : TextFiles.readUtf8(jsonSchemaFile, "JSON schema file");
                Object schema;
                try {
                    schema = new ObjectMapper().enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                            .readValue(text, Object.class);
                } catch (JsonProcessingException e) {
                    throw new ArgonException(flag + ": not valid JSON" + (e.getLocation() == null ? "" : " at line "
                            + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()) + ": " + e.getOriginalMessage());
                }
                g = JsonSchemaGrammar.compile(schema);
            }
            return GrammarConstraint.factory(g);
        } catch (GrammarException e) {
            String source = grammarFile != null ? grammarFile.toString() : jsonSchemaFile != null ? jsonSchemaFile.toString() : flag;
            throw new ArgonException(source + ": " + e.getMessage());
        }
    }
}
