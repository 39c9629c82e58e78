package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.model.LanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * OpenAI and llama.cpp semantics at the edges, on TinyLLama-v0 (Llama-2 vocabulary) with a
 * 128-token context: {@code top_p: 0}, {@code max_tokens: 0}, which of {@code max_tokens} and
 * {@code max_completion_tokens} wins, usage of a request that fills the context, and
 * SentencePiece detokenization.
 */
@Timeout(120)
class EdgeSemanticsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CTX = 128;
    private static final String CMPL = "/v1/completions";
    /** End of sequence in the Llama-2 vocabulary; banned with logit_bias so generations run to their limit. */
    private static final String NO_EOS = "\"logit_bias\":{\"2\":-100}";

    private static ServedModel served;
    private static LanguageModel model;

    @BeforeAll
    static void start() {
        served = new ServedModel("tinyllama-v0/TinyLLama-v0.Q4_0.gguf", 4, CTX, "TinyLLama-v0");
        model = served.model;
    }

    @AfterAll
    static void stop() {
        if (served != null) {
            served.close();
        }
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return served.post(path, body);
    }

    private static JsonNode ok(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static JsonNode error(HttpResponse<String> r, int status, String param) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("param").asText()).isEqualTo(param);
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        return e;
    }

    private static String text(JsonNode completion) {
        return completion.get("choices").get(0).get("text").asText();
    }

    @Test
    void topPZeroKeepsOnlyTheMostLikelyToken() throws Exception {
        String greedy = text(ok(post(CMPL, "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0}")));
        for (int seed = 1; seed <= 3; seed++) {
            String sampled = text(ok(post(CMPL, "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":1.5,"
                    + "\"top_k\":0,\"min_p\":0,\"top_p\":0,\"seed\":" + seed + "}")));
            assertThat(sampled).as("seed " + seed).isEqualTo(greedy);
        }
    }

    @Test
    void zeroTokensIsA400NamingTheParameter() throws Exception {
        assertThat(error(post(CMPL, "{\"prompt\":\"x\",\"max_tokens\":0}"), 400, "max_tokens").get("message").asText())
                .contains("max_tokens").contains("between 1 and");
        error(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_completion_tokens\":0}"),
                400, "max_completion_tokens");
        error(post(CMPL, "{\"prompt\":\"x\",\"max_tokens\":5,\"max_completion_tokens\":0}"), 400, "max_completion_tokens");
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokens() throws Exception {
        for (String limits : new String[]{"\"max_tokens\":2,\"max_completion_tokens\":5", "\"max_completion_tokens\":5,\"max_tokens\":2"}) {
            JsonNode r = ok(post(CMPL, "{\"prompt\":\"Once upon a time\",\"temperature\":0," + NO_EOS + "," + limits + "}"));
            assertThat(r.get("usage").get("completion_tokens").asInt()).as(limits).isEqualTo(5);
        }
        JsonNode alone = ok(post(CMPL, "{\"prompt\":\"Once upon a time\",\"temperature\":0," + NO_EOS + ",\"max_tokens\":3}"));
        assertThat(alone.get("usage").get("completion_tokens").asInt()).isEqualTo(3);
    }

    @Test
    void aRequestThatFillsTheContextUsesExactlyTheContext() throws Exception {
        int prompt = model.tokenizer().encode("Once upon a time", true, true).length;
        for (String extra : new String[]{"", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"}) {
            HttpResponse<String> r = post(CMPL, "{\"prompt\":\"Once upon a time\",\"max_tokens\":1000,\"temperature\":0,"
                    + NO_EOS + extra + "}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode usage = null;
            String finish = null;
            if (extra.isEmpty()) {
                JsonNode c = JSON.readTree(r.body());
                usage = c.get("usage");
                finish = c.get("choices").get(0).get("finish_reason").asText();
            } else {
                for (String line : r.body().split("\n")) {
                    if (!line.startsWith("data: {")) {
                        continue;
                    }
                    JsonNode chunk = JSON.readTree(line.substring(6));
                    if (chunk.hasNonNull("usage")) {
                        usage = chunk.get("usage");
                    }
                    JsonNode choices = chunk.get("choices");
                    if (choices != null && !choices.isEmpty() && choices.get(0).hasNonNull("finish_reason")) {
                        finish = choices.get(0).get("finish_reason").asText();
                    }
                }
            }
            assertThat(usage).as(r.body()).isNotNull();
            assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(prompt);
            assertThat(usage.get("completion_tokens").asInt()).isEqualTo(CTX - prompt);
            assertThat(usage.get("total_tokens").asInt()).isEqualTo(CTX);
            assertThat(finish).isEqualTo("length");
        }
        // a prompt one token short of the context leaves room for exactly one token
        String longPrompt = "Once upon a time".repeat(30);
        int n = model.tokenizer().encode(longPrompt, true, true).length;
        while (n < CTX - 1) {
            longPrompt += " a";
            n = model.tokenizer().encode(longPrompt, true, true).length;
        }
        assertThat(n).isEqualTo(CTX - 1);
        JsonNode filled = ok(post(CMPL, "{\"prompt\":\"" + longPrompt + "\",\"max_tokens\":1000,\"temperature\":0," + NO_EOS + "}"));
        assertThat(filled.get("usage").get("completion_tokens").asInt()).isEqualTo(1);
        assertThat(filled.get("usage").get("total_tokens").asInt()).isEqualTo(CTX);
    }

    @Test
    void detokenizeDropsTheSpacePrefixAsHuggingFaceDoes() throws Exception {
        // TinyLLama-v0 has OpenLLaMA's vocabulary: "▁Hello" is 16644 here (15043 in Llama-2's, see LlamaCppVocabTest)
        assertThat(model.tokenizer().piece(16644)).isEqualTo("▁Hello");
        assertThat(ok(post("/detokenize", "{\"tokens\":[16644]}")).get("content").asText()).isEqualTo("Hello");
        int[] ids = model.tokenizer().encode("Hello world", true, false);
        assertThat(ids[0]).isEqualTo(1); // BOS, shown as its text (llama.cpp's /detokenize, Hugging Face's decode)
        StringBuilder list = new StringBuilder();
        for (int id : ids) {
            list.append(list.isEmpty() ? "" : ",").append(id);
        }
        assertThat(ok(post("/detokenize", "{\"tokens\":[" + list + "]}")).get("content").asText()).isEqualTo("<s> Hello world");
        assertThat(ok(post("/detokenize", "{\"tokens\":[" + list.substring(2) + ",2]}")).get("content").asText())
                .isEqualTo("Hello world</s>");
        // a word-internal piece has no space to drop
        int[] joined = model.tokenizer().encode("Helloworld", false, false);
        int inner = joined[joined.length - 1];
        assertThat(model.tokenizer().piece(inner)).doesNotStartWith("▁");
        assertThat(ok(post("/detokenize", "{\"tokens\":[" + inner + "]}")).get("content").asText())
                .isEqualTo(model.tokenizer().decode(new int[]{inner}));
    }

    @Test
    void generatedTextKeepsItsLeadingSpace() throws Exception {
        // the output continues the prompt: its first word keeps its space, streamed or not
        String plain = text(ok(post(CMPL, "{\"prompt\":\"Once upon a\",\"max_tokens\":4,\"temperature\":0}")));
        assertThat(plain).startsWith(" ");
        HttpResponse<String> s = post(CMPL, "{\"prompt\":\"Once upon a\",\"max_tokens\":4,\"temperature\":0,\"stream\":true}");
        StringBuilder streamed = new StringBuilder();
        for (String line : s.body().split("\n")) {
            if (line.startsWith("data: {")) {
                streamed.append(JSON.readTree(line.substring(6)).get("choices").get(0).get("text").asText());
            }
        }
        assertThat(streamed.toString()).isEqualTo(plain);
    }
}
