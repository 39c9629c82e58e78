package dev.argon.tokenizer;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;

/** Creates the {@link Tokenizer} a GGUF file's {@code tokenizer.ggml.model} names. */
public final class Tokenizers {
    /** The {@code tokenizer.ggml.model} values this build supports. */
    public static final String SUPPORTED = "\"llama\" (SentencePiece), \"gpt2\" (byte-level BPE), \"bert\" (WordPiece)";

    private Tokenizers() {
    }

    /**
     * Builds the tokenizer from GGUF metadata, as llama.cpp's vocabulary types: {@code "llama"}
     * (SentencePiece, {@link SentencePieceTokenizer}), {@code "gpt2"} (byte-level BPE with the
     * pre-tokenizer named by {@code tokenizer.ggml.pre}, {@link BpeTokenizer}) and {@code "bert"}
     * (WordPiece, {@link WordPieceTokenizer}).
     *
     * @throws ArgonException naming the file if the model key is missing or unsupported, the
     *     pre-tokenizer is unknown, or the token, score, type or merge arrays are missing or
     *     differ in length
     */
    public static Tokenizer fromGguf(GgufFile f) {
        String key = VocabularyLoader.MODEL;
        if (!f.has(key)) {
            throw new ArgonException(f.path() + ": metadata '" + key + "' is missing, so the file has no tokenizer"
                    + " (supported: " + SUPPORTED + ")");
        }
        String model = f.getString(key);
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(Vocabulary.fromGguf(f));
            case "gpt2" -> BpeTokenizer.fromGguf(f);
            case "bert" -> new WordPieceTokenizer(Vocabulary.fromGguf(f));
            default -> throw new ArgonException(f.path() + ": unknown tokenizer.ggml.model '" + model
                    + "' (supported: " + SUPPORTED + "; byte-level BPE pre-tokenizers: "
                    + String.join(", ", BpePreTokenizer.supportedNames()) + ")");
        };
    }
}
