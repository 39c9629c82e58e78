package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.argon.embed.Embedder;
import dev.argon.synth.ModelShape;
import dev.argon.synth.ModelSynthesizer;
import dev.argon.synth.SynthArch;
import dev.argon.synth.SynthOptions;
import dev.argon.synth.SynthType;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A server started on a BERT encoder (a small random-weight {@code bert} file with CLS pooling):
 * {@code /v1/embeddings} and {@code /api/embed} give the in-process {@link Embedder}'s vectors with
 * the file's pooling, LangChain4j's OpenAI embedding model reads them, and generation or re-ranking
 * requests are 400s that leave the server healthy.
 */
class BertServingTest {
    @TempDir
    static Path tmp;
    private static ServedModel served;

    @BeforeAll
    static void start() {
        Path p = tmp.resolve("bert.gguf");
        new ModelSynthesizer(new ModelShape("bert-test", 2, 64, 128, 4, 4, 300, 64, 10000f, 1e-12f, false), SynthType.F32,
                SynthOptions.of(SynthArch.BERT).withStd(0.08f, 0.08f, 0.1f).withPooling("cls")).write(p, 5, 1, null);
        served = new ServedModel(p, 2, 64, "bert-test");
    }

    @AfterAll
    static void stop() {
        if (served != null) {
            served.close();
        }
    }

    private static JsonNode ok(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.MAPPER.readTree(r.body());
    }

    @Test
    void embeddingsUseTheFilesPoolingAndEqualTheEmbedder() throws Exception {
        Embedder cls = new Embedder(served.model, null, 64);
        assertThat(cls.pooling()).isEqualTo(Embedder.Pooling.CLS);
        float[] a = cls.embed("the tea is hot").vector();
        float[] b = cls.embed("a cold day").vector();
        float[] mean = new Embedder(served.model, Embedder.Pooling.MEAN, 64).embed("the tea is hot").vector();
        assertThat(mean).isNotEqualTo(a);
        JsonNode out = ok(served.post("/v1/embeddings", "{\"model\":\"bert-test\",\"input\":[\"the tea is hot\",\"a cold day\"]}"));
        assertThat(out.get("data")).hasSize(2);
        JsonNode ollama = ok(served.post("/api/embed", "{\"model\":\"bert-test\",\"input\":[\"the tea is hot\",\"a cold day\"]}"));
        JsonNode meanOut = ok(served.post("/v1/embeddings", "{\"input\":\"the tea is hot\",\"pooling\":\"mean\"}"));
        for (int i = 0; i < a.length; i++) {
            assertThat((float) out.get("data").get(0).get("embedding").get(i).asDouble()).isEqualTo(a[i]);
            assertThat((float) out.get("data").get(1).get("embedding").get(i).asDouble()).isEqualTo(b[i]);
            assertThat((float) ollama.get("embeddings").get(0).get(i).asDouble()).isEqualTo(a[i]);
            assertThat((float) meanOut.get("data").get(0).get("embedding").get(i).asDouble()).isEqualTo(mean[i]);
        }
        OpenAiEmbeddingModel lc = OpenAiEmbeddingModel.builder().baseUrl(served.server.url() + "/v1").apiKey("none")
                .modelName("bert-test").timeout(Duration.ofSeconds(60)).maxRetries(0).build();
        Embedding e = lc.embed("the tea is hot").content();
        assertThat(e.vector()).hasSize(64);
        for (int i = 0; i < a.length; i++) {
            assertThat(e.vector()[i]).isCloseTo(a[i], within(1e-6f));
        }
    }

    @Test
    void generationAndRerankingAre400sAndTheServerStaysHealthy() throws Exception {
        HttpResponse<String> chat = served.post("/v1/chat/completions",
                "{\"model\":\"bert-test\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}");
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(400);
        assertThat(chat.body()).contains("embedding encoder").contains("/v1/embeddings");
        HttpResponse<String> completion = served.post("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":3}");
        assertThat(completion.statusCode()).as(completion.body()).isEqualTo(400);
        HttpResponse<String> rerank = served.post("/v1/rerank", "{\"query\":\"tea\",\"documents\":[\"hot tea\",\"cold day\"]}");
        assertThat(rerank.statusCode()).as(rerank.body()).isEqualTo(400);
        assertThat(rerank.body()).contains("re-ranking reads a decoder").contains("text encoder");
        ok(served.post("/v1/embeddings", "{\"input\":\"still here\"}"));
    }
}
