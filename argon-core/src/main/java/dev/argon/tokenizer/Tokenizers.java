package dev.argon.tokenizer;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;

/** Creates the {@link Tokenizer} a GGUF file's {@code tokenizer.ggml.model} names. */
public final class Tokenizers {
    /** The {@code tokenizer.ggml.model} values this build supports. */
    public static final String SUPPORTED = "\"llama\" (SentencePiece)";

    private Tokenizers() {
    }

    /**
     * Builds the tokenizer from GGUF metadata. Supported: {@code "llama"} (SentencePiece, as in
     * llama.cpp's SPM vocabulary type); {@code "gpt2"} (byte-level BPE) and {@code "bert"}
     * (WordPiece) are not supported yet.
     *
     * @throws ArgonException naming the file if the model key is missing or unsupported, or the
     *     token, score or type arrays are missing or differ in length
     */
    public static Tokenizer fromGguf(GgufFile f) {
        String key = "tokenizer.ggml.model";
        if (!f.has(key)) {
            throw new ArgonException(f.path() + ": metadata '" + key + "' is missing, so the file has no tokenizer"
                    + " (supported: " + SUPPORTED + ")");
        }
        String model = f.getString(key);
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(Vocabulary.fromGguf(f));
            case "gpt2", "bert" -> throw new ArgonException(f.path() + ": tokenizer.ggml.model '" + model
                    + "' is not supported yet (supported: " + SUPPORTED + ")");
            default -> throw new ArgonException(f.path() + ": unknown tokenizer.ggml.model '" + model
                    + "' (supported: " + SUPPORTED + ")");
        };
    }
}
