package dev.argon.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The byte-level BPE tokenizers whose GGUF vocabularies are too large for the fixtures, built from
 * their tokenizer files (vocab JSON parsed here with Jackson) plus the added tokens the real
 * models define. Built once per test run.
 */
final class BpeTestFiles {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static BpeTokenizer llama3;
    private static BpeTokenizer qwen2;

    private BpeTestFiles() {
    }

    /** Reads a {@code {"token": id, ...}} object with Jackson's streaming parser (much faster than data binding here). */
    static Map<String, Integer> vocabJson(Path p) {
        Map<String, Integer> out = new HashMap<>(200_000);
        try (JsonParser in = JSON.getFactory().createParser(p.toFile())) {
            if (in.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(p + ": expected a JSON object");
            }
            while (in.nextToken() == JsonToken.FIELD_NAME) {
                String token = in.currentName();
                in.nextToken();
                out.put(token, in.getIntValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Llama 3.2 ({@code encoder.json} + {@code vocab.bpe}) with Meta's 256 special tokens
     * 128000..128255 (tokenizer_config.json of Llama-3.2-1B): begin/end of text, header markers,
     * eom/eot, python tag, finetune pad, the rest reserved.
     */
    static synchronized BpeTokenizer llama3() throws IOException {
        if (llama3 == null) {
            Path dir = TestFiles.model("tokenizers/llama3.2/encoder.json").getParent();
            var b = BpeFiles.builder(vocabJson(dir.resolve("encoder.json")), BpeFiles.readMerges(dir.resolve("vocab.bpe")))
                    .source(dir.toString()).preTokenizer("llama-bpe");
            String[] named = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"};
            for (int i = 0; i < 256; i++) {
                String text = i < named.length ? named[i] : "<|reserved_special_token_" + (i - named.length + 3) + "|>";
                b.addedToken(128000 + i, text, true);
            }
            llama3 = b.bos(128000).eos(128009).build();
        }
        return llama3;
    }

    /**
     * Qwen2.5 ({@code vocab.json} + {@code merges.txt}) with its 22 added tokens 151643..151664
     * (tokenizer_config.json of Qwen2.5-0.5B); {@code <tool_call>} and {@code </tool_call>} are
     * not special there and do not look special, so they are user-defined.
     */
    static synchronized BpeTokenizer qwen2() throws IOException {
        if (qwen2 == null) {
            Path dir = TestFiles.model("tokenizers/qwen2/vocab.json").getParent();
            var b = BpeFiles.builder(vocabJson(dir.resolve("vocab.json")), BpeFiles.readMerges(dir.resolve("merges.txt")))
                    .source(dir.toString()).preTokenizer("qwen2");
            String[] added = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
                    "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"};
            for (int i = 0; i < added.length; i++) {
                b.addedToken(151643 + i, added[i], !added[i].contains("tool_call"));
            }
            qwen2 = b.bos(151643).eos(151643).build();
        }
        return qwen2;
    }
}
