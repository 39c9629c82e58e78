package dev.argon.tokenizer;

/**
 * Text to token ids and back, as the model's vocabulary defines it. Implementations follow
 * llama.cpp's {@code llama_vocab} behaviour so that prompts tokenize to exactly the ids
 * llama.cpp would feed the model.
 *
 * <p>Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {

    /**
     * Tokenizes text.
     *
     * @param text the input (may be empty)
     * @param addSpecial add BOS/EOS as the vocabulary's {@code add_bos_token}/{@code add_eos_token}
     *     flags say
     * @param parseSpecial recognise control tokens written in the text (such as {@code "<s>"});
     *     when false such text is tokenized as plain text. User-defined tokens are always
     *     recognised, as in llama.cpp.
     * @return the token ids
     */
    default int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        return encode(new PromptText(text, parseSpecial, null), addSpecial);
    }

    /**
     * Tokenizes a prompt whose control-token text is recognised only where it allows
     * ({@link PromptText}): a rendered chat prompt gets its role markers as control tokens and
     * the text of its messages as plain text.
     *
     * @param prompt the input and where control tokens may be recognised
     * @param addSpecial add BOS/EOS as the vocabulary's flags say
     * @return the token ids
     */
    int[] encode(PromptText prompt, boolean addSpecial);

    /**
     * @return the texts of the tokens that must not come from user text: control and unknown
     *     tokens, and BOS, EOS and end-of-generation tokens whatever their type (some vocabularies
     *     mark {@code </s>} user-defined, which llama.cpp always parses), longest first; empty
     *     when there are none
     */
    default java.util.List<String> specialTexts() {
        return java.util.List.of();
    }

    /**
     * @return the bytes this token contributes to output text: for SentencePiece '▁' (U+2581)
     *     becomes a space and byte tokens {@code <0xAB>} give that one byte; for byte-level BPE
     *     each character maps back through GPT-2's byte mapping (so a token may hold part of a
     *     UTF-8 character); control tokens give nothing, user-defined and unknown tokens their text
     */
    byte[] tokenBytes(int id);

    /** @return the vocabulary string of a token, for display */
    String piece(int id);

    /**
     * @return the UTF-8 decoding of the concatenated {@link #tokenBytes} of all ids (invalid
     *     sequences become U+FFFD); no leading space is stripped
     */
    String decode(int[] ids);

    /** @return the number of tokens in the vocabulary */
    int vocabSize();

    /** @return the beginning-of-sequence token id, or -1 if the vocabulary has none */
    int bos();

    /** @return the end-of-sequence token id, or -1 if the vocabulary has none */
    int eos();

    /** @return whether generating this token ends generation (EOS, EOT, EOM and similar) */
    boolean isEndOfGeneration(int id);

    /** @return whether this is a control token (such as BOS/EOS), which renders as nothing */
    boolean isControl(int id);

    /**
     * @return whether encoding prepends a space to the text (SentencePiece's
     *     {@code add_space_prefix}); decoding a text from its start then drops that space
     */
    default boolean addsSpacePrefix() {
        return false;
    }

    /**
     * Decodes ids as a text of their own, as Hugging Face's {@code decode} does: {@link #decode},
     * and when the vocabulary {@linkplain #addsSpacePrefix adds a space prefix} (SentencePiece)
     * the leading space that prefix put before the first word is dropped, so {@code [15043]}
     * ("▁Hello") is {@code Hello}. Control tokens render as nothing, so {@code [BOS, 15043]} is
     * {@code Hello} too.
     */
    default String decodeText(int[] ids) {
        return startOfText(decode(ids));
    }

    /**
     * The rule of {@link #decodeText} for text decoded piece by piece: {@code text} begins a text
     * (its first non-empty piece); returns it without the space prefix's leading space when the
     * vocabulary {@linkplain #addsSpacePrefix adds one}, else unchanged.
     */
    default String startOfText(String text) {
        return addsSpacePrefix() && text.startsWith(" ") ? text.substring(1) : text;
    }
}
