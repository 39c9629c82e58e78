package dev.argon.tokenizer;

import dev.argon.ArgonException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds a {@link BpeTokenizer} from the files byte-level BPE models ship instead of a GGUF:
 * OpenAI's {@code encoder.json} + {@code vocab.bpe} (GPT-2) or Hugging Face's {@code vocab.json}
 * + {@code merges.txt}, plus the added special tokens that live in {@code tokenizer.json} /
 * {@code tokenizer_config.json}. The vocabulary JSON (a {@code {"token": id}} object) is parsed by
 * the caller; this class reads the merges and assembles the vocabulary with the same special-token
 * rules as a GGUF (llama.cpp's end-of-generation detection, BOS/EOS defaults).
 *
 * <pre>{@code
 * BpeTokenizer t = BpeFiles.builder(vocab, BpeFiles.readMerges(mergesTxt))
 *         .preTokenizer("qwen2")
 *         .addedToken(151643, "<|endoftext|>", true)
 *         .build();
 * }</pre>
 */
public final class BpeFiles {
    private BpeFiles() {
    }

    /**
     * Reads a merges file: one {@code "left right"} pair per line in rank order; a first line
     * starting with {@code "#version"} and empty lines are skipped.
     */
    public static List<String> readMerges(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            out.add(line);
        }
        return out;
    }

    /**
     * @param vocab token (in GPT-2's byte alphabet) to id, as in {@code vocab.json}/{@code encoder.json}
     * @param merges the merge lines in rank order ({@link #readMerges})
     */
    public static Builder builder(Map<String, Integer> vocab, List<String> merges) {
        return new Builder(vocab, merges);
    }

    /** Collects the settings of a file-based BPE tokenizer. */
    public static final class Builder {
        private final Map<String, Integer> vocab;
        private final List<String> merges;
        private final Map<Integer, String> added = new TreeMap<>();
        private final Map<Integer, Boolean> addedSpecial = new HashMap<>();
        private final Map<String, Object> meta = new HashMap<>();
        private String source = "BPE tokenizer files";

        private Builder(Map<String, Integer> vocab, List<String> merges) {
            this.vocab = vocab;
            this.merges = merges;
            meta.put(VocabularyLoader.PRE, "default");
        }

        /** @param description names the files in error messages */
        public Builder source(String description) {
            this.source = description;
            return this;
        }

        /**
         * @param name a {@code tokenizer.ggml.pre} value such as "gpt-2", "llama-bpe" or "qwen2"
         * @throws ArgonException if the name is not a supported pre-tokenizer
         */
        public Builder preTokenizer(String name) {
            if (BpePreTokenizer.forName(name) == null) {
                throw new ArgonException(source + ": unknown pre-tokenizer '" + name + "' (supported: "
                        + String.join(", ", BpePreTokenizer.supportedNames()) + ")");
            }
            meta.put(VocabularyLoader.PRE, name);
            return this;
        }

        /**
         * Adds (or re-types) a token outside the merges: {@code special} ones become control
         * tokens (matched in text only when parsing specials, rendered as nothing), the others
         * user-defined tokens (always matched, rendered as their text), as llama.cpp's converter
         * types them.
         */
        public Builder addedToken(int id, String text, boolean special) {
            if (id < 0 || text.isEmpty()) {
                throw new IllegalArgumentException("added token needs an id >= 0 and text: " + id + " '" + text + "'");
            }
            added.put(id, text);
            addedSpecial.put(id, special);
            return this;
        }

        /** @param id the BOS token (default: none; llama.cpp would take id 11) */
        public Builder bos(int id) {
            meta.put("tokenizer.ggml.bos_token_id", (long) id);
            return this;
        }

        /** @param id the EOS token (default as for BOS) */
        public Builder eos(int id) {
            meta.put("tokenizer.ggml.eos_token_id", (long) id);
            return this;
        }

        /**
         * @param add whether encoding with special tokens adds BOS (default: the pre-tokenizer's, true for
         *     Llama 3); nothing is added when there is no BOS token
         */
        public Builder addBos(boolean add) {
            meta.put("tokenizer.ggml.add_bos_token", add);
            return this;
        }

        /** @param add whether encoding with special tokens adds EOS (default false) */
        public Builder addEos(boolean add) {
            meta.put("tokenizer.ggml.add_eos_token", add);
            return this;
        }

        /** @throws IllegalArgumentException if an id in the vocabulary is negative */
        public BpeTokenizer build() {
            int n = 0;
            for (Map.Entry<String, Integer> e : vocab.entrySet()) {
                if (e.getValue() < 0) {
                    throw new IllegalArgumentException("negative id for token '" + e.getKey() + "'");
                }
                n = Math.max(n, e.getValue() + 1);
            }
            for (int id : added.keySet()) {
                n = Math.max(n, id + 1);
            }
            String[] tokens = new String[n];
            int[] types = new int[n];
            Arrays.fill(tokens, "");
            Arrays.fill(types, Vocabulary.UNUSED); // ids nobody names stay empty and unused
            vocab.forEach((text, id) -> {
                tokens[id] = text;
                types[id] = Vocabulary.NORMAL;
            });
            added.forEach((id, text) -> {
                tokens[id] = text;
                types[id] = addedSpecial.get(id) ? Vocabulary.CONTROL : Vocabulary.USER_DEFINED;
            });
            String preName = (String) meta.get(VocabularyLoader.PRE);
            Vocabulary v = VocabularyLoader.fromArrays(VocabularyLoader.Meta.of(source, meta), "gpt2", tokens, types);
            return new BpeTokenizer(v, merges.toArray(String[]::new), BpePreTokenizer.forName(preName));
        }
    }
}
