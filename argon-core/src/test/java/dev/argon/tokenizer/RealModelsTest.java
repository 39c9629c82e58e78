package dev.argon.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufValueType;
import dev.argon.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tokenizers embedded in the real test models, special-token parsing and load errors. */
class RealModelsTest {

    @Test
    void stories260K() {
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(tok.vocabSize()).isEqualTo(512);
            assertThat(tok.encode("Once upon a time", true, false)).containsExactly(1, 403, 407, 261, 378);
            assertThat(tok.encode("Lily and Tom", true, false)).containsExactly(1, 317, 269, 274, 287);
            assertThat(tok.decode(tok.encode("Once upon a time", true, false))).isEqualTo(" Once upon a time");
        }
    }

    @Test
    void tinyLlamaV0() {
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(tok.vocabSize()).isEqualTo(32000);
            assertThat(tok.encode("Once upon a time", true, false)).containsExactly(1, 4612, 2619, 260, 647);
            assertThat(tok.encode("Lily and Tom", true, false)).containsExactly(1, 21075, 291, 3836);
            assertThat(tok.isEndOfGeneration(tok.eos())).isTrue();
        }
    }

    @ParameterizedTest
    @CsvSource({"tinyllama-v0/TinyLLama-v0.Q4_0.gguf, TinyLLama-v0.Q4_0.llama-cpp-greedy.json",
            "tinyllamas/stories260K/stories260K.gguf, stories260K.llama-cpp-greedy.json"})
    void promptsTokenizeLikeLlamaCppServer(String model, String reference) throws IOException {
        JsonNode cases = new ObjectMapper().readTree(TestFiles.reference(reference).toFile()).get("cases");
        assertThat(cases).isNotEmpty();
        try (GgufFile f = GgufFile.open(TestFiles.model(model))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            for (JsonNode c : cases) {
                String prompt = c.get("prompt").asText();
                int[] expected = new ObjectMapper().convertValue(c.get("prompt_token_ids"), int[].class);
                assertThat(tok.encode(prompt, true, false)).as(prompt).containsExactly(expected);
                int[] generated = new ObjectMapper().convertValue(c.get("generated_token_ids"), int[].class);
                StreamingDecoder d = new StreamingDecoder(tok);
                StringBuilder text = new StringBuilder();
                for (int id : generated) {
                    text.append(d.append(id));
                }
                assertThat(text.append(d.flush()).toString()).isEqualTo(tok.decode(generated)).doesNotContain("\uFFFD");
            }
        }
    }

    @Test
    void parseSpecialMatchesControlTokensOnlyWhenAsked() {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-llama-spm.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            int[] hello = tok.encode("hello", false, false);

            int[] parsed = tok.encode("<s>hello", false, true);
            assertThat(parsed[0]).isEqualTo(1);
            // text after a special token gets the space prefix, as at the start of the input
            assertThat(Arrays.copyOfRange(parsed, 1, parsed.length)).containsExactly(hello);
            assertThat(tok.encode("<s>hello", true, true)).startsWith(1, 1);

            int[] plain = tok.encode("<s>hello", false, false);
            assertThat(plain).doesNotContain(1);
            assertThat(Arrays.stream(plain).mapToObj(tok::piece)).containsExactly("▁<", "s", ">", "hello");
            assertThat(tok.decode(plain)).isEqualTo(" <s>hello");

            // control tokens in the middle of text; the following text gets the prefix space
            int[] mid = tok.encode("a</s>b", false, true);
            assertThat(Arrays.stream(mid).mapToObj(tok::piece)).containsExactly("▁a", "</s>", "▁b");
            assertThat(tok.decode(mid)).isEqualTo(" a b");
        }
    }

    @Test
    void eachTokenizerModelGetsItsTokenizer() {
        for (String[] c : new String[][] {{"gpt-2", "BpeTokenizer"}, {"bert-bge", "WordPieceTokenizer"},
                {"llama-spm", "SentencePieceTokenizer"}}) {
            try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-" + c[0] + ".gguf"))) {
                assertThat(Tokenizers.fromGguf(f).getClass().getSimpleName()).isEqualTo(c[1]);
            }
        }
    }

    @Test
    void missingOrMismatchedArraysAreReported(@TempDir Path dir) {
        String[] tokens = {"<unk>", "<s>", "</s>", "▁a"};
        GgufArray toks = new GgufArray(GgufValueType.STRING, tokens);
        GgufArray scores = new GgufArray(GgufValueType.FLOAT32, new float[] {0, 0, 0, -1});
        GgufArray types = new GgufArray(GgufValueType.INT32, new int[] {2, 3, 3, 1});

        Path noScores = dir.resolve("no-scores.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "llama").putArray("tokenizer.ggml.tokens", toks)
                .putArray("tokenizer.ggml.token_type", types).write(noScores);
        expectError(noScores, "tokenizer.ggml.scores", "missing");

        Path shortTypes = dir.resolve("short-types.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "llama").putArray("tokenizer.ggml.tokens", toks)
                .putArray("tokenizer.ggml.scores", scores)
                .putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, new int[] {2, 3, 3}))
                .write(shortTypes);
        expectError(shortTypes, "tokenizer.ggml.token_type", "3 entries");

        Path noModel = dir.resolve("no-model.gguf");
        new GgufWriter().putArray("tokenizer.ggml.tokens", toks).write(noModel);
        expectError(noModel, "tokenizer.ggml.model", "missing");

        Path ok = dir.resolve("ok.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "llama").putArray("tokenizer.ggml.tokens", toks)
                .putArray("tokenizer.ggml.scores", scores).putArray("tokenizer.ggml.token_type", types)
                .putBool("tokenizer.ggml.add_eos_token", true).write(ok);
        try (GgufFile f = GgufFile.open(ok)) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(tok.encode("a", true, false)).containsExactly(1, 3, 2); // defaults: BOS 1, EOS 2
        }
    }

    private static void expectError(Path p, String... parts) {
        try (GgufFile f = GgufFile.open(p)) {
            var a = assertThatThrownBy(() -> Tokenizers.fromGguf(f)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining(p.toString());
            for (String s : parts) {
                a.hasMessageContaining(s);
            }
        }
    }
}
