package dev.argon.model;

import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;

/**
 * An architecture-neutral autoregressive language model: token ids in, next-token logits out.
 * The caller owns one {@link InferenceState} (KV cache and scratch buffers) per sequence.
 *
 * <p>Implementations are immutable after loading and may be shared between threads, provided
 * each thread uses its own state.
 */
public interface LanguageModel extends AutoCloseable {
    /** @return the hyper-parameters */
    ModelConfig config();

    /** @return the model's tokenizer */
    Tokenizer tokenizer();

    /**
     * Allocates the state of one sequence.
     *
     * @param contextLength KV cache capacity in tokens (at most {@link ModelConfig#contextLength()} is sensible)
     * @param precision precision of the cached keys and values
     */
    InferenceState newState(int contextLength, KvCache.Precision precision);

    /**
     * Allocates the state of one sequence whose cached keys and values have their own encodings
     * (llama.cpp's {@code --cache-type-k} and {@code --cache-type-v}). The default supports equal
     * encodings only.
     *
     * @throws dev.argon.ArgonException if the model cannot store this combination
     */
    default InferenceState newState(int contextLength, KvCache.Precision keys, KvCache.Precision values) {
        if (keys != values) {
            throw new dev.argon.ArgonException("this model keeps keys and values in one encoding; got " + keys.flagName()
                    + " and " + values.flagName());
        }
        return newState(contextLength, keys);
    }

    /**
     * Allocates the state of one sequence whose KV cache evicts tokens when it is full as
     * {@code policy} says (context shift, attention sinks + window), making generation unbounded.
     * The default supports {@link ContextPolicy#NONE} only.
     *
     * @throws dev.argon.ArgonException if the model cannot evict (e.g. learned absolute positions) or
     *     the policy does not fit the context
     */
    default InferenceState newState(int contextLength, KvCache.Precision keys, KvCache.Precision values, ContextPolicy policy) {
        if (policy.unbounded() || policy.selectsSentences()) {
            throw new dev.argon.ArgonException("this model cannot evict or select tokens of its KV cache (" + policy + ")");
        }
        return newState(contextLength, keys, values);
    }

    /**
     * Allocates the state of one sequence whose KV cache is paged: its rows live in blocks of
     * {@code pool}, shared with the other sequences of that pool (see {@link dev.argon.kv.BlockPool}).
     * The default refuses.
     *
     * @throws dev.argon.ArgonException if the model cannot use a paged cache
     */
    default InferenceState newState(int contextLength, dev.argon.kv.BlockPool pool) {
        throw new dev.argon.ArgonException("this model (" + config().architecture() + ") cannot use a paged KV cache;"
                + " use --kv-block-size 0");
    }

    /** Allocates the state of one sequence with an exact (F32) KV cache. */
    default InferenceState newState(int contextLength) {
        return newState(contextLength, KvCache.Precision.F32);
    }

    /**
     * Runs one token through the network at position {@code pos}, writing its keys and values into
     * the state's KV cache (positions {@code 0..pos-1} must already be there).
     *
     * @param wantLogits whether to compute the output projection
     * @return the next-token logits {@code [vocabSize]} (a buffer owned by the state, overwritten by
     *     the next call), or {@code null} when {@code wantLogits} is false
     */
    float[] forward(InferenceState state, int token, int pos, boolean wantLogits);

    /**
     * Prefill: runs {@code tokens} at positions {@code startPos ..} and returns the logits after the
     * last one. The default runs them one at a time; architectures may batch.
     */
    default float[] prefill(InferenceState state, int[] tokens, int startPos) {
        float[] logits = null;
        for (int i = 0; i < tokens.length; i++) {
            logits = forward(state, tokens[i], startPos + i, i == tokens.length - 1);
        }
        return logits;
    }

    /**
     * Runs every row of {@code batch} (tokens of one or several sequences, see {@link Batch}) in
     * one pass, writing their keys and values into their sequences' KV caches; afterwards
     * {@link Batch#logits(int)} holds the next-token logits of the rows that asked for them. A
     * row's results do not depend on the other rows of the batch.
     *
     * @throws IllegalArgumentException if a position lies outside its sequence's context or a
     *     token id outside the vocabulary
     */
    void forward(Batch batch);

    /**
     * The threads this model computes with. A caller may run its own parallel loops on them
     * between forward passes (a server samples its sequences' next tokens in parallel), never
     * from inside one. The default is the caller's thread alone.
     */
    default ThreadPool pool() {
        return ThreadPool.CALLER_ONLY;
    }

    /** @return the number of weights (parameters) */
    long parameterCount();

    /** @return bytes of weight data (as stored, e.g. quantized) */
    long weightBytes();

    /** Releases the model file mapping and worker threads. */
    @Override
    void close();
}
