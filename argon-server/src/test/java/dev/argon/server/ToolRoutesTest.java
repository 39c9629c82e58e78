package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.argon.embed.Embedder;
import dev.argon.kv.KvCache;
import dev.argon.rerank.AttentionReranker;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code POST /v1/rerank} and {@code POST /v1/embeddings} end to end: the numbers equal the
 * in-process {@link AttentionReranker} and {@link Embedder}; the openai-java client and
 * LangChain4j's OpenAI embedding model read the embeddings; mistakes are 400 error objects.
 */
class ToolRoutesTest {
    private static final String ID = "stories260K";
    private static final List<String> DOCS = List.of("Tom has a big red ball.", "Lily likes to eat sweet apples.", "The cat sleeps on the mat.");
    private static ServedModel served;

    @BeforeAll
    static void start() {
        served = new ServedModel("tinyllamas/stories260K/stories260K.gguf", 4, 256, ID);
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
    void rerankReturnsTheIcrScoresBestFirst() throws Exception {
        String query = "What does Lily like to eat?";
        double[] expected = new AttentionReranker(served.model, KvCache.Precision.F16, 64).score(query, DOCS);
        JsonNode out = ok(served.post("/v1/rerank", "{\"model\":\"" + ID + "\",\"query\":\"" + query
                + "\",\"documents\":[\"Tom has a big red ball.\",{\"text\":\"Lily likes to eat sweet apples.\"},\"The cat sleeps on the mat.\"],"
                + "\"top_n\":2,\"return_documents\":true}"));
        assertThat(out.get("model").asText()).isEqualTo(ID);
        JsonNode results = out.get("results");
        assertThat(results).hasSize(2);
        double previous = Double.POSITIVE_INFINITY;
        for (JsonNode r : results) {
            int index = r.get("index").asInt();
            assertThat(r.get("relevance_score").asDouble()).isEqualTo(expected[index]).isLessThanOrEqualTo(previous);
            assertThat(r.get("document").get("text").asText()).isEqualTo(DOCS.get(index));
            previous = r.get("relevance_score").asDouble();
        }
        assertThat(out.get("usage").get("prompt_tokens").asInt()).isPositive();
        JsonNode all = ok(served.post("/rerank", "{\"query\":\"" + query + "\",\"documents\":[\"a\",\"b\",\"c\",\"d\"]}"));
        assertThat(all.get("results")).hasSize(4);
        assertThat(all.get("results").get(0).has("document")).isFalse();
    }

    @Test
    void rerankMistakesAre400s() throws Exception {
        for (String[] c : new String[][] {
                {"{\"documents\":[\"a\"]}", "'query'"},
                {"{\"query\":\"q\",\"documents\":[]}", "'documents' must be a non-empty array"},
                {"{\"query\":\"q\",\"documents\":[1]}", "'documents[0]' must be a string"},
                {"{\"query\":\"q\",\"documents\":[\"a\"],\"top_n\":0}", "'top_n'"},
                {"{\"query\":\"q\",\"documents\":[\"a\",\" \"]}", "document 1 is empty"},
                {"{\"query\":\"q\",\"documents\":[\"" + "word ".repeat(600) + "\"]}", "the server's context (-c) is 256"}}) {
            HttpResponse<String> r = served.post("/v1/rerank", c[0]);
            assertThat(r.statusCode()).as(c[0]).isEqualTo(400);
            assertThat(Json.MAPPER.readTree(r.body()).get("error").get("message").asText()).contains(c[1]);
        }
    }

    @Test
    void embeddingsEqualTheEmbedderInFloatAndBase64() throws Exception {
        float[] a = new Embedder(served.model, Embedder.Pooling.MEAN, 64).embed("Once upon a time").vector();
        float[] b = new Embedder(served.model, Embedder.Pooling.MEAN, 64).embed("The cat sat.").vector();
        JsonNode out = ok(served.post("/v1/embeddings", "{\"model\":\"" + ID + "\",\"input\":[\"Once upon a time\",\"The cat sat.\"]}"));
        assertThat(out.get("object").asText()).isEqualTo("list");
        JsonNode data = out.get("data");
        assertThat(data).hasSize(2);
        assertThat(data.get(1).get("index").asInt()).isEqualTo(1);
        for (int i = 0; i < a.length; i++) {
            assertThat((float) data.get(0).get("embedding").get(i).asDouble()).isEqualTo(a[i]);
            assertThat((float) data.get(1).get("embedding").get(i).asDouble()).isEqualTo(b[i]);
        }
        JsonNode b64 = ok(served.post("/embeddings", "{\"input\":\"Once upon a time\",\"encoding_format\":\"base64\"}"));
        ByteBuffer buf = ByteBuffer.wrap(Base64.getDecoder().decode(b64.get("data").get(0).get("embedding").asText())).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(buf.remaining()).isEqualTo(4 * a.length);
        for (float v : a) {
            assertThat(buf.getFloat()).isEqualTo(v);
        }
        float[] last = new Embedder(served.model, Embedder.Pooling.LAST, 64).embed("Once upon a time").vector();
        JsonNode lastOut = ok(served.post("/v1/embeddings", "{\"input\":\"Once upon a time\",\"pooling\":\"last\"}"));
        assertThat((float) lastOut.get("data").get(0).get("embedding").get(0).asDouble()).isEqualTo(last[0]);
        for (String[] c : new String[][] {{"{}", "'input'"}, {"{\"input\":[1,2]}", "token arrays"},
                {"{\"input\":\"x\",\"encoding_format\":\"hex\"}", "'encoding_format'"},
                {"{\"input\":\"" + "word ".repeat(300) + "\"}", "the server's context (-c) is 256"}, {"{\"input\":\"x\",\"pooling\":\"max\"}", "pooling 'max'"}}) {
            HttpResponse<String> r = served.post("/v1/embeddings", c[0]);
            assertThat(r.statusCode()).as(c[0]).isEqualTo(400);
            assertThat(Json.MAPPER.readTree(r.body()).get("error").get("message").asText()).contains(c[1]);
        }
    }

    @Test
    void ollamaEmbedReturnsTheSameMeanPooledVectors() throws Exception {
        float[] a = new Embedder(served.model, Embedder.Pooling.MEAN, 64).embed("Once upon a time").vector();
        float[] b = new Embedder(served.model, Embedder.Pooling.MEAN, 64).embed("The cat sat.").vector();
        JsonNode out = ok(served.post("/api/embed", "{\"model\":\"" + ID + "\",\"input\":[\"Once upon a time\",\"The cat sat.\"]}"));
        assertThat(out.get("embeddings")).hasSize(2);
        for (int i = 0; i < a.length; i++) {
            assertThat((float) out.get("embeddings").get(0).get(i).asDouble()).isEqualTo(a[i]);
            assertThat((float) out.get("embeddings").get(1).get(i).asDouble()).isEqualTo(b[i]);
        }
        assertThat(out.get("prompt_eval_count").asInt()).isPositive();
        HttpResponse<String> bad = served.post("/api/embed", "{\"input\":[1]}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(Json.MAPPER.readTree(bad.body()).get("error").asText()).contains("'input[0]' must be a string");
    }

    @Test
    void openAiJavaAndLangChain4jReadTheEmbeddings() {
        float[] expected = new Embedder(served.model, Embedder.Pooling.MEAN, 64).embed("Once upon a time").vector();
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(served.server.url() + "/v1").apiKey("none")
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        try {
            CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(ID).input("Once upon a time").build());
            List<Float> v = r.data().getFirst().embedding();
            assertThat(v).hasSize(expected.length);
            for (int i = 0; i < expected.length; i++) {
                assertThat(v.get(i)).isCloseTo(expected[i], within(1e-6f));
            }
        } finally {
            client.close();
        }
        OpenAiEmbeddingModel lc = OpenAiEmbeddingModel.builder().baseUrl(served.server.url() + "/v1").apiKey("none").modelName(ID)
                .timeout(Duration.ofSeconds(60)).maxRetries(0).build();
        Embedding e = lc.embed("Once upon a time").content();
        assertThat(e.vector()).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(e.vector()[i]).isCloseTo(expected[i], within(1e-6f));
        }
    }
}
