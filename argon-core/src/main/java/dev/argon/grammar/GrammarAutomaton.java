package dev.argon.grammar;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs a {@link Grammar} over bytes as a pushdown recognizer whose configurations are built into a
 * deterministic automaton on demand. A configuration is the set of parse stacks still alive (the
 * approach of llama.cpp's grammar sampler); stacks are hash-consed lists of grammar positions, and
 * each distinct set of stacks gets a state id whose 256 byte transitions are computed once and
 * cached. So after warm-up, consuming a byte is one array read.
 *
 * <p>A stack's top is always a byte-set element, or the stack is empty (the grammar has matched a
 * complete string). References whose continuation is the end of their alternative are not pushed
 * (tail calls), so right-recursive repetition keeps stacks short. Not thread-safe.
 */
final class GrammarAutomaton {
    /** The state with no live stack: no byte can follow. */
    static final int DEAD = -1;
    private static final int UNKNOWN = -2;
    private static final int MAX_STATES = 200_000;

    private final Grammar g;
    // stack nodes: node 0 is the empty stack
    private int[] nodePos = new int[1024];
    private int[] nodeParent = new int[1024];
    private int nodes = 1;
    private final Map<Long, Integer> nodeIds = new HashMap<>();
    private final Map<Integer, int[]> expansions = new HashMap<>();
    // states
    private final Map<Key, Integer> stateIds = new HashMap<>();
    private int[][] stateStacks = new int[256][];
    private boolean[] accepting = new boolean[256];
    private boolean[] holed = new boolean[256];
    /**
     * Transitions in chunks of 256 states x 256 bytes, so that growing never copies the table
     * (a copy of many megabytes would stall the token that happens to grow it).
     */
    private int[][] trans = new int[16][];
    private int states;
    private final int start;
    /** The position of the hole: a stack element standing for an unknown rest of the stack. */
    private final int holePos;
    private final int hole;

    GrammarAutomaton(Grammar g) {
        this.g = g;
        this.holePos = g.code.length;
        trans[0] = newChunk();
        IntSet tops = new IntSet();
        // the start configuration: every alternative of root, with nothing to return to
        for (int alt : g.alternatives[g.root]) {
            expand(node(alt, 0), tops);
        }
        this.start = state(tops.sorted());
        this.hole = node(holePos, 0);
    }

    /** @return the state before any byte */
    int start() {
        return start;
    }

    /** @return whether the bytes consumed to reach {@code state} form a complete string of the grammar */
    boolean accepting(int state) {
        return accepting[state];
    }

    /**
     * @return whether some stack of {@code state} has reached a {@link #chainState hole}: the
     *     grammar rules on the known part of the stack are complete and what follows is unknown
     */
    boolean holed(int state) {
        return holed[state];
    }

    /** @return the stacks (node ids, 0 = the empty stack) of {@code state}; do not modify */
    int[] stacks(int state) {
        return stateStacks[state];
    }

    /** @return the grammar position of stack node {@code n} */
    int nodePos(int n) {
        return nodePos[n];
    }

    /** @return the node below stack node {@code n} (0 = the empty stack) */
    int nodeParent(int n) {
        return nodeParent[n];
    }

    /** @return the state whose only stack is {@code n} (a node with a byte set on top, as states hold) */
    int singleton(int n) {
        return state(new int[]{n});
    }

    /**
     * Builds the state of a partly known stack: {@code positions[0]} on top (a byte-set
     * position), each next one below it; below the last, the empty stack when {@code bottom},
     * else a hole (an unknown rest, marked by {@link #holed} once the known part is used up).
     */
    int chainState(int[] positions, int count, boolean bottom) {
        int n = bottom ? 0 : hole;
        for (int i = count - 1; i >= 0; i--) {
            n = node(positions[i], n);
        }
        return singleton(n);
    }

    /** @return the number of states built so far */
    int stateCount() {
        return states;
    }

    /** @return the state after consuming byte {@code b} (0..255) in {@code state}, or {@link #DEAD} */
    int step(int state, int b) {
        int[] chunk = trans[state >>> 8];
        int i = ((state & 0xFF) << 8) | b;
        int t = chunk[i];
        if (t != UNKNOWN) {
            return t;
        }
        t = compute(state, b);
        chunk[i] = t;
        return t;
    }

    private final IntSet scratch = new IntSet();

    private int compute(int state, int b) {
        int[] stacks = stateStacks[state];
        IntSet out = scratch;
        out.clear();
        for (int n : stacks) {
            if (n == 0) {
                continue;
            }
            int pos = nodePos[n];
            if (pos != holePos && g.setContains(g.code[pos], b)) {
                expand(node(pos + 1, nodeParent[n]), out);
            }
        }
        if (out.size == 0) {
            return DEAD;
        }
        if (states >= MAX_STATES) {
            throw new GrammarException("the grammar needs more than " + MAX_STATES
                    + " parser states (it is too ambiguous); simplify it");
        }
        return state(out.sorted());
    }

    private static int[] newChunk() {
        int[] c = new int[256 * 256];
        Arrays.fill(c, UNKNOWN);
        return c;
    }

    private int state(int[] stacks) {
        Key k = new Key(stacks);
        Integer id = stateIds.get(k);
        if (id != null) {
            return id;
        }
        int s = states++;
        if (s == stateStacks.length) {
            stateStacks = Arrays.copyOf(stateStacks, s * 2);
            accepting = Arrays.copyOf(accepting, s * 2);
            holed = Arrays.copyOf(holed, s * 2);
        }
        if ((s >>> 8) >= trans.length) {
            trans = Arrays.copyOf(trans, trans.length * 2);
        }
        if (trans[s >>> 8] == null) {
            trans[s >>> 8] = newChunk();
        }
        stateStacks[s] = stacks;
        accepting[s] = stacks.length > 0 && stacks[0] == 0;
        holed[s] = hole > 0 && Arrays.binarySearch(stacks, hole) >= 0;
        stateIds.put(k, s);
        return s;
    }

    private int node(int pos, int parent) {
        long key = ((long) pos << 32) | (parent & 0xFFFFFFFFL);
        Integer id = nodeIds.get(key);
        if (id != null) {
            return id;
        }
        int n = nodes++;
        if (n == nodePos.length) {
            nodePos = Arrays.copyOf(nodePos, n * 2);
            nodeParent = Arrays.copyOf(nodeParent, n * 2);
        }
        nodePos[n] = pos;
        nodeParent[n] = parent;
        nodeIds.put(key, n);
        return n;
    }

    /** Adds the stacks with a byte set (or nothing) on top that stack {@code n} stands for. */
    private void expand(int n, IntSet out) {
        int[] cached = expansions.get(n);
        if (cached == null) {
            IntSet tmp = new IntSet();
            expandInto(n, tmp, 0);
            cached = tmp.sorted();
            expansions.put(n, cached);
        }
        for (int t : cached) {
            out.add(t);
        }
    }

    private void expandInto(int n, IntSet out, int depth) {
        if (depth > 100_000) {
            throw new GrammarException("the grammar nests rules more than 100000 deep without consuming input");
        }
        if (n == 0) {
            out.add(0);
            return;
        }
        int pos = nodePos[n];
        if (pos == holePos) {
            out.add(n);
            return;
        }
        int e = g.code[pos];
        if (e >= 0) {
            out.add(n);
        } else if (e == Grammar.END) {
            expandInto(nodeParent[n], out, depth + 1);
        } else {
            int rule = -2 - e;
            int parent = nodeParent[n];
            int cont = g.code[pos + 1] == Grammar.END ? parent : node(pos + 1, parent);
            for (int alt : g.alternatives[rule]) {
                expandInto(node(alt, cont), out, depth + 1);
            }
        }
    }

    /** A small growable bag of ints, deduplicated when read ({@link #sorted}). */
    static final class IntSet {
        int[] a = new int[16];
        int size;

        void clear() {
            size = 0;
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }

        int[] sorted() {
            int[] s = Arrays.copyOf(a, size);
            Arrays.sort(s);
            int k = 0;
            for (int i = 0; i < s.length; i++) {
                if (k == 0 || s[i] != s[k - 1]) {
                    s[k++] = s[i];
                }
            }
            return k == s.length ? s : Arrays.copyOf(s, k);
        }
    }

    private record Key(int[] a) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(a, k.a);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(a);
        }
    }
}
