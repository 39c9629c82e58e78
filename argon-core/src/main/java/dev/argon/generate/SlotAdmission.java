package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.BlockPool;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.kv.PrefixCache;
import dev.argon.model.LanguageModel;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The KV side of a {@link BatchScheduler}'s admission: its slots and, in paged mode, the
 * {@link BlockPool} they share and its {@link PrefixCache}. It decides which slot a waiting
 * request gets and how many of its prompt tokens are already cached there (prefix reuse, a copy
 * from another slot, or a chain of cached blocks), whether the pool can hold a request, which
 * blocks each running sequence maps before a step, and what a slot keeps once its request ends.
 *
 * <p>Two modes. Contiguous (no pool): each slot owns a cache of {@code contextLength} tokens and
 * remembers the prompt it holds; a new request takes the free slot whose cached prompt shares the
 * longest prefix with its own (when that keeps at least half of the slot's cache useful, else the
 * least recently used slot), and a longer computed prefix held by another slot is copied
 * ({@link #MIN_COPY} tokens or more). Paged: the least recently used free slot, mapped to the
 * longest chain of registered blocks that matches the prompt. Only prompt rows are ever reused, so
 * outputs stay bit-identical to a run without reuse.
 *
 * <p>It reads the scheduler's list of running requests (a slot is busy while one of them holds
 * it) and never changes it. Scheduler thread only, except the counters.
 */
final class SlotAdmission {
    /** Shorter prefixes than this are computed rather than copied from another slot. */
    static final int MIN_COPY = 16;

    private final KvSlot[] slots;
    private final List<ScheduledRequest> running;
    private final int contextLength;
    private final int stepTokens;
    private final boolean prefixReuse;
    /** The paged pool shared by the slots, or null (contiguous per-slot caches). */
    private final BlockPool pool;
    /** Hashed-block prefix caching over {@link #pool}, or null. */
    private final PrefixCache prefixCache;
    private long clock;
    private final AtomicLong reusedTokens = new AtomicLong();
    private final AtomicLong copiedTokens = new AtomicLong();

    /**
     * Allocates the slots' caches (and the pool).
     *
     * @param parallel slots
     * @param contextLength KV cache size of each slot in tokens
     * @param policy what a full contiguous cache does
     * @param blockSize tokens per block of a shared paged pool; 0: contiguous caches
     * @param poolTokens tokens the paged pool holds; 0: {@code parallel * contextLength}
     * @param prefixReuse whether prompts reuse cached prefixes
     * @param stepTokens prompt tokens a sequence may feed per step (blocks mapped ahead)
     * @param running the scheduler's running requests (read only)
     */
    SlotAdmission(LanguageModel model, int parallel, int contextLength, KvCache.Precision precision, ContextPolicy policy,
                  int blockSize, int poolTokens, boolean prefixReuse, int stepTokens, List<ScheduledRequest> running) {
        this.slots = new KvSlot[parallel];
        this.running = running;
        this.contextLength = contextLength;
        this.stepTokens = stepTokens;
        this.prefixReuse = prefixReuse;
        if (blockSize > 0) {
            var c = model.config();
            long blocks = poolTokens > 0 ? (poolTokens + blockSize - 1L) / blockSize
                    : (long) parallel * ((contextLength + blockSize - 1) / blockSize);
            pool = new BlockPool(c.nLayers(), c.kvDim(), c.headDim(), precision, precision, blockSize,
                    (int) Math.min(Integer.MAX_VALUE, blocks));
            prefixCache = prefixReuse ? new PrefixCache(pool, modelSalt(model)) : null;
        } else {
            pool = null;
            prefixCache = null;
        }
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new KvSlot(pool != null ? model.newState(contextLength, pool)
                    : model.newState(contextLength, precision, precision, policy));
        }
    }

    /** What else than the tokens and cache types determines a cached row: the model's shape and RoPE settings. */
    private static long modelSalt(LanguageModel model) {
        return model.config().hashCode() * 31L + model.getClass().getName().hashCode();
    }

    /** @return the number of slots */
    int slotCount() {
        return slots.length;
    }

    /** @return the paged pool, or null */
    BlockPool pool() {
        return pool;
    }

    /** @return the prefix cache over the paged pool, or null */
    PrefixCache prefixCache() {
        return prefixCache;
    }

    /** @return prompt tokens served from a cache (slot prefix, copy or cached blocks) since start */
    long reusedTokens() {
        return reusedTokens.get();
    }

    /** @return of {@link #reusedTokens()}, those copied from another slot's cache */
    long copiedTokens() {
        return copiedTokens.get();
    }

    /** @return slots no running request holds */
    int freeSlots() {
        int free = 0;
        for (KvSlot s : slots) {
            free += isBusy(s) ? 0 : 1;
        }
        return free;
    }

    private boolean isBusy(KvSlot s) {
        for (ScheduledRequest r : running) {
            if (r.slot == s || r.guideSlot == s) {
                return true;
            }
        }
        return false;
    }

    /** @return blocks of the pool holding {@code rows} rows */
    private int blocksFor(int rows) {
        return (Math.min(rows, contextLength) + pool.blockSize() - 1) / pool.blockSize();
    }

    private int blocksNeeded(ScheduledRequest r) {
        return blocksFor(r.prompt.length + 1) + (r.negative == null ? 0 : blocksFor(r.negative.length + 1));
    }

    /**
     * @return whether the paged pool (if any) can hold the request's prompts and first token now
     *     (admission maps those blocks at once, so later admissions see them taken)
     */
    boolean fits(ScheduledRequest r) {
        return pool == null || blocksNeeded(r) <= pool.available();
    }

    /** @return the error for a request whose prompts the paged pool cannot hold even when nothing else runs */
    ArgonException tooLarge(ScheduledRequest r) {
        return new ArgonException("the prompt needs " + blocksNeeded(r) + " KV blocks of " + pool.blockSize()
                + " tokens, but the KV pool holds " + pool.maxBlocks() + " (--kv-pool " + (long) pool.maxBlocks() * pool.blockSize()
                + " tokens); raise --kv-pool or send a shorter prompt");
    }

    /**
     * Gives the request its slot (two with guidance) and sets {@link ScheduledRequest#fed} and
     * {@link ScheduledRequest#reused} to the prompt tokens already cached there. Contiguous mode:
     * the free slot whose cached prompt shares the longest prefix with it, provided the shared part
     * is at least half of what that slot holds (so taking it keeps most of its cache useful);
     * otherwise the least recently used free slot (empty ones first), so that a new conversation
     * does not overwrite another one's cached prompt just because both start with the same few
     * tokens (e.g. the start-of-sequence token). Whatever prefix the chosen slot shares is reused.
     * Needs {@link #fits} and enough {@link #freeSlots}.
     */
    void admit(ScheduledRequest r) {
        if (pool != null) {
            admitPaged(r);
            return;
        }
        KvSlot best = null;
        int bestShared = 0;
        KvSlot oldest = null;
        for (KvSlot s : slots) {
            if (isBusy(s)) {
                continue;
            }
            if (oldest == null || s.lastUsed < oldest.lastUsed) {
                oldest = s;
            }
            int shared = prefixReuse ? s.commonPrefix(r.prompt) : 0;
            boolean worthKeeping = shared > 0 && 2L * shared >= s.cachedLength;
            if (worthKeeping && (shared > bestShared || (shared == bestShared && s.lastUsed < best.lastUsed))) {
                best = s;
                bestShared = shared;
            }
        }
        if (best == null) {
            best = oldest;
            bestShared = prefixReuse ? best.commonPrefix(r.prompt) : 0;
        }
        // keep at least the last prompt token to compute: its logits start the generation
        int reuse = Math.min(bestShared, r.prompt.length - 1);
        best.state.resetEviction();
        if (prefixReuse) {
            reuse = copyLongerPrefix(best, r.prompt, reuse);
        }
        start(r, best, reuse);
    }

    /**
     * Paged mode: gives the request the least recently used free slot and maps the longest chain
     * of cached blocks matching its prompt (none without prefix caching).
     */
    private void admitPaged(ScheduledRequest r) {
        KvSlot free = null;
        for (KvSlot s : slots) {
            if (!isBusy(s) && (free == null || s.lastUsed < free.lastUsed)) {
                free = s;
            }
        }
        free.blocks().release(0);
        int reuse = prefixCache == null ? 0 : prefixCache.match(free.blocks(), r.prompt, r.prompt.length - 1);
        free.blocks().reserve(Math.min(contextLength, r.prompt.length + 1)); // fits: see fits()
        start(r, free, reuse);
    }

    /** Puts the request on slot {@code best} with its first {@code reuse} prompt tokens already cached. */
    private void start(ScheduledRequest r, KvSlot best, int reuse) {
        r.slot = best;
        r.fed = reuse;
        r.reused = reuse;
        best.cachedLength = reuse;
        best.lastUsed = ++clock;
        if (r.negative != null) {
            admitGuide(r);
        }
        reusedTokens.addAndGet(reuse);
    }

    /**
     * Cross-slot prefix caching: when another slot (running or idle) holds a longer computed
     * prefix of {@code prompt} than {@code target}'s own {@code reuse} tokens, copies those rows
     * into {@code target}'s cache, which is cheaper than computing them. Only prompt rows are
     * copied (computed with the prompt arithmetic), so outputs stay bit-identical.
     *
     * @return the prompt tokens {@code target} now holds
     */
    private int copyLongerPrefix(KvSlot target, int[] prompt, int reuse) {
        KvSlot source = null;
        int longest = reuse;
        for (KvSlot s : slots) {
            if (s == target || s.state.evicted() > 0) {
                continue;
            }
            int n = s.commonPrefix(prompt);
            for (ScheduledRequest other : running) {
                if (other.slot == s) {
                    int computed = Math.min(other.fed, other.prompt.length);
                    int i = 0;
                    while (i < computed && i < prompt.length && other.prompt[i] == prompt[i]) {
                        i++;
                    }
                    n = i;
                }
            }
            n = Math.min(n, prompt.length - 1);
            if (n > longest) {
                longest = n;
                source = s;
            }
        }
        if (source == null || longest < reuse + MIN_COPY) {
            return reuse;
        }
        target.state.kvCache().copyPrefix(source.state.kvCache(), longest);
        target.cached = prompt;
        copiedTokens.addAndGet(longest);
        return longest;
    }

    /**
     * Gives a guided request's unconditional sequence the free slot (other than its own) whose
     * cached prompt shares the longest prefix with the negative prompt, else the least recently used.
     */
    private void admitGuide(ScheduledRequest r) {
        KvSlot best = null;
        int bestShared = -1;
        for (KvSlot s : slots) {
            if (s == r.slot || isBusy(s)) {
                continue;
            }
            int shared = prefixReuse ? s.commonPrefix(r.negative) : 0;
            if (shared > bestShared || (shared == bestShared && s.lastUsed < best.lastUsed)) {
                best = s;
                bestShared = shared;
            }
        }
        int reuse = Math.min(bestShared, r.negative.length - 1);
        if (pool != null) {
            best.blocks().release(0);
            reuse = prefixCache == null ? 0 : prefixCache.match(best.blocks(), r.negative, r.negative.length - 1);
            best.blocks().reserve(Math.min(contextLength, r.negative.length + 1));
        }
        best.state.resetEviction();
        r.guideSlot = best;
        r.guideFed = reuse;
        best.cachedLength = reuse;
        best.lastUsed = ++clock;
        reusedTokens.addAndGet(reuse);
    }

    /**
     * Paged mode: maps the blocks a running sequence will write in the next step (its prompt
     * chunk, or its decode row and up to {@code draftMax} draft rows; the same for its guidance slot).
     *
     * @throws BlockPool.ExhaustedException if the pool cannot serve them
     */
    void reserve(ScheduledRequest r) {
        if (r.prefilling()) {
            r.slot.blocks().reserve(Math.min(r.prompt.length, r.fed + stepTokens));
        } else {
            int draft = r.spec == null ? 0 : r.req.speculation().draftMax();
            r.slot.blocks().reserve(Math.min(contextLength, r.seq.position() + 1 + draft));
        }
        if (r.negative != null) {
            r.guideSlot.blocks().reserve(r.prefilling() ? Math.min(r.negative.length, r.guideFed + stepTokens)
                    : Math.min(contextLength, r.guidePosition(r.seq.position()) + 1));
        }
    }

    /** Paged mode: lets go of every block of the request's slots (registered ones stay cached); nothing otherwise. */
    void releaseBlocks(ScheduledRequest r) {
        if (pool != null) {
            r.slot.blocks().release(0);
            r.slot.cachedLength = 0;
            if (r.guideSlot != null) {
                r.guideSlot.blocks().release(0);
                r.guideSlot.cachedLength = 0;
            }
        }
    }

    /** A request whose forward pass failed: its slots keep nothing. */
    void drop(ScheduledRequest r) {
        releaseBlocks(r);
        r.slot.cachedLength = 0;
        if (r.guideSlot != null) {
            r.guideSlot.cachedLength = 0;
        }
    }

    /**
     * A request ended: paged, its blocks go back to the pool (registered ones stay cached);
     * contiguous, its slots keep the computed prompt for prefix reuse (nothing if the cache
     * evicted tokens or reuse is off) and release the memory beyond it.
     */
    void release(ScheduledRequest r) {
        if (pool != null) {
            releaseBlocks(r);
            return;
        }
        KvSlot s = r.slot;
        // a cache that evicted tokens no longer holds the prompt at its positions
        int valid = s.state.evicted() > 0 || !prefixReuse ? 0 : Math.min(r.fed, r.prompt.length);
        s.cached = r.prompt;
        s.cachedLength = valid;
        s.state.kvCache().release(valid);
        if (r.guideSlot != null) {
            r.guideSlot.cached = r.negative;
            r.guideSlot.cachedLength = prefixReuse ? Math.min(r.guideFed, r.negative.length) : 0;
            r.guideSlot.state.kvCache().release(r.guideSlot.cachedLength);
        }
    }

    /**
     * Prompt rows were computed: the slot's cache changes (its prompt is recorded when the request
     * ends), and with prefix caching the full blocks of the first {@code computed} tokens of
     * {@code tokens} can serve other requests now.
     */
    void computed(KvSlot slot, int[] tokens, int computed) {
        slot.cachedLength = 0;
        if (prefixCache != null) {
            prefixCache.register(slot.blocks(), tokens, computed);
        }
    }

    /** @return KV positions that the slots no running request holds keep for prefix reuse */
    long cachedTokens() {
        if (pool != null) {
            return (long) pool.stats().cached() * pool.blockSize();
        }
        long cached = 0;
        for (KvSlot s : slots) {
            if (prefixReuse && !isBusy(s)) {
                cached += s.cachedLength;
            }
        }
        return cached;
    }

    /** @return bytes the slots' KV caches (or the pool) hold now */
    long kvBytes() {
        if (pool != null) {
            return pool.stats().bytes();
        }
        long b = 0;
        for (KvSlot s : slots) {
            b += s.state.kvCache().bytes();
        }
        return b;
    }
}
