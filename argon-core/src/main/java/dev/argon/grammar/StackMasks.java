package dev.argon.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Token masks of parser states assembled from masks precomputed per stack top, so that a state
 * seen for the first time costs a few bit-set unions instead of a walk over the whole vocabulary.
 * This is the split of XGrammar (Dong et al., 2024, "XGrammar: Flexible and Efficient Structured
 * Generation Engine for Large Language Models"): tokens that the top of a stack decides alone,
 * computed when the grammar meets the vocabulary, and context-dependent tokens, checked against
 * the whole stack at run time.
 *
 * <p>A state is a set of stacks and a token is allowed if and only if some stack accepts its bytes.
 * For one stack the key is its top {@link #DEPTH} nodes (grammar positions), or all of them with
 * the empty stack below when it is shorter. Walking the {@link TokenTrie} from the key with a
 * hole below it classifies every token: <em>accepted</em> (a parse consumes all its bytes within
 * the known nodes), <em>rejected</em> (every parse dies without reaching the hole) or
 * <em>context-dependent</em> (the known nodes died after a parse had reached the hole, so the rest
 * of the stack decides). The accepted tokens are kept as a bit set or id list, the
 * context-dependent ones as the trie nodes where the known part died; at run time those subtrees
 * are walked from the real stack. The result is exact: the same set as walking every token's bytes.
 *
 * <p>The keys are enumerated from the grammar when it is built: a rule's possible parent
 * positions are the positions after its non-tail references, and through tail references those
 * of the calling rule (at most {@link #MAX_PRECOMPUTED} keys). A key met at run time that the
 * enumeration missed is computed then. Not
 * thread-safe (used under the lock of {@link GrammarConstraint}'s shared state).
 */
final class StackMasks {
    /** Stack nodes per key. */
    static final int DEPTH = 3;
    private static final int BITS = 21;
    private static final int BOTTOM = -1;
    /** Keys enumerated at most when the grammar meets a vocabulary; the rest are computed when met. */
    static final int MAX_PRECOMPUTED = 50_000;

    private final GrammarAutomaton a;
    private final Grammar g;
    private final TokenTrie trie;
    private final int words;
    private final int listMax;
    private final Map<Long, Entry> entries = new HashMap<>();
    private final int[] at;
    private final boolean[] holeSeen;
    private final int[] path;
    private long precomputeNanos;

    /** Accepted tokens ({@code bits} when many, else {@code list}) and the trie nodes to check at run time. */
    private record Entry(long[] bits, int[] list, int[] roots) {
    }

    /** @return whether positions of {@code g} fit the keys (else callers walk the trie per state) */
    static boolean supports(Grammar g) {
        return g.code.length + 2 < (1 << BITS);
    }

    StackMasks(GrammarAutomaton a, Grammar g, TokenTrie trie) {
        this.a = a;
        this.g = g;
        this.trie = trie;
        this.words = (trie.vocabSize + 63) >>> 6;
        this.listMax = Math.max(16, trie.vocabSize / 32);
        this.at = new int[trie.maxDepth + 1];
        this.holeSeen = new boolean[trie.maxDepth + 1];
        this.path = new int[trie.maxDepth + 1];
    }

    /** Computes the entries of every key the grammar can produce. */
    void precompute() {
        long t0 = System.nanoTime();
        int[] code = g.code;
        int rules = g.alternatives.length;
        int[] ruleOf = new int[code.length];
        Arrays.fill(ruleOf, -1);
        for (int r = 0; r < rules; r++) {
            for (int alt : g.alternatives[r]) {
                for (int p = alt; code[p] != Grammar.END; p++) {
                    ruleOf[p] = r;
                }
            }
        }
        List<Set<Integer>> parents = new ArrayList<>(rules);
        for (int r = 0; r < rules; r++) {
            parents.add(new HashSet<>());
        }
        parents.get(g.root).add(BOTTOM);
        List<int[]> tailRefs = new ArrayList<>();
        for (int p = 0; p < code.length; p++) {
            if (code[p] <= -2) {
                int r = -2 - code[p];
                if (code[p + 1] == Grammar.END) {
                    tailRefs.add(new int[]{ruleOf[p], r});
                } else {
                    parents.get(r).add(p + 1);
                }
            }
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int[] t : tailRefs) {
                if (t[0] != t[1] && parents.get(t[1]).addAll(parents.get(t[0]))) {
                    changed = true;
                }
            }
        }
        int[] chain = new int[DEPTH];
        for (int p = 0; p < code.length; p++) {
            if (code[p] >= 0 && ruleOf[p] >= 0) {
                enumerate(chain, 0, p, ruleOf, parents);
            }
        }
        precomputeNanos = System.nanoTime() - t0;
    }

    private void enumerate(int[] chain, int level, int p, int[] ruleOf, List<Set<Integer>> parents) {
        if (entries.size() >= MAX_PRECOMPUTED) {
            return;
        }
        chain[level] = p;
        if (level + 1 == DEPTH) {
            entry(key(chain, DEPTH));
            return;
        }
        for (int q : parents.get(ruleOf[p])) {
            if (q == BOTTOM) {
                entry(key(chain, level + 1));
            } else {
                enumerate(chain, level + 1, q, ruleOf, parents);
            }
        }
    }

    private static long key(int[] positions, int count) {
        long k = 0;
        for (int i = 0; i < count; i++) {
            k |= (long) (positions[i] + 1) << (BITS * i);
        }
        return k;
    }

    /** @return the key of the stack whose top node is {@code n} */
    private long key(int n) {
        long k = 0;
        for (int i = 0; i < DEPTH && n != 0; i++) {
            k |= (long) (a.nodePos(n) + 1) << (BITS * i);
            n = a.nodeParent(n);
        }
        return k;
    }

    /** @return the number of keys computed so far */
    int size() {
        return entries.size();
    }

    /** @return the time {@link #precompute} took, in nanoseconds */
    long precomputeNanos() {
        return precomputeNanos;
    }

    /** @return the number of context-dependent subtrees over all keys (a measure of run-time work) */
    long rootCount() {
        long c = 0;
        for (Entry e : entries.values()) {
            c += e.roots.length;
        }
        return c;
    }

    private Entry entry(long key) {
        Entry e = entries.get(key);
        if (e == null) {
            e = compute(key);
            entries.put(key, e);
        }
        return e;
    }

    private Entry compute(long key) {
        int[] positions = new int[DEPTH];
        int count = 0;
        while (count < DEPTH && ((key >>> (BITS * count)) & ((1L << BITS) - 1)) != 0) {
            positions[count] = (int) ((key >>> (BITS * count)) & ((1L << BITS) - 1)) - 1;
            count++;
        }
        int s0 = a.chainState(positions, count, count < DEPTH);
        byte[] bytes = trie.bytes;
        int[] depth = trie.depth;
        int[] skip = trie.skip;
        int[] ts = trie.tokenStart;
        int[] tokens = trie.tokens;
        int[] acc = new int[64];
        int nacc = 0;
        int[] roots = new int[16];
        int nroots = 0;
        at[0] = s0;
        holeSeen[0] = a.holed(s0);
        int n = bytes.length;
        int i = 0;
        while (i < n) {
            int d = depth[i];
            int next = a.step(at[d - 1], bytes[i] & 0xFF);
            if (next == GrammarAutomaton.DEAD) {
                if (holeSeen[d - 1]) {
                    if (nroots == roots.length) {
                        roots = Arrays.copyOf(roots, nroots * 2);
                    }
                    roots[nroots++] = i;
                }
                i = skip[i];
                continue;
            }
            at[d] = next;
            holeSeen[d] = holeSeen[d - 1] || a.holed(next);
            for (int k = ts[i], e = ts[i + 1]; k < e; k++) {
                if (nacc == acc.length) {
                    acc = Arrays.copyOf(acc, nacc * 2);
                }
                acc[nacc++] = tokens[k];
            }
            i++;
        }
        roots = Arrays.copyOf(roots, nroots);
        if (nacc > listMax) {
            long[] bits = new long[words];
            for (int k = 0; k < nacc; k++) {
                bits[acc[k] >>> 6] |= 1L << acc[k];
            }
            return new Entry(bits, null, roots);
        }
        return new Entry(null, Arrays.copyOf(acc, nacc), roots);
    }

    /**
     * Adds to {@code m} the tokens that state {@code state} allows (end-of-generation tokens aside).
     *
     * @param m a bit set over the vocabulary, {@code bit i} of word {@code i >> 6}
     */
    void addAllowed(int state, long[] m) {
        for (int n : a.stacks(state)) {
            if (n == 0) {
                continue;
            }
            Entry e = entry(key(n));
            if (e.bits != null) {
                long[] b = e.bits;
                for (int w = 0; w < words; w++) {
                    m[w] |= b[w];
                }
            } else {
                for (int id : e.list) {
                    m[id >>> 6] |= 1L << id;
                }
            }
            if (e.roots.length > 0) {
                checkRoots(a.singleton(n), e.roots, m);
            }
        }
    }

    /** Walks the subtrees at {@code roots} from the real single-stack state {@code s1}. */
    private void checkRoots(int s1, int[] roots, long[] m) {
        byte[] bytes = trie.bytes;
        int[] depth = trie.depth;
        int[] skip = trie.skip;
        int[] parent = trie.parent;
        int[] ts = trie.tokenStart;
        int[] tokens = trie.tokens;
        int lastParent = -2;
        int prefixState = GrammarAutomaton.DEAD;
        for (int r : roots) {
            int up = parent[r];
            if (up != lastParent) {
                lastParent = up;
                int len = 0;
                for (int x = up; x >= 0; x = parent[x]) {
                    path[len++] = x;
                }
                int s = s1;
                for (int k = len - 1; k >= 0 && s != GrammarAutomaton.DEAD; k--) {
                    s = a.step(s, bytes[path[k]] & 0xFF);
                }
                prefixState = s;
            }
            if (prefixState == GrammarAutomaton.DEAD) {
                continue;
            }
            at[depth[r] - 1] = prefixState;
            int i = r;
            int end = skip[r];
            while (i < end) {
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
        }
    }
}
