package dev.argon.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hugging Face reference encodings of the Llama-2 SentencePiece tokenizer (swift-transformers test
 * resources: TinyLlama multilingual conformance baselines and {@code llama_encoded.json}) against
 * llama.cpp's {@code ggml-vocab-llama-spm.gguf}, with BOS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConformanceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private GgufFile file;
    private Tokenizer tok;

    @BeforeAll
    void open() {
        file = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-llama-spm.gguf"));
        tok = Tokenizers.fromGguf(file);
    }

    @AfterAll
    void close() {
        if (file != null) {
            file.close();
        }
    }

    @Test
    void tinyLlamaMultilingual() throws IOException {
        String dir = "tokenizers/swift-transformers-tests/multilingual-conformance/";
        Map<String, String> texts = new HashMap<>();
        for (JsonNode in : JSON.readTree(TestFiles.model(dir + "inputs.json").toFile())) {
            texts.put(in.get("id").asText(), in.get("text").asText());
        }
        JsonNode entries = JSON.readTree(TestFiles.model(dir + "tinyllama_multilingual.json").toFile()).get("entries");
        assertThat(entries).hasSize(83);
        int tokens = 0;
        for (JsonNode e : entries) {
            String id = e.get("id").asText();
            String text = texts.get(id);
            assertThat(text).as(id).isNotNull();
            int[] expected = ids(e.get("input_ids"));
            int[] actual = tok.encode(text, true, false);
            assertThat(actual).as("%s: %s", id, text).containsExactly(expected);
            // HF decode(skip_special_tokens) drops the prefix space; ours keeps it
            assertThat(tok.decode(actual)).as(id).isEqualTo(" " + text);
            tokens += actual.length;
        }
        assertThat(tokens).isEqualTo(2606); // MANIFEST: 2606 token/id pairs, BOS included
    }

    @Test
    void llamaEncoded() throws IOException {
        JsonNode e = JSON.readTree(TestFiles.model("tokenizers/swift-transformers-tests/llama_encoded.json").toFile());
        String text = e.get("text").asText();
        int[] expected = ids(e.get("token_ids"));
        int[] actual = tok.encode(text, true, false);
        assertThat(actual).containsExactly(expected);
        assertThat(actual).hasSize(194); // BOS + 193 pieces
        for (int i = 0; i < actual.length; i++) {
            assertThat(tok.piece(actual[i])).isEqualTo(i == 0 ? "<s>" : e.get("bpe_tokens").get(i - 1).asText());
        }
        assertThat(tok.decode(actual)).isEqualTo(" " + text);
    }

    private static int[] ids(JsonNode arr) {
        int[] r = new int[arr.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = arr.get(i).asInt();
        }
        return r;
    }
}
