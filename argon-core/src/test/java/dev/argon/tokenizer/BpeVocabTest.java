package dev.argon.tokenizer;

import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.argon.tokenizer.LlamaCppVocabTest.inputs;
import static dev.argon.tokenizer.LlamaCppVocabTest.outputs;
import static dev.argon.tokenizer.LlamaCppVocabTest.quote;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * llama.cpp's tokenizer test vectors (46 strings, no BOS, no special parsing) for the byte-level
 * BPE and WordPiece vocabularies: the GGUF files where the snapshot has them, otherwise the same
 * vocabulary built from its tokenizer files ({@link BpeTestFiles}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BpeVocabTest {
    private final Map<String, GgufFile> open = new HashMap<>();

    @AfterAll
    void close() {
        open.values().forEach(GgufFile::close);
    }

    private Tokenizer tokenizer(String vocab) throws IOException {
        return switch (vocab) {
            case "llama-bpe" -> BpeTestFiles.llama3();
            case "qwen2", "deepseek-r1-qwen" -> BpeTestFiles.qwen2();
            default -> Tokenizers.fromGguf(open.computeIfAbsent(vocab,
                    v -> GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-" + v + ".gguf"))));
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact", "starcoder", "bert-bge",
            "llama-bpe", "qwen2", "deepseek-r1-qwen"})
    void matchesLlamaCppTestVectors(String vocab) throws IOException {
        Tokenizer tok = tokenizer(vocab);
        String base = "llama-cpp-vocab/ggml-vocab-" + vocab + ".gguf";
        List<String> in = inputs(TestFiles.model(base + ".inp"));
        List<int[]> out = outputs(TestFiles.model(base + ".out"));
        assertThat(in).hasSize(46);
        assertThat(out).hasSize(46);
        for (int i = 0; i < in.size(); i++) {
            String s = in.get(i);
            assertThat(tok.encode(s, false, false)).as("%s #%d %s", vocab, i, quote(s)).containsExactly(out.get(i));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact", "starcoder"})
    void everyMergeOfTheFileIsUsable(String vocab) throws IOException {
        BpeTokenizer tok = (BpeTokenizer) tokenizer(vocab);
        GgufFile f = open.get(vocab);
        assertThat(tok.mergeCount()).isEqualTo(f.getArray("tokenizer.ggml.merges").size());
        assertThat(tok.preTokenizer().names()).contains(f.getString("tokenizer.ggml.pre"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact", "starcoder",
            "llama-bpe", "qwen2"})
    void decodeRestoresTheTextAlsoWhenStreamed(String vocab) throws IOException {
        Tokenizer tok = tokenizer(vocab);
        for (String s : inputs(TestFiles.model("llama-cpp-vocab/ggml-vocab-" + vocab + ".gguf.inp"))) {
            int[] ids = tok.encode(s, false, false);
            assertThat(tok.decode(ids)).as(quote(s)).isEqualTo(s);
            StreamingDecoder d = new StreamingDecoder(tok);
            StringBuilder streamed = new StringBuilder();
            for (int id : ids) {
                String part = d.append(id);
                assertThat(part).doesNotContain("\uFFFD");
                streamed.append(part);
            }
            assertThat(streamed.append(d.flush()).toString()).as(quote(s)).isEqualTo(s);
        }
    }

    @Test
    void gpt2SpecialsAndDecoding() throws IOException {
        Tokenizer tok = tokenizer("gpt-2");
        assertThat(tok).isInstanceOf(BpeTokenizer.class);
        assertThat(((BpeTokenizer) tok).preTokenizer()).isEqualTo(BpePreTokenizer.GPT2);
        assertThat(((BpeTokenizer) tok).mergeCount()).isEqualTo(50000);
        assertThat(tok.vocabSize()).isEqualTo(50257);
        assertThat(tok.bos()).isEqualTo(50256);
        assertThat(tok.eos()).isEqualTo(50256);
        assertThat(tok.isControl(50256)).isTrue();
        assertThat(tok.isEndOfGeneration(50256)).isTrue();
        assertThat(tok.tokenBytes(50256)).isEmpty();
        assertThat(tok.encode("Hello", true, false)).containsExactly(15496); // GPT-2 adds no BOS
        assertThat(tok.piece(tok.encode(" world", false, false)[0])).isEqualTo("Ġworld");
        assertThat(tok.tokenBytes(tok.encode(" world", false, false)[0])).isEqualTo(" world".getBytes(StandardCharsets.UTF_8));
        // the special token is plain text unless parsed
        assertThat(tok.encode("a<|endoftext|>b", false, true)).containsExactly(64, 50256, 65);
        assertThat(tok.encode("a<|endoftext|>b", false, false)).doesNotContain(50256).hasSizeGreaterThan(3);
        assertThat(tok.decode(tok.encode("a<|endoftext|>b", false, false))).isEqualTo("a<|endoftext|>b");
        assertThat(tok.decode(new int[] {64, 50256, 65})).isEqualTo("ab");
    }

    @Test
    void emojiSplitOverByteTokensStreamsWholeCharacters() throws IOException {
        Tokenizer tok = tokenizer("gpt-2");
        int[] ids = tok.encode("🦙", false, false);
        assertThat(ids.length).isGreaterThan(1); // no single token: its 4 UTF-8 bytes are split
        StreamingDecoder d = new StreamingDecoder(tok);
        StringBuilder parts = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            String p = d.append(ids[i]);
            assertThat(p).isEqualTo(i < ids.length - 1 ? "" : "🦙");
            parts.append(p);
        }
        assertThat(parts.toString() + d.flush()).isEqualTo("🦙");
    }

    @Test
    void userDefinedTokensAreMatchedBeforeBpeAndRenderAsText() throws IOException {
        Tokenizer tok = tokenizer("mpt"); // GPT-NeoX: runs of 2..24 spaces are user-defined tokens
        int three = ((BpeTokenizer) tok).vocabulary().id("   ");
        assertThat(tok.encode("a   b", false, false)).contains(three);
        assertThat(tok.decode(tok.encode("a   b", false, false))).isEqualTo("a   b");
        assertThat(tok.tokenBytes(three)).isEqualTo("   ".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void deepSeekAddsBosFromMetadata() throws IOException {
        Tokenizer tok = tokenizer("deepseek-coder");
        assertThat(tok.encode("Hello", true, false)[0]).isEqualTo(32013);
        assertThat(tok.piece(32013)).isEqualTo("<｜begin▁of▁sentence｜>");
        assertThat(tok.isEndOfGeneration(32014)).isTrue();
    }

    @Test
    void llama3SpecialsFromFiles() throws IOException {
        BpeTokenizer tok = BpeTestFiles.llama3();
        assertThat(tok.vocabSize()).isEqualTo(128256);
        assertThat(tok.mergeCount()).isEqualTo(280147); // every line of vocab.bpe
        assertThat(tok.encode("Hi", true, false)[0]).isEqualTo(128000); // Llama 3 adds BOS by default
        int[] chat = tok.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", false, true);
        assertThat(chat[0]).isEqualTo(128006);
        assertThat(chat[chat.length - 1]).isEqualTo(128009);
        assertThat(tok.isEndOfGeneration(128009)).isTrue();
        assertThat(tok.isEndOfGeneration(128008)).isTrue(); // <|eom_id|>
        assertThat(tok.encode("<|eot_id|>", false, false)).doesNotContain(128009);
        assertThat(tok.piece(128255)).isEqualTo("<|reserved_special_token_247|>");
    }

    @Test
    void qwen2SpecialsFromFiles() throws IOException {
        BpeTokenizer tok = BpeTestFiles.qwen2();
        assertThat(tok.vocabSize()).isEqualTo(151665);
        assertThat(tok.mergeCount()).isEqualTo(151387); // every line of merges.txt
        assertThat(tok.encode("Hi", true, false)).containsExactly(13048); // Qwen adds no BOS
        int[] ids = tok.encode("<|im_start|>user\nHi<|im_end|>", false, true);
        assertThat(ids[0]).isEqualTo(151644);
        assertThat(ids[ids.length - 1]).isEqualTo(151645);
        assertThat(tok.isEndOfGeneration(151645)).isTrue();
        assertThat(tok.isEndOfGeneration(151643)).isTrue();
        assertThat(tok.isEndOfGeneration(151662)).isTrue(); // <|fim_pad|>, as llama.cpp
        // <tool_call> is user-defined: matched even without special parsing, rendered as text
        assertThat(tok.encode("a<tool_call>b", false, false)).contains(151657);
        assertThat(tok.decode(tok.encode("a<tool_call>b", false, false))).isEqualTo("a<tool_call>b");
        assertThat(Arrays.stream(tok.encode("<|im_end|>", false, false)).boxed().toList()).doesNotContain(151645);
    }
}
