package dev.argon.grammar;

import dev.argon.generate.TokenConstraint;
import dev.argon.tokenizer.Tokenizer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Constrains generation to strings of a {@link Grammar}: the logits of every token whose output
 * bytes cannot extend the text generated so far to a string of the grammar are set to negative
 * infinity, and end-of-generation tokens are allowed only where the text is a complete string of
 * the grammar. The allowed set is exact: a token is allowed if and only if its bytes keep at least
 * one parse alive (tested against feeding each token's bytes one by one).
 *
 * <p>The allowed set is computed by one walk over the vocabulary's {@link TokenTrie} from the
 * current automaton state, skipping each subtree the grammar rejects at its first byte, and kept
 * for the most recent states (a state seen again costs only applying the bit mask). The automaton
 * and these masks are shared by all constraints of the same {@link Grammar} instance and
 * tokenizer (under a lock), so requests repeating a grammar reuse the work of earlier ones.
 * Not thread-safe: one per sequence.
 */
public final class GrammarConstraint implements TokenConstraint {
    private static final int MASK_CACHE = 256;

    /**
     * The automaton and the masks of its states, shared by all constraints of one grammar and
     * vocabulary (so a schema used by many requests builds its states and masks once); every use
     * holds its lock. Replaced by a fresh one for new constraints when it has grown past
     * {@link #SHARED_STATES} states.
     */
    private static final class Shared {
        final GrammarAutomaton automaton;
        final int[] stateAt;
        /** Per-stack-top masks precomputed when the grammar meets the vocabulary; null for huge grammars. */
        final StackMasks stackMasks;
        final Map<Integer, long[]> masks = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, long[]> e) {
                return size() > MASK_CACHE;
            }
        };

        Shared(Grammar g, TokenTrie trie) {
            automaton = new GrammarAutomaton(g);
            stateAt = new int[trie.maxDepth + 1];
            if (StackMasks.supports(g)) {
                stackMasks = new StackMasks(automaton, g, trie);
                stackMasks.precompute();
            } else {
                stackMasks = null;
            }
        }
    }

    private static final int SHARED_STATES = 50_000;
    /** The shared state of the most recently used grammars (a bounded LRU: at most 32 grammars are kept). */
    private static final Map<Grammar, Map<Tokenizer, Shared>> SHARED = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Grammar, Map<Tokenizer, Shared>> e) {
            return size() > 32;
        }
    };

    private final Shared shared;
    private final GrammarAutomaton automaton;
    private final TokenTrie trie;
    private final Tokenizer tok;
    private final int words;
    private int state;
    private boolean ended;

    /** @param grammar the grammar; @param tokenizer the model's tokenizer */
    public GrammarConstraint(Grammar grammar, Tokenizer tokenizer) {
        this.trie = TokenTrie.of(tokenizer);
        this.tok = tokenizer;
        this.words = (trie.vocabSize + 63) >>> 6;
        Shared sh = sharedOrNull(grammar, tokenizer);
        if (sh == null) {
            // built outside the lock (the precomputed masks take up to a second for a large schema);
            // two threads may both build one, the first stored wins
            Shared fresh = new Shared(grammar, trie);
            synchronized (SHARED) {
                Map<Tokenizer, Shared> byTok = SHARED.computeIfAbsent(grammar, k -> new java.util.HashMap<>());
                sh = byTok.get(tokenizer);
                if (sh == null || sh.automaton.stateCount() > SHARED_STATES) {
                    sh = fresh;
                    byTok.put(tokenizer, sh);
                }
            }
        }
        this.shared = sh;
        this.automaton = shared.automaton;
        this.state = automaton.start();
    }

    private static Shared sharedOrNull(Grammar grammar, Tokenizer tokenizer) {
        synchronized (SHARED) {
            Map<Tokenizer, Shared> byTok = SHARED.get(grammar);
            Shared sh = byTok == null ? null : byTok.get(tokenizer);
            return sh == null || sh.automaton.stateCount() > SHARED_STATES ? null : sh;
        }
    }

    /** @return a factory of constraints for {@code grammar} (compiled once, shared) */
    public static TokenConstraint.Factory factory(Grammar grammar) {
        return tokenizer -> new GrammarConstraint(grammar, tokenizer);
    }

    @Override
    public boolean mask(float[] logits) {
        long[] m = allowed();
        boolean any = false;
        int n = Math.min(logits.length, trie.vocabSize);
        for (int w = 0; w < words; w++) {
            long bits = m[w];
            int base = w << 6;
            int end = Math.min(base + 64, n);
            if (bits == 0) {
                java.util.Arrays.fill(logits, base, Math.max(base, end), Float.NEGATIVE_INFINITY);
                continue;
            }
            any = true;
            long z = ~bits;
            while (z != 0) {
                int i = base + Long.numberOfTrailingZeros(z);
                if (i >= end) {
                    break;
                }
                logits[i] = Float.NEGATIVE_INFINITY;
                z &= z - 1;
            }
        }
        for (int i = n; i < logits.length; i++) {
            logits[i] = Float.NEGATIVE_INFINITY;
        }
        return any;
    }

    /**
     * @return the allowed tokens as a bit set over the tokenizer's vocabulary ({@code bit i} of
     *     word {@code i >> 6}); owned by a cache, do not modify
     */
    public long[] allowed() {
        if (ended) {
            return new long[words];
        }
        synchronized (shared) {
            long[] m = shared.masks.get(state);
            if (m == null) {
                m = shared.stackMasks != null ? assemble(state) : compute(state);
                shared.masks.put(state, m);
            }
            return m;
        }
    }

    private long[] assemble(int s) {
        long[] m = new long[words];
        if (automaton.accepting(s)) {
            for (int id : trie.endOfGeneration) {
                m[id >>> 6] |= 1L << id;
            }
        }
        shared.stackMasks.addAllowed(s, m);
        return m;
    }

    /** Visible for tests: the allowed set by one walk over the whole trie (no precomputed masks). */
    long[] walkAllowed() {
        synchronized (shared) {
            return compute(state);
        }
    }

    /** Visible for tests and benchmarks: the precomputed per-stack masks, or null. */
    StackMasks stackMasks() {
        return shared.stackMasks;
    }

    private long[] compute(int s) {
        long[] m = new long[words];
        if (automaton.accepting(s)) {
            for (int id : trie.endOfGeneration) {
                m[id >>> 6] |= 1L << id;
            }
        }
        byte[] bytes = trie.bytes;
        int[] depth = trie.depth;
        int[] skip = trie.skip;
        int[] ts = trie.tokenStart;
        int[] tokens = trie.tokens;
        int[] at = shared.stateAt;
        at[0] = s;
        GrammarAutomaton a = automaton;
        int n = bytes.length;
        int i = 0;
        while (i < n) {
            int next = a.step(at[depth[i] - 1], bytes[i] & 0xFF);
            if (next == GrammarAutomaton.DEAD) {
                i = skip[i];
                continue;
            }
            at[depth[i]] = next;
            for (int k = ts[i], e = ts[i + 1]; k < e; k++) {
                int id = tokens[k];
                m[id >>> 6] |= 1L << id;
            }
            i++;
        }
        return m;
    }

    @Override
    public void accept(int token) {
        if (ended) {
            throw new IllegalArgumentException("token " + token + " after the end of generation");
        }
        if (tok.isEndOfGeneration(token)) {
            if (!complete()) {
                throw new IllegalArgumentException("end-of-generation token " + token + " before the grammar is complete");
            }
            ended = true;
            return;
        }
        int s = state;
        synchronized (shared) {
            for (byte b : tok.tokenBytes(token)) {
                s = automaton.step(s, b & 0xFF);
                if (s == GrammarAutomaton.DEAD) {
                    throw new IllegalArgumentException("token " + token + " (" + tok.piece(token) + ") is not allowed by the grammar here");
                }
            }
        }
        state = s;
    }

    /** Exact: each token is checked against the same mask {@link #mask} would apply at its place. */
    @Override
    public int allowedPrefix(int[] tokens, int count) {
        int saved = state;
        boolean savedEnded = ended;
        try {
            for (int i = 0; i < count; i++) {
                int t = tokens[i];
                long[] m = allowed();
                if (t < 0 || t >= trie.vocabSize || (m[t >> 6] & (1L << t)) == 0) {
                    return i;
                }
                accept(t);
            }
            return count;
        } finally {
            state = saved;
            ended = savedEnded;
        }
    }

    /** @return whether the text so far is a complete string of the grammar */
    public boolean complete() {
        synchronized (shared) {
            return automaton.accepting(state);
        }
    }

    /** Returns to the start state (before any byte). */
    void reset() {
        state = automaton.start();
        ended = false;
    }

    /** Visible for tests: consumes bytes as if a token had them (throws if the grammar rejects them). */
    void feed(byte[] bytes) {
        synchronized (shared) {
            feedLocked(bytes);
        }
    }

    private void feedLocked(byte[] bytes) {
        for (byte b : bytes) {
            state = automaton.step(state, b & 0xFF);
            if (state == GrammarAutomaton.DEAD) {
                throw new IllegalArgumentException("the grammar rejects these bytes");
            }
        }
    }

    /** Visible for tests: the automaton state. */
    int state() {
        return state;
    }

    GrammarAutomaton automaton() {
        return automaton;
    }
}
