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
 * attention-score baseline, or merge the tokens older than a window instead of evicting them (MiniCache
 * across adjacent layers, KVMerger across similar consecutive keys; {@link KvCache#compressWith}), or keep every
 * row but let each query attend only to the sinks, the sentences most similar to it within a token budget and a
 * recent window (SentenceKV; {@link SentenceIndex}). All but {@link #NONE} and {@link Kind#SENTENCEKV} make
 * generation unbounded.
 *
 * <p>In both, the kept prefix ("sinks") is moved in position next to the tokens that follow it
 * (its keys are re-rotated, as llama.cpp's context shift and StreamingLLM's in-cache positions
 * do), while the other cached tokens keep their positions: only relative positions enter RoPE
 * attention, so the scores equal those of a cache that was rebuilt at the new positions.
 *
 * @param kind the behaviour
 * @param keep tokens kept at the start of the cache (llama.cpp's {@code --keep}; the sinks); for
 *     {@link Kind#H2O} the heavy-hitter budget
 * @param window {@link Kind#STREAMING} and {@link Kind#H2O}: recent tokens kept; {@link Kind#MINICACHE} and
 *     {@link Kind#KVMERGER}: recent tokens kept exact (older ones are merged); otherwise 0
 * @param merge the merging parameters of {@link Kind#MINICACHE} and {@link Kind#KVMERGER}; null otherwise
 * @param select {@link Kind#SENTENCEKV}'s parameters; null otherwise
 */
public record ContextPolicy(Kind kind, int keep, int window, Merge merge, Select select) {
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
        H2O,
        /**
         * MiniCache (Liu et al., 2024, "MiniCache: KV Cache Compression in Depth Dimension for Large
         * Language Models"): tokens older than the window are merged across adjacent layers from
         * the middle layer to the last ({@link MiniCacheRows}).
         */
        MINICACHE,
        /**
         * KVMerger (Wang et al., 2024, "Model Tells You Where to Merge: Adaptive KV Cache Merging for
         * LLMs on Long-Context Tasks"): tokens older than the window are merged in sets of consecutive
         * similar keys ({@link KvMergerRows}).
         */
        KVMERGER,
        /**
         * SentenceKV (Zhu et al., 2025, "SentenceKV: Efficient LLM Inference via Sentence-Level Semantic KV
         * Caching"): every row stays cached; each query attends to the {@code keep} sinks, the last
         * {@code window} tokens and, within {@code budget} tokens, the sentences whose mean key is most similar
         * to it ({@link SentenceIndex}). Generation ends when the cache is full, as without a policy.
         */
        SENTENCEKV
    }

    /**
     * Parameters of the merging policies, named after the papers'.
     *
     * @param startLayer MiniCache's first merged layer S (pairs {@code (S, S+1), (S+2, S+3), ...}); -1 for
     *     the middle layer {@code L/2}
     * @param t MiniCache's SLERP interpolation parameter in [0, 1] (0: the lower layer's direction)
     * @param gamma MiniCache's retention threshold in [0, 1]: a token whose angular distance between the two
     *     layers exceeds {@code d_min + gamma * (d_max - d_min)} (over the tokens merged together) stays unmerged
     * @param epsilon KVMerger's cosine-similarity threshold in [-1, 1] for a key to join its predecessor's merging set
     * @param sigma KVMerger's Gaussian kernel width (key units, > 0), or 0 for the root-mean-square distance of the
     *     set's keys to its pivot
     */
    public record Merge(int startLayer, double t, double gamma, double epsilon, double sigma) {
        /** MiniCache's defaults: the middle layer, t = 0.6, gamma = 0.05. */
        public static final Merge MINICACHE_DEFAULTS = new Merge(-1, 0.6, 0.05, 0, 0);
        /** KVMerger's defaults here: epsilon = 0.9, adaptive sigma. */
        public static final Merge KVMERGER_DEFAULTS = new Merge(-1, 0, 0, 0.9, 0);

        /** @throws ArgonException naming the parameter out of range */
        public Merge {
            if (startLayer < -1) {
                throw new ArgonException("--minicache-start is " + startLayer + "; expected a layer >= 0 (or -1: the middle layer)");
            }
            if (!(t >= 0 && t <= 1)) {
                throw new ArgonException("--minicache-t is " + t + "; expected 0..1");
            }
            if (!(gamma >= 0 && gamma <= 1)) {
                throw new ArgonException("--minicache-gamma is " + gamma + "; expected 0..1");
            }
            if (!(epsilon >= -1 && epsilon <= 1)) {
                throw new ArgonException("--kvmerger-epsilon is " + epsilon + "; expected -1..1");
            }
            if (!(sigma >= 0) || Double.isInfinite(sigma)) {
                throw new ArgonException("--kvmerger-sigma is " + sigma + "; expected >= 0 (0: adaptive)");
            }
        }
    }

    /** A policy without merging parameters. */
    public ContextPolicy(Kind kind, int keep, int window) {
        this(kind, keep, window, null, null);
    }

    /** A policy without sentence selection. */
    public ContextPolicy(Kind kind, int keep, int window, Merge merge) {
        this(kind, keep, window, merge, null);
    }

    /**
     * SentenceKV's parameters.
     *
     * @param budget the most tokens of selected sentences a query attends to, besides the sinks and the window
     * @param sentenceQuery rank the sentences with the mean query of the current sentence's tokens so far (the
     *     paper's decoding query) instead of the current token's query
     */
    public record Select(int budget, boolean sentenceQuery) {
    }

    /** @return SentenceKV's token budget; 0 for the other policies */
    public int budget() {
        return select == null ? 0 : select.budget();
    }

    /** Stop when full. */
    public static final ContextPolicy NONE = new ContextPolicy(Kind.NONE, 0, 0);

    /** @throws ArgonException if a size is negative or the window is empty */
    public ContextPolicy {
        if (kind == Kind.H2O && keep < 1) {
            throw new ArgonException("--kv-heavy is " + keep + "; expected at least 1 (with no heavy hitters it is a plain window:"
                    + " --kv-sink 0 --kv-window W)");
        }
        if ((kind == Kind.MINICACHE || kind == Kind.KVMERGER) && (merge == null || window < 2 || keep != 0)) {
            throw new ArgonException("--kv-policy " + kind.name().toLowerCase(java.util.Locale.ROOT) + " needs --kv-window W >= 2 (got "
                    + window + ")" + (merge == null ? " and merging parameters" : ""));
        }
        if (kind == Kind.SENTENCEKV && (select == null || keep < 0 || window < 0 || select.budget() < 0)) {
            throw new ArgonException(select == null ? "SentenceKV needs its parameters" : (keep < 0 ? "--kv-sink is " + keep
                    : window < 0 ? "--kv-window is " + window : "--sentencekv-budget is " + select.budget()) + "; expected >= 0");
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

    /**
     * MiniCache: tokens older than the last {@code window} are merged across adjacent layers.
     *
     * @param merge {@link Merge#startLayer}, {@link Merge#t}, {@link Merge#gamma} are used
     */
    public static ContextPolicy miniCache(int window, Merge merge) {
        return new ContextPolicy(Kind.MINICACHE, 0, window, merge);
    }

    /**
     * KVMerger: tokens older than the last {@code window} are merged in sets of similar consecutive keys.
     *
     * @param merge {@link Merge#epsilon} and {@link Merge#sigma} are used
     */
    public static ContextPolicy kvMerger(int window, Merge merge) {
        return new ContextPolicy(Kind.KVMERGER, 0, window, merge);
    }

    /**
     * SentenceKV: every query attends to the first {@code sinks} tokens, the last {@code window} and, within
     * {@code budget} tokens, the sentences most similar to it.
     */
    public static ContextPolicy sentenceKv(int sinks, int window, int budget) {
        return sentenceKv(sinks, window, new Select(budget, false));
    }

    /** SentenceKV with all its parameters. */
    public static ContextPolicy sentenceKv(int sinks, int window, Select select) {
        return new ContextPolicy(Kind.SENTENCEKV, sinks, window, null, select);
    }

    /** @return whether queries attend to selected sentences only (SentenceKV; the cache keeps every row) */
    public boolean selectsSentences() {
        return kind == Kind.SENTENCEKV;
    }

    /** @return whether each sequence needs a contiguous cache of its own (rows move, or a sentence index follows them) */
    public boolean needsContiguousCache() {
        return unbounded() || selectsSentences();
    }

    /** @return whether the policy merges old rows into a compressed store instead of evicting them */
    public boolean compresses() {
        return kind == Kind.MINICACHE || kind == Kind.KVMERGER;
    }

    /** @return whether eviction picks rows by the attention they received (the cache must sum it; KVMerger's pivots) */
    public boolean needsAttentionMass() {
        return kind == Kind.H2O || kind == Kind.KVMERGER;
    }

    /** @return rows at the start that are never evicted and move in position next to the rest (sinks, --keep) */
    public int kept() {
        return kind == Kind.H2O || kind == Kind.SENTENCEKV ? 0 : keep;
    }

    /** @return whether the cache evicts instead of filling up */
    public boolean unbounded() {
        return kind != Kind.NONE && kind != Kind.SENTENCEKV;
    }

    /** @return cache rows in use at which eviction starts, for a cache of {@code capacity} rows */
    public int limit(int capacity) {
        return kind == Kind.STREAMING || kind == Kind.H2O || compresses() ? Math.min(capacity, keep + window) : capacity;
    }

    /**
     * @param used rows in use (the cache is at its {@link #limit})
     * @return rows to evict after the first {@code keep}: one for streaming, half of the rest for a shift; for
     *     the merging policies, rows to merge: half the window (merging works on runs of tokens)
     */
    public int discard(int used) {
        if (compresses()) {
            return Math.max(1, window / 2);
        }
        return kind == Kind.SHIFT ? Math.max(1, (used - keep) / 2) : 1;
    }

    /**
     * @param capacity the cache's rows
     * @throws ArgonException if the policy leaves no room to evict in a cache of this size
     */
    public void validate(int capacity) {
        if ((kind == Kind.SHIFT || kind == Kind.STREAMING) && keep > capacity - 2) {
            throw new ArgonException((kind == Kind.SHIFT ? "--keep " : "--kv-sink ") + keep + " leaves no room to evict in a context of " + capacity
                    + " tokens (-c); it must be at most " + (capacity - 2));
        }
        if (compresses() && window > capacity) {
            throw new ArgonException("--kv-window " + window + " does not fit in the context of " + capacity + " (-c)");
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
            case MINICACHE -> "MiniCache: layers merged from " + (merge.startLayer() < 0 ? "the middle" : "layer " + merge.startLayer())
                    + ", t " + merge.t() + ", gamma " + merge.gamma() + ", exact window " + window;
            case KVMERGER -> "KVMerger: epsilon " + merge.epsilon() + ", sigma " + (merge.sigma() == 0 ? "adaptive" : merge.sigma())
                    + ", exact window " + window;
            case SENTENCEKV -> "SentenceKV: sinks " + keep + " + sentences within " + select.budget() + " tokens"
                    + (select.sentenceQuery() ? " (by the sentence's mean query)" : "") + " + window " + window;
        };
    }
}
