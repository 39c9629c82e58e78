package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.rerank.AttentionReranker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/** {@code argon rerank}: orders documents by relevance to a query with attention-based re-ranking (ICR). */
@Command(name = "rerank", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Rank documents by relevance to a query: the attention the query pays to each document (in-context re-ranking, ICR),",
                "calibrated with the content-free query \"N/A\". Prints one line per document, best first: INDEX<TAB>SCORE<TAB>DOCUMENT."})
final class RerankCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Option(names = {"-q", "--query"}, paramLabel = "TEXT", required = true, description = "The query.")
    String query;

    @Parameters(paramLabel = "DOC", arity = "1..*", description = "The documents (0-based INDEX in the output is their order here).")
    List<String> documents;

    @Option(names = "--top-n", paramLabel = "N", defaultValue = "0", description = "Print only the best N (default: all).")
    int topN;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads (default: all cores).")
    Integer threads;

    @Override
    public void run() {
        if (topN < 0) {
            throw new ArgonException("--top-n is " + topN + "; expected 0 (all) or more");
        }
        PrintStream out = parent.streams().out();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        try (LanguageModel model = Models.load(modelOption.resolve(), new ModelOptions(nThreads, true))) {
            AttentionReranker r = new AttentionReranker(model, KvCache.Precision.F16, 64);
            for (AttentionReranker.Scored s : r.rank(query, documents, topN)) {
                out.printf(Locale.ROOT, "%d\t%.6f\t%s%n", s.index(), s.score(), documents.get(s.index()).replace('\n', ' '));
            }
        }
    }
}
