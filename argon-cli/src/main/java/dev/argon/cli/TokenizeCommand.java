package dev.argon.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;

/**
 * {@code argon tokenize}: text to token ids with the model's tokenizer. Works on vocabulary-only
 * GGUF files too (no weights are loaded).
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Tokenize TEXT with the model's tokenizer; prints 'id -> piece' lines, or a JSON array with --ids.")
final class TokenizeCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--ids", description = "Print only the ids, as a JSON array on one line.")
    boolean idsOnly;

    @Option(names = "--no-bos", description = "Do not add BOS even if the model's metadata asks for it.")
    boolean noBos;

    @Option(names = "--parse-special", description = "Treat text such as <s> as the special token it names.")
    boolean parseSpecial;

    @Parameters(index = "0", paramLabel = "TEXT", description = "text to tokenize")
    String text;

    @Override
    public void run() {
        PrintStream out = parent.streams().out();
        try (GgufFile f = GgufFile.open(modelOption.resolve())) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            int[] ids = tok.encode(text, !noBos, parseSpecial);
            if (ids.length >= 2 && ids[0] == tok.bos() && ids[1] == tok.bos() && tok.bos() >= 0) {
                // llama.cpp warns the same way: the text's own BOS follows the one added for the model
                parent.streams().err().println("argon: warning: the text starts with a BOS token and one is added"
                        + " before it (two BOS); use --no-bos to keep only the text's");
            }
            if (idsOnly) {
                try {
                    out.println(new ObjectMapper().writeValueAsString(ids));
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
                return;
            }
            for (int id : ids) {
                out.printf("%6d -> '%s'%n", id, tok.piece(id));
            }
        }
    }
}
