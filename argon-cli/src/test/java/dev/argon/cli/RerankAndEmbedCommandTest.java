package dev.argon.cli;

import dev.argon.TestFiles;
import dev.argon.embed.Embedder;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.rerank.AttentionReranker;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code argon rerank} and {@code argon embed} print what the library computes; mistakes exit with 2. */
class RerankAndEmbedCommandTest {
    private static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    @Test
    void rerankAndEmbedPrintTheLibrarysNumbers() {
        String model = TestFiles.model(STORIES).toString();
        List<String> docs = List.of("Tom has a red ball.", "Lily eats apples.", "The cat sleeps.");
        CliRun r = CliRun.of("rerank", "-m", model, "-q", "What does Lily eat?", "--top-n", "2", docs.get(0), docs.get(1), docs.get(2));
        assertThat(r.exitCode()).as(r.err()).isZero();
        String[] lines = r.out().split("\n");
        assertThat(lines).hasSize(2);
        String[] e;
        try (LanguageModel m = Models.load(TestFiles.model(STORIES), new ModelOptions(2, true))) {
            List<AttentionReranker.Scored> expected = new AttentionReranker(m, KvCache.Precision.F16, 64).rank("What does Lily eat?", docs, 2);
            for (int i = 0; i < 2; i++) {
                AttentionReranker.Scored s = expected.get(i);
                assertThat(lines[i]).isEqualTo(String.format(Locale.ROOT, "%d\t%.6f\t%s", s.index(), s.score(), docs.get(s.index())));
            }
            float[] v = new Embedder(m, Embedder.Pooling.LAST, 64).embed("Once upon a time").vector();
            CliRun emb = CliRun.of("embed", "-m", model, "--pooling", "last", "Once upon a time");
            assertThat(emb.exitCode()).as(emb.err()).isZero();
            e = emb.out().trim().replace("[", "").replace("]", "").split(",");
            assertThat(e).hasSize(v.length);
            for (int i = 0; i < v.length; i++) {
                assertThat(Float.parseFloat(e[i])).isEqualTo(v[i]);
            }
        }
        CliRun bad = CliRun.of("embed", "-m", model, "--pooling", "max", "x");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).isEqualTo("argon: error: pooling 'max' is not supported; expected mean, cls or last\n"
                + "Try 'argon embed --help' for usage.\n");
        CliRun noQuery = CliRun.of("rerank", "-m", model, "doc");
        assertThat(noQuery.exitCode()).isEqualTo(2);
        assertThat(noQuery.err()).contains("--query");
    }
}
