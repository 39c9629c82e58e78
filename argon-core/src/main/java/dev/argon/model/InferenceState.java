package dev.argon.model;

import dev.argon.kv.KvCache;

/**
 * Per-sequence mutable state: the KV cache and the scratch buffers of the forward pass. Not
 * thread-safe; one per sequence. Architectures extend it with their own buffers.
 */
public abstract class InferenceState {
    private final KvCache kvCache;
    private ForwardObserver observer;

    protected InferenceState(KvCache kvCache) {
        this.kvCache = kvCache;
    }

    /** @return the KV cache */
    public final KvCache kvCache() {
        return kvCache;
    }

    /** @return the context size in tokens */
    public final int contextLength() {
        return kvCache.capacity();
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
