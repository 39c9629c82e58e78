package dev.argon.grammar;

/**
 * A compiled context-free grammar over bytes, from llama.cpp's GBNF format ({@link #parse}).
 * Immutable and safe to share. Rules are lists of alternatives; an alternative is a sequence of
 * elements in {@link #code}, ended by {@link #END}: a byte set ({@code >= 0}, an index into
 * {@link #sets}) or a rule reference ({@code -2 - rule}). Character classes are compiled to the
 * byte sequences of their UTF-8 encodings, so matching runs on bytes and a token may end inside a
 * character.
 */
public final class Grammar {
    static final int END = -1;

    final int[] code;
    /** Byte sets, 4 longs (256 bits) each. */
    final long[] sets;
    final int[][] alternatives;
    final String[] names;
    final int root;

    Grammar(int[] code, long[] sets, int[][] alternatives, String[] names, int root) {
        this.code = code;
        this.sets = sets;
        this.alternatives = alternatives;
        this.names = names;
        this.root = root;
    }

    /**
     * Parses llama.cpp's GBNF ({@code grammars/README.md} of llama.cpp): {@code name ::= ...} rules
     * with literals {@code "..."}, classes {@code [a-z]} / {@code [^...]}, {@code .}, groups,
     * alternatives {@code |}, repetition {@code * + ?} and {@code {m}}, {@code {m,}},
     * {@code {m,n}}, comments {@code #}. Generation starts at {@code root}.
     *
     * @throws GrammarException with {@code line:column} for a syntax error, or naming the rule
     *     that is undefined or left-recursive
     */
    public static Grammar parse(String gbnf) {
        synchronized (RECENT) {
            Grammar g = RECENT.get(gbnf);
            if (g != null) {
                return g;
            }
        }
        Grammar g = parseFresh(gbnf);
        synchronized (RECENT) {
            RECENT.put(gbnf, g);
        }
        return g;
    }

    /**
     * Parses without the cache of {@link #parse}: a new instance whose constraints share no parser
     * states or masks with earlier ones (for measuring a grammar's first use).
     *
     * @throws GrammarException as {@link #parse}
     */
    public static Grammar parseFresh(String gbnf) {
        try {
            return new GbnfParser(gbnf).parse();
        } catch (StackOverflowError e) {
            throw new GrammarException("grammar error: the grammar nests too deeply (groups inside groups) to parse;"
                    + " flatten it into named rules");
        }
    }

    /**
     * The most recently parsed grammars by text: the same text gives the same instance, so
     * requests repeating a grammar or schema share its parser states and masks
     * ({@link GrammarConstraint}).
     */
    private static final java.util.Map<String, Grammar> RECENT = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<String, Grammar> e) {
            return size() > 64;
        }
    };

    /** @return the number of rules, including generated ones */
    public int ruleCount() {
        return names.length;
    }

    /** @return whether {@code text} (all of its UTF-8 bytes) is a complete string of this grammar */
    public boolean matches(String text) {
        GrammarAutomaton a = new GrammarAutomaton(this);
        int s = a.start();
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            s = a.step(s, b & 0xFF);
            if (s == GrammarAutomaton.DEAD) {
                return false;
            }
        }
        return a.accepting(s);
    }

    boolean setContains(int set, int b) {
        return (sets[4 * set + (b >> 6)] & (1L << (b & 63))) != 0;
    }
}
