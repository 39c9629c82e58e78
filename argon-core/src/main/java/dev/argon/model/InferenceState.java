package dev.argon.model;

import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;

/**
 * Per-sequence mutable state: the KV cache and the scratch buffers of the forward pass. Not
 * thread-safe; one per sequence. Architectures extend it with their own buffers.
 *
 * <p>Positions and cache rows: a token at position {@code p} sits in cache row
 * {@code p - evicted()}. They are equal until the {@link ContextPolicy} evicts tokens from a full
 * cache; then positions go on growing (generation is unbounded) while rows stay within the cache.
 */
public abstract class InferenceState {
    private final KvCache kvCache;
    private ContextPolicy policy = ContextPolicy.NONE;
    private int evicted;
    /** Exact copies of the kept prefix's keys as first stored, per layer (taken at the first eviction). */
    float[][] keptKeys;
    private ForwardObserver observer;

    protected InferenceState(KvCache kvCache) {
        this.kvCache = kvCache;
    }

    /** @return the KV cache */
    public final KvCache kvCache() {
        return kvCache;
    }

    /** @return the context size in tokens (cache rows) */
    public final int contextLength() {
        return kvCache.capacity();
    }

    /** @return what the cache does when it is full */
    public final ContextPolicy contextPolicy() {
        return policy;
    }

    /**
     * Sets what the cache does when it is full; the model checks it can ({@link LanguageModel#newState}).
     *
     * @throws dev.argon.ArgonException if the policy does not fit this cache
     */
    final void setContextPolicy(ContextPolicy p) {
        p.validate(contextLength());
        this.policy = p;
    }

    /** @return tokens evicted so far: the row of position {@code p} is {@code p - evicted()} */
    public final int evicted() {
        return evicted;
    }

    /** Forgets every eviction: the cache is reused from position 0 (its contents are to be overwritten). */
    public final void resetEviction() {
        evicted = 0;
        keptKeys = null;
        kvCache.clearAttention();
        kvCache.clearCompressed();
    }

    final void addEvicted(int n) {
        evicted += n;
    }

    /** Sets (or with {@code null} removes) the observer of this sequence's forward passes. */
    public final void observe(ForwardObserver o) {
        this.observer = o;
    }

    /** @return the observer of this sequence's forward passes, or {@code null} */
    public final ForwardObserver observer() {
        return observer;
    }
}
