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
 * for the most recent states (a state seen again costs only applying the bit mask). Not
 * thread-safe: one per sequence.
 */
public final class GrammarConstraint implements TokenConstraint {
    private static final int MASK_CACHE = 64;

    private final GrammarAutomaton automaton;
    private final TokenTrie trie;
    private final Tokenizer tok;
    private final int words;
    private final int[] stateAt;
    private final Map<Integer, long[]> masks = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, long[]> e) {
            return size() > MASK_CACHE;
        }
    };
    private int state;
    private boolean ended;

    /** @param grammar the grammar; @param tokenizer the model's tokenizer */
    public GrammarConstraint(Grammar grammar, Tokenizer tokenizer) {
        this.automaton = new GrammarAutomaton(grammar);
        this.trie = TokenTrie.of(tokenizer);
        this.tok = tokenizer;
        this.words = (trie.vocabSize + 63) >>> 6;
        this.stateAt = new int[trie.maxDepth + 1];
        this.state = automaton.start();
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
            if (bits == -1L && base + 64 <= n) {
                any = true;
                continue;
            }
            int end = Math.min(base + 64, n);
            for (int i = base; i < end; i++) {
                if ((bits & (1L << (i - base))) == 0) {
                    logits[i] = Float.NEGATIVE_INFINITY;
                }
            }
            any |= bits != 0;
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
        long[] m = masks.get(state);
        if (m == null) {
            m = compute(state);
            masks.put(state, m);
        }
        return m;
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
        int[] at = stateAt;
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
            if (!automaton.accepting(state)) {
                throw new IllegalArgumentException("end-of-generation token " + token + " before the grammar is complete");
            }
            ended = true;
            return;
        }
        int s = state;
        for (byte b : tok.tokenBytes(token)) {
            s = automaton.step(s, b & 0xFF);
            if (s == GrammarAutomaton.DEAD) {
                throw new IllegalArgumentException("token " + token + " (" + tok.piece(token) + ") is not allowed by the grammar here");
            }
        }
        state = s;
    }

    /** @return whether the text so far is a complete string of the grammar */
    public boolean complete() {
        return automaton.accepting(state);
    }

    /** Visible for tests: consumes bytes as if a token had them (throws if the grammar rejects them). */
    void feed(byte[] bytes) {
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
