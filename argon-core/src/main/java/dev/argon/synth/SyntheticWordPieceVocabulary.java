package dev.argon.synth;

import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufValueType;
import dev.argon.gguf.GgufWriter;

/**
 * A made-up but valid WordPiece vocabulary ({@code tokenizer.ggml.model = "bert"}) of any size from
 * {@link ModelShape#MIN_VOCAB}, laid out like BERT's uncased vocabulary and spelled as llama.cpp's
 * converter writes it (word-initial pieces with a {@code '▁'} prefix, continuations plain):
 * {@code [PAD]} (id 0), {@code [unused0..98]} (1..99), {@code [UNK]} (100), {@code [CLS]} (101),
 * {@code [SEP]} (102), {@code [MASK]} (103), then every single character of the alphabet below as a
 * word start and as a continuation, then longer pieces over the letters in order of length. Any
 * lower-case ASCII word therefore splits into pieces; other characters become {@code [UNK]}.
 *
 * @param tokens the token texts
 * @param types one GGUF token type per token
 */
public record SyntheticWordPieceVocabulary(String[] tokens, int[] types) {
    /** BERT's ids of the special tokens. */
    public static final int PAD = 0;
    public static final int UNK = 100;
    public static final int CLS = 101;
    public static final int SEP = 102;
    public static final int MASK = 103;

    private static final String CHARS = "etaoinshrdlcumwfgypbvkjxqz0123456789.,!?'\"-:;()";
    private static final String LETTERS = "etaoinshrdlcumwfgypbvkjxqz";
    private static final String WORD_START = "\u2581";

    /**
     * Builds a vocabulary of exactly {@code size} tokens.
     *
     * @throws IllegalArgumentException if {@code size < ModelShape.MIN_VOCAB}
     */
    public static SyntheticWordPieceVocabulary of(int size) {
        if (size < ModelShape.MIN_VOCAB) {
            throw new IllegalArgumentException("vocabulary of " + size + " tokens; at least " + ModelShape.MIN_VOCAB + " needed");
        }
        String[] tokens = new String[size];
        int[] types = new int[size];
        for (int i = 0; i <= MASK; i++) {
            tokens[i] = "[unused" + (i - 1) + "]";
            types[i] = SyntheticVocabulary.CONTROL;
        }
        tokens[PAD] = "[PAD]";
        tokens[UNK] = "[UNK]";
        types[UNK] = SyntheticVocabulary.UNKNOWN;
        tokens[CLS] = "[CLS]";
        tokens[SEP] = "[SEP]";
        tokens[MASK] = "[MASK]";
        int id = MASK + 1;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < CHARS.length() && id < size; i++) {
                tokens[id] = (pass == 0 ? WORD_START : "") + CHARS.charAt(i);
                types[id++] = SyntheticVocabulary.NORMAL;
            }
        }
        int n = LETTERS.length();
        for (int length = 2; id < size; length++) {
            long count = (long) Math.pow(n, length);
            for (long i = 0; i < count && id < size; i++) {
                for (int pass = 0; pass < 2 && id < size; pass++) {
                    tokens[id] = (pass == 0 ? WORD_START : "") + piece(i, length);
                    types[id++] = SyntheticVocabulary.NORMAL;
                }
            }
        }
        return new SyntheticWordPieceVocabulary(tokens, types);
    }

    private static String piece(long index, int length) {
        char[] c = new char[length];
        for (int k = length - 1; k >= 0; k--) {
            c[k] = LETTERS.charAt((int) (index % LETTERS.length()));
            index /= LETTERS.length();
        }
        return new String(c);
    }

    /** @return the number of tokens */
    public int size() {
        return tokens.length;
    }

    /**
     * Writes the {@code tokenizer.ggml.*} metadata as llama.cpp's converter writes a BERT vocabulary:
     * model {@code bert}, tokens, token types, and the special ids (unknown, separator, padding,
     * CLS, mask). Without {@code add_*_token} keys, [CLS] and [SEP] are added (llama.cpp's default).
     */
    public void putMetadata(GgufWriter w) {
        w.putString("tokenizer.ggml.model", "bert");
        w.putString("tokenizer.ggml.pre", "default");
        w.putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, tokens));
        w.putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, types));
        w.putUInt32("tokenizer.ggml.unknown_token_id", UNK);
        w.putUInt32("tokenizer.ggml.seperator_token_id", SEP);
        w.putUInt32("tokenizer.ggml.padding_token_id", PAD);
        w.putUInt32("tokenizer.ggml.cls_token_id", CLS);
        w.putUInt32("tokenizer.ggml.mask_token_id", MASK);
    }
}
