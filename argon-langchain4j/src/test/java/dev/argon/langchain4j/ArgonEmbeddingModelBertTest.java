package dev.argon.langchain4j;

import dev.argon.chat.ArgonLocalModel;
import dev.argon.chat.ChatTemplate;
import dev.argon.embed.Embedder;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.synth.ModelShape;
import dev.argon.synth.ModelSynthesizer;
import dev.argon.synth.SynthArch;
import dev.argon.synth.SynthOptions;
import dev.argon.synth.SynthType;
import dev.langchain4j.data.segment.TextSegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** LangChain4j's in-process {@link ArgonEmbeddingModel} over a BERT encoder: the {@link Embedder}'s vectors, the file's pooling. */
class ArgonEmbeddingModelBertTest {
    @TempDir
    Path tmp;

    @Test
    void bertEmbeddingsInProcess() {
        Path p = tmp.resolve("bert.gguf");
        new ModelSynthesizer(new ModelShape("bert-test", 2, 64, 128, 4, 4, 300, 64, 10000f, 1e-12f, false), SynthType.F32,
                SynthOptions.of(SynthArch.BERT).withStd(0.08f, 0.08f, 0.1f)).write(p, 8, 1, null);
        try (LanguageModel m = Models.load(p, 1); GgufFile f = GgufFile.open(p)) {
            ArgonLocalModel local = ArgonLocalModel.of(m, ChatTemplate.fromGguf(f, m.tokenizer()), 64, KvCache.Precision.F32);
            ArgonEmbeddingModel em = new ArgonEmbeddingModel(local);
            assertThat(em.dimension()).isEqualTo(64);
            var r = em.embedAll(List.of(TextSegment.from("the tea is hot"), TextSegment.from("a cold day")));
            Embedder mean = new Embedder(m, Embedder.Pooling.MEAN, 64);
            assertThat(r.content().get(0).vector()).isEqualTo(mean.embed("the tea is hot").vector());
            assertThat(r.content().get(1).vector()).isEqualTo(mean.embed("a cold day").vector());
            assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(mean.embed("the tea is hot").tokens() + mean.embed("a cold day").tokens());
        }
    }
}
