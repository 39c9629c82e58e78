package dev.argon.kv;

import dev.argon.ArgonException;

/**
 * What a sequence's KV cache does when it is full: stop ({@link #NONE}), shift the context as
 * llama.cpp's {@code --context-shift} does (keep the first {@code keep} tokens, drop half of the
 * rest), or keep attention sinks plus a sliding window of recent tokens, evicting one token per
 * step (StreamingLLM: Xiao et al., 2023, "Efficient Streaming Language Models with Attention
 * Sinks"; the Λ-shaped pattern of AccLLM), or keep the "heavy hitters" — the tokens that have
 * received the most attention so far — plus a recent window (H2O: Zhang et al., 2023, "H2O:
 * Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models"), the common
 * attention-score baseline. The last three make generation unbounded.
 *
 * <p>In both, the kept prefix ("sinks") is moved in position next to the tokens that follow it
 * (its keys are re-rotated, as llama.cpp's context shift and StreamingLLM's in-cache positions
 * do), while the other cached tokens keep their positions: only relative positions enter RoPE
 * attention, so the scores equal those of a cache that was rebuilt at the new positions.
 *
 * @param kind the behaviour
 * @param keep tokens kept at the start of the cache (llama.cpp's {@code --keep}; the sinks); for
 *     {@link Kind#H2O} the heavy-hitter budget
 * @param window {@link Kind#STREAMING} and {@link Kind#H2O}: recent tokens kept; otherwise 0
 */
public record ContextPolicy(Kind kind, int keep, int window) {
    /** The behaviours. */
    public enum Kind {
        /** Generation ends when the cache is full. */
        NONE,
        /** When full, drop half of the tokens after the first {@code keep}. */
        SHIFT,
        /** Keep {@code keep} sinks and the last {@code window} tokens. */
        STREAMING,
        /**
         * Keep the last {@code window} tokens and, of the older ones, the {@code keep} that received
         * the most attention (summed over heads, layers and queries since they were cached); evict
         * the least attended one at each step. Kept tokens keep their positions (as in H2O).
         */
        H2O
    }

    /** Stop when full. */
    public static final ContextPolicy NONE = new ContextPolicy(Kind.NONE, 0, 0);

    /** @throws ArgonException if a size is negative or the window is empty */
    public ContextPolicy {
        if (kind == Kind.H2O && keep < 1) {
            throw new ArgonException("--kv-heavy is " + keep + "; expected at least 1 (with no heavy hitters it is a plain window:"
                    + " --kv-sink 0 --kv-window W)");
        }
        if (keep < 0 || window < 0 || (kind == Kind.STREAMING && window < 1)) {
            throw new ArgonException("KV cache policy " + kind + " with keep/sinks " + keep + " and window " + window
                    + ": sizes must be >= 0 and the window >= 1");
        }
    }

    /** llama.cpp's context shift keeping the first {@code keep} tokens. */
    public static ContextPolicy shift(int keep) {
        return new ContextPolicy(Kind.SHIFT, keep, 0);
    }

    /** {@code sinks} attention sinks plus the last {@code window} tokens. */
    public static ContextPolicy streaming(int sinks, int window) {
        return new ContextPolicy(Kind.STREAMING, sinks, window);
    }

    /** {@code heavy} most-attended older tokens plus the last {@code window} tokens (H2O). */
    public static ContextPolicy heavyHitters(int heavy, int window) {
        return new ContextPolicy(Kind.H2O, heavy, window);
    }

    /** @return whether eviction picks rows by the attention they received (the cache must sum it) */
    public boolean needsAttentionMass() {
        return kind == Kind.H2O;
    }

    /** @return rows at the start that are never evicted and move in position next to the rest (sinks, --keep) */
    public int kept() {
        return kind == Kind.H2O ? 0 : keep;
    }

    /** @return whether the cache evicts instead of filling up */
    public boolean unbounded() {
        return kind != Kind.NONE;
    }

    /** @return cache rows in use at which eviction starts, for a cache of {@code capacity} rows */
    public int limit(int capacity) {
        return kind == Kind.STREAMING || kind == Kind.H2O ? Math.min(capacity, keep + window) : capacity;
    }

    /**
     * @param used rows in use (the cache is at its {@link #limit})
     * @return rows to evict after the first {@code keep}: one for streaming, half of the rest for a shift
     */
    public int discard(int used) {
        return kind == Kind.SHIFT ? Math.max(1, (used - keep) / 2) : 1;
    }

    /**
     * @param capacity the cache's rows
     * @throws ArgonException if the policy leaves no room to evict in a cache of this size
     */
    public void validate(int capacity) {
        if ((kind == Kind.SHIFT || kind == Kind.STREAMING) && keep > capacity - 2) {
            throw new ArgonException("--keep / --kv-sink " + keep + " leaves no room to evict in a context of " + capacity
                    + " tokens (-c); it must be at most " + (capacity - 2));
        }
        if ((kind == Kind.STREAMING || kind == Kind.H2O) && keep + window > capacity) {
            throw new ArgonException((kind == Kind.H2O ? "--kv-heavy " : "--kv-sink ") + keep + " + --kv-window " + window + " = " + (keep + window)
                    + " tokens do not fit in the context of " + capacity + " (-c)");
        }
    }

    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> "none";
            case SHIFT -> "context shift (keep " + keep + ")";
            case STREAMING -> "sinks " + keep + " + window " + window;
            case H2O -> "H2O: " + keep + " heavy hitters + window " + window;
        };
    }
}
