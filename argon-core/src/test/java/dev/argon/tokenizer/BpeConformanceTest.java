package dev.argon.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hugging Face reference encodings (swift-transformers test resources, transformers 4.57.1) for
 * GPT-2 (against llama.cpp's {@code ggml-vocab-gpt-2.gguf}), Qwen2.5 and Llama 3.2 (against their
 * tokenizer files): the 83 multilingual conformance inputs and the long French paragraph.
 */
class BpeConformanceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DIR = "tokenizers/swift-transformers-tests/";

    private static Map<String, String> inputs() throws IOException {
        Map<String, String> texts = new HashMap<>();
        for (JsonNode in : JSON.readTree(TestFiles.model(DIR + "multilingual-conformance/inputs.json").toFile())) {
            texts.put(in.get("id").asText(), in.get("text").asText());
        }
        return texts;
    }

    /** @return the number of tokens checked */
    private static int checkMultilingual(Tokenizer tok, String baseline) throws IOException {
        Map<String, String> texts = inputs();
        JsonNode entries = JSON.readTree(TestFiles.model(DIR + "multilingual-conformance/" + baseline).toFile())
                .get("entries");
        assertThat(entries).hasSize(83);
        int tokens = 0;
        for (JsonNode e : entries) {
            String id = e.get("id").asText();
            String text = texts.get(id);
            assertThat(text).as(id).isNotNull();
            int[] actual = tok.encode(text, true, false);
            assertThat(actual).as("%s: %s", id, text).containsExactly(ids(e.get("input_ids")));
            for (int i = 0; i < actual.length; i++) {
                assertThat(tok.piece(actual[i])).as(id).isEqualTo(e.get("tokens").get(i).asText());
            }
            assertThat(tok.decode(actual)).as(id).isEqualTo(e.get("decoded_skip_special").asText()).isEqualTo(text);
            tokens += actual.length;
        }
        return tokens;
    }

    @Test
    void gpt2Multilingual() throws IOException {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-gpt-2.gguf"))) {
            assertThat(checkMultilingual(Tokenizers.fromGguf(f), "gpt2_multilingual.json")).isEqualTo(2907);
        }
    }

    @Test
    void qwen25Multilingual() throws IOException {
        assertThat(checkMultilingual(BpeTestFiles.qwen2(), "qwen2_5_multilingual.json")).isEqualTo(1966);
    }

    @Test
    void gpt2Encoded() throws IOException {
        JsonNode e = JSON.readTree(TestFiles.model(DIR + "gpt2_encoded_tokens.json").toFile());
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-gpt-2.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            int[] actual = tok.encode(e.get("text").asText(), true, false);
            assertThat(actual).containsExactly(ids(e.get("token_ids"))).hasSize(221);
            for (int i = 0; i < actual.length; i++) {
                assertThat(tok.piece(actual[i])).isEqualTo(e.get("bpe_tokens").get(i).asText());
            }
            assertThat(tok.decode(actual)).isEqualTo(e.get("decoded_text").asText());
        }
    }

    @Test
    void llama32Encoded() throws IOException {
        JsonNode e = JSON.readTree(TestFiles.model(DIR + "llama_3.2_encoded.json").toFile());
        Tokenizer tok = BpeTestFiles.llama3();
        String text = e.get("text").asText();
        int[] actual = tok.encode(text, true, false);
        assertThat(actual).containsExactly(ids(e.get("token_ids"))).hasSize(184); // BOS + 183 pieces
        for (int i = 1; i < actual.length; i++) {
            assertThat(tok.piece(actual[i])).isEqualTo(e.get("bpe_tokens").get(i - 1).asText());
        }
        assertThat(e.get("decoded_text").asText()).isEqualTo("<|begin_of_text|>" + text);
        assertThat(tok.decode(actual)).isEqualTo(text); // BOS is a control token and renders as nothing
    }

    private static int[] ids(JsonNode arr) {
        int[] r = new int[arr.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = arr.get(i).asInt();
        }
        return r;
    }
}
