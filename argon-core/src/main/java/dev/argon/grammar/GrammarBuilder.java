package dev.argon.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects rules as alternatives of element sequences and compiles them into a {@link Grammar}.
 * Elements are ints: {@code >= 0} a byte set, {@code -2 - r} a reference to rule {@code r}.
 * Character classes become byte-level alternatives ({@link Utf8Ranges}); repetition operators
 * become generated right-recursive rules (so matching needs no counters).
 */
final class GrammarBuilder {
    private final List<String> names = new ArrayList<>();
    private final Map<String, Integer> ids = new HashMap<>();
    private final List<List<List<Integer>>> rules = new ArrayList<>();
    private final Map<String, String> firstUse = new LinkedHashMap<>();
    private final List<long[]> sets = new ArrayList<>();
    private final Map<String, Integer> setIds = new HashMap<>();
    private final Map<String, Integer> classRules = new HashMap<>();
    private final Map<String, Integer> generatedCount = new HashMap<>();

    /** @return the id of the named rule, created undefined on first use ({@code where} is kept for the error) */
    int rule(String name, String where) {
        Integer id = ids.get(name);
        if (id == null) {
            id = names.size();
            ids.put(name, id);
            names.add(name);
            rules.add(null);
            firstUse.put(name, where);
        }
        return id;
    }

    boolean defined(String name) {
        Integer id = ids.get(name);
        return id != null && rules.get(id) != null;
    }

    /** @return a new rule named after {@code base} that no grammar text can name ({@code base-N}) */
    int newRule(String base) {
        int n = generatedCount.merge(base, 1, Integer::sum);
        String name = base + "-" + n;
        while (ids.containsKey(name)) {
            n = generatedCount.merge(base, 1, Integer::sum);
            name = base + "-" + n;
        }
        return rule(name, null);
    }

    void define(int rule, List<List<Integer>> alternatives) {
        rules.set(rule, alternatives);
    }

    static int ref(int rule) {
        return -2 - rule;
    }

    /** @return the element matching one byte in {@code [lo, hi]} */
    int byteRange(int lo, int hi) {
        long[] s = new long[4];
        for (int b = lo; b <= hi; b++) {
            s[b >> 6] |= 1L << (b & 63);
        }
        return byteSet(s);
    }

    int byteSet(long[] s) {
        String key = Arrays.toString(s);
        Integer id = setIds.get(key);
        if (id == null) {
            id = sets.size();
            sets.add(s);
            setIds.put(key, id);
        }
        return id;
    }

    /** Appends the elements of a literal string (its UTF-8 bytes, one element each). */
    void literal(String s, List<Integer> out) {
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            out.add(byteRange(b & 0xFF, b & 0xFF));
        }
    }

    /**
     * @param ranges sorted, non-overlapping code point ranges {@code [lo0, hi0, lo1, hi1, ...]}
     * @return one element matching exactly one UTF-8 character in the ranges
     */
    int charClass(int[] ranges, String base) {
        String key = Arrays.toString(ranges);
        Integer known = classRules.get(key);
        if (known != null) {
            return known;
        }
        long[] single = new long[4];
        boolean anySingle = false;
        List<List<Integer>> alts = new ArrayList<>();
        for (int i = 0; i < ranges.length; i += 2) {
            for (int[] seq : Utf8Ranges.split(ranges[i], ranges[i + 1])) {
                if (seq.length == 2) {
                    for (int b = seq[0]; b <= seq[1]; b++) {
                        single[b >> 6] |= 1L << (b & 63);
                    }
                    anySingle = true;
                } else {
                    List<Integer> alt = new ArrayList<>();
                    for (int j = 0; j < seq.length; j += 2) {
                        alt.add(byteRange(seq[j], seq[j + 1]));
                    }
                    alts.add(alt);
                }
            }
        }
        int element;
        if (alts.isEmpty()) {
            element = anySingle ? byteSet(single) : byteSet(new long[4]);
        } else {
            if (anySingle) {
                alts.addFirst(new ArrayList<>(List.of(byteSet(single))));
            }
            int r = newRule(base + "-char");
            define(r, alts);
            element = ref(r);
        }
        classRules.put(key, element);
        return element;
    }

    /** @return one element standing for the sequence (the element itself if it has one) */
    int group(List<Integer> seq, String base) {
        if (seq.size() == 1) {
            return seq.getFirst();
        }
        int r = newRule(base);
        define(r, List.of(new ArrayList<>(seq)));
        return ref(r);
    }

    /**
     * @param x the repeated element
     * @param min at least this many
     * @param max at most this many, -1 = unbounded
     * @return the elements matching {@code x{min,max}}
     */
    List<Integer> repeat(int x, int min, int max, String base) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < min; i++) {
            out.add(x);
        }
        if (max < 0) {
            int r = newRule(base + "-star");
            define(r, List.of(new ArrayList<>(List.of(x, ref(r))), new ArrayList<>()));
            out.add(ref(r));
        } else if (max > min) {
            int prev = -1;
            for (int k = 1; k <= max - min; k++) {
                int r = newRule(base + "-opt");
                List<Integer> alt = new ArrayList<>(List.of(x));
                if (prev >= 0) {
                    alt.add(ref(prev));
                }
                define(r, List.of(alt, new ArrayList<>()));
                prev = r;
            }
            out.add(ref(prev));
        }
        return out;
    }

    /**
     * @return the compiled grammar starting at {@code root}
     * @throws GrammarException if a referenced rule is undefined, the root is missing, or a rule
     *     is left-recursive
     */
    Grammar build(String root) {
        for (int r = 0; r < names.size(); r++) {
            if (rules.get(r) == null) {
                String where = firstUse.get(names.get(r));
                throw new GrammarException("undefined rule '" + names.get(r) + "'"
                        + (where == null ? "" : " (used at " + where + ")"));
            }
        }
        Integer rootId = ids.get(root);
        if (rootId == null) {
            throw new GrammarException("the grammar has no rule named '" + root + "' (the rule generation starts from)");
        }
        checkLeftRecursion();
        List<Integer> code = new ArrayList<>();
        int[][] alts = new int[names.size()][];
        for (int r = 0; r < names.size(); r++) {
            List<List<Integer>> rule = rules.get(r);
            alts[r] = new int[rule.size()];
            for (int a = 0; a < rule.size(); a++) {
                alts[r][a] = code.size();
                code.addAll(rule.get(a));
                code.add(Grammar.END);
            }
        }
        long[] flat = new long[sets.size() * 4];
        for (int i = 0; i < sets.size(); i++) {
            System.arraycopy(sets.get(i), 0, flat, 4 * i, 4);
        }
        return new Grammar(code.stream().mapToInt(Integer::intValue).toArray(), flat, alts,
                names.toArray(String[]::new), rootId);
    }

    private void checkLeftRecursion() {
        int n = names.size();
        boolean[] nullable = new boolean[n];
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int r = 0; r < n; r++) {
                if (nullable[r]) {
                    continue;
                }
                for (List<Integer> alt : rules.get(r)) {
                    boolean all = true;
                    for (int e : alt) {
                        if (e >= 0 || !nullable[-2 - e]) {
                            all = false;
                            break;
                        }
                    }
                    if (all) {
                        nullable[r] = true;
                        changed = true;
                        break;
                    }
                }
            }
        }
        int[] color = new int[n];
        for (int r = 0; r < n; r++) {
            if (color[r] == 0) {
                List<Integer> path = new ArrayList<>();
                visit(r, nullable, color, path);
            }
        }
    }

    private void visit(int r, boolean[] nullable, int[] color, List<Integer> path) {
        color[r] = 1;
        path.add(r);
        for (List<Integer> alt : rules.get(r)) {
            for (int e : alt) {
                if (e >= 0) {
                    break;
                }
                int s = -2 - e;
                if (color[s] == 1) {
                    StringBuilder cycle = new StringBuilder();
                    for (int i = path.indexOf(s); i < path.size(); i++) {
                        cycle.append(names.get(path.get(i))).append(" -> ");
                    }
                    cycle.append(names.get(s));
                    throw new GrammarException("rule '" + names.get(s) + "' is left-recursive (" + cycle
                            + " without consuming input); rewrite it with repetition, e.g. x ::= y (\",\" y)*");
                }
                if (color[s] == 0) {
                    visit(s, nullable, color, path);
                }
                if (!nullable[s]) {
                    break;
                }
            }
        }
        path.removeLast();
        color[r] = 2;
    }
}
