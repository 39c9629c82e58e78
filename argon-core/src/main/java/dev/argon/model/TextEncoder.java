package dev.argon.model;

import dev.argon.tokenizer.Tokenizer;

/**
 * A bidirectional text encoder (an embedding model such as BERT): every token of a text attends to
 * every other, and the result is one hidden vector per token, not next-token logits. Implementations
 * are immutable and thread-safe: each call allocates its own buffers.
 */
public interface TextEncoder {
    /** llama.cpp's {@code LLAMA_POOLING_TYPE_*} numbers, as {@code <arch>.pooling_type} holds them. */
    int POOLING_UNSPECIFIED = -1;
    int POOLING_NONE = 0;
    int POOLING_MEAN = 1;
    int POOLING_CLS = 2;
    int POOLING_LAST = 3;
    int POOLING_RANK = 4;

    /** @return the hyper-parameters ({@code dim} is the embedding width) */
    ModelConfig config();

    /** @return the model's tokenizer (adds [CLS] and [SEP] as special tokens) */
    Tokenizer tokenizer();

    /** @return the longest input in tokens (rows of the learned position embedding) */
    int maxTokens();

    /**
     * @return the pooling the file asks for ({@code <arch>.pooling_type}: one of the {@code POOLING_*}
     *     numbers), or {@link #POOLING_UNSPECIFIED} when the key is absent
     */
    int poolingType();

    /**
     * Runs the whole token sequence through the encoder at once.
     *
     * @param tokens token ids, special tokens included, {@code 1..maxTokens()} of them
     * @return the final hidden states {@code [tokens.length, dim]}, row-major
     * @throws dev.argon.ArgonException if there are no tokens or more than {@link #maxTokens()}
     * @throws IllegalArgumentException if a token id lies outside the vocabulary
     */
    float[] encode(int[] tokens);

    /** @return the message for an attempt to generate with an encoder of architecture {@code arch} */
    static String cannotGenerate(String arch) {
        return "this model (" + arch + ") is a text encoder for embeddings: it does not predict next tokens;"
                + " use 'argon embed' or the server's /v1/embeddings";
    }
}
