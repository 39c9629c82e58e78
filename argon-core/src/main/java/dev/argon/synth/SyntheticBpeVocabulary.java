package dev.argon.synth;

import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufValueType;
import dev.argon.gguf.GgufWriter;
import dev.argon.tokenizer.ByteLevel;

import java.util.ArrayList;
import java.util.List;

/**
 * A made-up but valid byte-level BPE vocabulary (GPT-2's scheme, Radford et al., 2019;
 * {@code tokenizer.ggml.model = "gpt2"}, pre-tokenizer {@code gpt-2}) of any size from 257: the
 * 256 byte tokens in byte order (each byte as its printable stand-in, {@code Ġ} for the space),
 * then merged pieces over the letters and digits in order of length, with and without a leading
 * {@code Ġ}, then {@code <|endoftext|>} as the last token (BOS and EOS, control type). Every
 * piece of length k+1 is the merge of its first k characters and its last one, and the merges
 * are ranked in token order, so the tokenizer merges text into multi-character tokens.
 *
 * @param tokens the token texts (byte-level encoded)
 * @param types one GGUF token type per token
 * @param merges the merge rules, {@code "left right"}, highest priority first
 */
public record SyntheticBpeVocabulary(String[] tokens, int[] types, String[] merges) {
    /** Smallest vocabulary: the 256 bytes and {@code <|endoftext|>}. */
    public static final int MIN_SIZE = 257;

    private static final String ALPHABET = "etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ0123456789";

    /**
     * Builds a vocabulary of exactly {@code size} tokens.
     *
     * @throws IllegalArgumentException if {@code size < 257}
     */
    public static SyntheticBpeVocabulary of(int size) {
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("byte-level BPE vocabulary of " + size + " tokens; at least " + MIN_SIZE + " needed");
        }
        String[] tokens = new String[size];
        int[] types = new int[size];
        for (int b = 0; b < 256; b++) {
            tokens[b] = String.valueOf(ByteLevel.charOf(b));
            types[b] = SyntheticVocabulary.NORMAL;
        }
        String space = String.valueOf(ByteLevel.charOf(' '));
        List<String> merges = new ArrayList<>();
        int id = 256;
        int n = ALPHABET.length();
        // pieces of `length` characters: a first character from Ġ + ALPHABET, the rest from ALPHABET
        for (int length = 2; id < size - 1; length++) {
            long rest = (long) Math.pow(n, length - 1);
            for (long i = 0; i < (n + 1) * rest && id < size - 1; i++) {
                long first = i / rest;
                StringBuilder sb = new StringBuilder(first == 0 ? space : String.valueOf(ALPHABET.charAt((int) first - 1)));
                long r = i % rest;
                char[] tail = new char[length - 1];
                for (int k = length - 2; k >= 0; k--) {
                    tail[k] = ALPHABET.charAt((int) (r % n));
                    r /= n;
                }
                String piece = sb.append(tail).toString();
                tokens[id] = piece;
                types[id] = SyntheticVocabulary.NORMAL;
                merges.add(piece.substring(0, piece.length() - 1) + " " + piece.substring(piece.length() - 1));
                id++;
            }
        }
        tokens[size - 1] = "<|endoftext|>";
        types[size - 1] = SyntheticVocabulary.CONTROL;
        return new SyntheticBpeVocabulary(tokens, types, merges.toArray(String[]::new));
    }

    /** @return the number of tokens */
    public int size() {
        return tokens.length;
    }

    /**
     * Writes the {@code tokenizer.ggml.*} metadata: model {@code gpt2}, pre-tokenizer
     * {@code gpt-2}, tokens, token types, merges, BOS = EOS = {@code <|endoftext|>}, no BOS added.
     */
    public void putMetadata(GgufWriter w) {
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", "gpt-2");
        w.putArray("tokenizer.ggml.tokens", new GgufArray(GgufValueType.STRING, tokens));
        w.putArray("tokenizer.ggml.token_type", new GgufArray(GgufValueType.INT32, types));
        w.putArray("tokenizer.ggml.merges", new GgufArray(GgufValueType.STRING, merges));
        w.putUInt32("tokenizer.ggml.bos_token_id", tokens.length - 1);
        w.putUInt32("tokenizer.ggml.eos_token_id", tokens.length - 1);
        w.putBool("tokenizer.ggml.add_bos_token", false);
    }
}
