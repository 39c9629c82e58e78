package dev.argon.cli;

import dev.argon.embed.Embedder;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.util.List;

/** {@code argon embed}: the normalized embedding of each text, one JSON array per line. */
@Command(name = "embed", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Embed texts: the model's final hidden states pooled (--pooling) and L2-normalized, one JSON array per text and line.",
                "Works with decoders and BERT encoders (general.architecture bert: MiniLM, bge, e5)."})
final class EmbedCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "The texts to embed.")
    List<String> texts;

    @Option(names = "--pooling", paramLabel = "TYPE",
            description = "mean (all tokens), cls (the first) or last (the last token), as llama.cpp's --pooling"
                    + " (default: the model's bert.pooling_type for an encoder, mean for a decoder).")
    String pooling;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads (default: all cores).")
    Integer threads;

    @Override
    public void run() {
        Embedder.Pooling p = pooling == null ? null : Embedder.Pooling.parse(pooling);
        PrintStream out = parent.streams().out();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        try (LanguageModel model = Models.load(modelOption.resolve(), new ModelOptions(nThreads, true))) {
            Embedder e = new Embedder(model, p, 64);
            for (String t : texts) {
                float[] v = e.embed(t).vector();
                StringBuilder sb = new StringBuilder(v.length * 12).append('[');
                for (int i = 0; i < v.length; i++) {
                    sb.append(i > 0 ? "," : "").append(v[i]);
                }
                out.println(sb.append(']'));
            }
        }
    }
}
