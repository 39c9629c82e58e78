package dev.argon.tokenizer;

import dev.argon.TestFiles;
import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufValueType;
import dev.argon.gguf.GgufWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes a vocabulary-only GGUF of Qwen2 ({@code tokenizers/qwen2} vocab.json + merges.txt and
 * the 22 added tokens 151643..151664: {@code <|endoftext|>}, {@code <|im_start|>},
 * {@code <|im_end|>}, ...) as llama.cpp's converter would, except that the special-token keys
 * are the caller's: the fixture set has no Qwen2 vocabulary GGUF (it is over 4 MiB).
 */
public final class Qwen2VocabGguf {
    private Qwen2VocabGguf() {
    }

    /**
     * @param target the file to write
     * @param extra further {@code tokenizer.ggml.*} entries: Long values are written as uint32,
     *     Boolean as bool, String as string
     * @return {@code target}
     */
    public static Path write(Path target, Map<String, Object> extra) {
        Path dir = TestFiles.model("tokenizers/qwen2/vocab.json").getParent();
        List<String> merges;
        try {
            merges = BpeFiles.readMerges(dir.resolve("merges.txt"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Integer> vocab = BpeTestFiles.vocabJson(dir.resolve("vocab.json"));
        String[] added = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
                "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"};
        String[] tokens = new String[151643 + added.length];
        int[] types = new int[tokens.length];
        Arrays.fill(types, Vocabulary.NORMAL);
        vocab.forEach((text, id) -> tokens[id] = text);
        for (int i = 0; i < added.length; i++) {
            tokens[151643 + i] = added[i];
            types[151643 + i] = added[i].contains("tool_call") ? Vocabulary.USER_DEFINED : Vocabulary.CONTROL;
        }
        GgufWriter w = new GgufWriter().putString("general.architecture", "qwen2")
                .putString("tokenizer.ggml.model", "gpt2").putString("tokenizer.ggml.pre", "qwen2")
                .putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, tokens))
                .putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, types))
                .putArray("tokenizer.ggml.merges", new GgufArray(GgufValueType.STRING, merges.toArray(String[]::new)));
        extra.forEach((k, v) -> {
            switch (v) {
                case Long l -> w.putUInt32(k, l);
                case Boolean b -> w.putBool(k, b);
                case String s -> w.putString(k, s);
                default -> throw new IllegalArgumentException(k + ": " + v);
            }
        });
        w.write(target);
        return target;
    }
}
