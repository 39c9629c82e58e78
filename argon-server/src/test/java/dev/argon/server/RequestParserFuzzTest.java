package dev.argon.server;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;

import java.util.Arrays;

/**
 * Fuzzes the server's request parsing without a server: a request body goes through
 * {@link Json#parseObject} and {@link RequestParser#parse} as {@code /v1/completions} or
 * {@code /v1/chat/completions} bodies would. The outcome must be a parsed request (whose prompt
 * fits the context) or an {@link ApiException} with status 400 (404 only for an unknown
 * {@code model}); any other exception would reach the client as a 500.
 *
 * <p>Input format: byte 0 chooses the route (bit 0: chat) and the model (bit 1: Phi-3's vocabulary
 * and chat template, else Llama 2's vocabulary with the Llama 2 fallback template); the rest is
 * the body. So {@code a{"messages":...}} is a chat request to the Llama 2 vocabulary and
 * {@code `{"prompt":...}} a completion. Regression inputs are in
 * {@code RequestParserFuzzTestInputs/parse} in the test resources; {@code tools/fuzz.sh request
 * SECONDS} fuzzes.
 */
class RequestParserFuzzTest {
    private static final int CONTEXT = 256;
    private static final RequestParser LLAMA2 = parser("ggml-vocab-llama-spm.gguf");
    private static final RequestParser PHI3 = parser("ggml-vocab-phi-3.gguf");

    private static RequestParser parser(String vocab) {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/" + vocab))) {
            Tokenizer t = Tokenizers.fromGguf(f);
            return new RequestParser(t, ChatTemplate.fromGguf(f, t), "model", CONTEXT);
        }
    }

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"model\"", "\"messages\"", "\"role\"", "\"content\"", "\"user\"", "\"system\"", "\"assistant\"",
            "\"tool\"", "\"developer\"", "\"prompt\"", "\"stream\"", "\"stream_options\"", "\"include_usage\"",
            "\"max_tokens\"", "\"max_completion_tokens\"", "\"temperature\"", "\"top_p\"", "\"top_k\"", "\"min_p\"",
            "\"repeat_penalty\"", "\"repeat_last_n\"", "\"presence_penalty\"", "\"frequency_penalty\"", "\"logit_bias\"",
            "\"seed\"", "\"stop\"", "\"n\"", "\"logprobs\"", "\"top_logprobs\"", "\"tool_calls\"", "\"tools\"",
            "\"tool_choice\"", "\"response_format\"", "\"type\"", "\"text\"", "\"echo\"", "\"suffix\"", "\"best_of\"",
            "\"name\"", "\"tool_call_id\"", "1e308", "-0.0", "9223372036854775808", "null", "true", "{{ 7*7 }}"})
    void parse(byte[] data) {
        int head = data.length == 0 ? 0 : data[0];
        boolean chat = (head & 1) != 0;
        RequestParser parser = (head & 2) != 0 ? PHI3 : LLAMA2;
        byte[] body = data.length == 0 ? data : Arrays.copyOfRange(data, 1, data.length);
        CompletionRequest req;
        try {
            ObjectNode json = Json.parseObject(body);
            req = parser.parse(json, chat);
        } catch (ApiException e) {
            boolean ok = e.status() == 400 || (e.status() == 404 && "model_not_found".equals(e.code()));
            if (!ok || e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionError("unexpected API error " + e.status() + " " + e.code() + ": " + e.getMessage(), e);
            }
            return;
        }
        if (req.promptIds().length == 0 || req.promptIds().length >= CONTEXT) {
            throw new AssertionError("accepted a prompt of " + req.promptIds().length + " tokens for a context of " + CONTEXT);
        }
        if (req.n() < 1 || req.n() > RequestParser.MAX_CHOICES) {
            throw new AssertionError("accepted n = " + req.n());
        }
    }
}
