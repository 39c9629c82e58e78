package dev.argon.synth;

import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufValueType;
import dev.argon.gguf.GgufWriter;

import java.util.HexFormat;

/**
 * A made-up but valid SentencePiece vocabulary ({@code tokenizer.ggml.model = "llama"}) of any
 * size from {@link ModelShape#MIN_VOCAB}: {@code <unk>} (id 0), {@code <s>} (1), {@code </s>}
 * (2), the byte-fallback tokens {@code <0x00>..<0xFF>} (3..258, token type 6), then filler
 * pieces over the letters and digits in order of length, each with and without the word-start
 * mark {@code ▁}, with decreasing scores. Every piece of length k+1 is the merge of two shorter
 * pieces, so the tokenizer merges text into multi-character tokens; anything else falls back to
 * bytes.
 *
 * @param tokens the token texts
 * @param scores one score per token (0 for special and byte tokens, then {@code -1, -2, ...})
 * @param types one GGUF token type per token
 */
public record SyntheticVocabulary(String[] tokens, float[] scores, int[] types) {
    /** GGUF token types (as in {@code dev.argon.tokenizer.Vocabulary}). */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int BYTE = 6;

    /** The first filler id. */
    public static final int FIRST_PIECE = 3 + 256;

    private static final String ALPHABET = "etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ0123456789";
    private static final String WORD_START = "\u2581";

    /**
     * Builds a vocabulary of exactly {@code size} tokens.
     *
     * @throws IllegalArgumentException if {@code size < ModelShape.MIN_VOCAB}
     */
    public static SyntheticVocabulary of(int size) {
        if (size < ModelShape.MIN_VOCAB) {
            throw new IllegalArgumentException("vocabulary of " + size + " tokens; at least " + ModelShape.MIN_VOCAB + " needed");
        }
        String[] tokens = new String[size];
        float[] scores = new float[size];
        int[] types = new int[size];
        tokens[0] = "<unk>";
        types[0] = UNKNOWN;
        tokens[1] = "<s>";
        types[1] = CONTROL;
        tokens[2] = "</s>";
        types[2] = CONTROL;
        HexFormat hex = HexFormat.of().withUpperCase();
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = "<0x" + hex.toHexDigits((byte) b) + ">";
            types[3 + b] = BYTE;
        }
        int id = FIRST_PIECE;
        if (id < size) {
            tokens[id] = WORD_START;
            types[id] = NORMAL;
            scores[id] = -1f;
            id++;
        }
        int n = ALPHABET.length();
        for (int length = 1; id < size; length++) {
            long count = (long) Math.pow(n, length);
            for (int pass = 0; pass < 2 && id < size; pass++) {
                for (long i = 0; i < count && id < size; i++) {
                    tokens[id] = (pass == 0 ? "" : WORD_START) + piece(i, length);
                    types[id] = NORMAL;
                    scores[id] = -(id - FIRST_PIECE + 1);
                    id++;
                }
            }
        }
        return new SyntheticVocabulary(tokens, scores, types);
    }

    /** @return the {@code length} letters numbering {@code index} in base {@code ALPHABET.length()}, most significant first */
    private static String piece(long index, int length) {
        char[] c = new char[length];
        for (int k = length - 1; k >= 0; k--) {
            c[k] = ALPHABET.charAt((int) (index % ALPHABET.length()));
            index /= ALPHABET.length();
        }
        return new String(c);
    }

    /** @return the number of tokens */
    public int size() {
        return tokens.length;
    }

    /**
     * Writes the {@code tokenizer.ggml.*} metadata: model {@code llama}, tokens, scores, token
     * types, BOS 1, EOS 2, UNK 0, add BOS, no EOS.
     */
    public void putMetadata(GgufWriter w) {
        w.putString("tokenizer.ggml.model", "llama");
        w.putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, tokens));
        w.putArray("tokenizer.ggml.scores", new GgufArray(GgufValueType.FLOAT32, scores));
        w.putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, types));
        w.putUInt32("tokenizer.ggml.bos_token_id", 1);
        w.putUInt32("tokenizer.ggml.eos_token_id", 2);
        w.putUInt32("tokenizer.ggml.unknown_token_id", 0);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
    }
}
