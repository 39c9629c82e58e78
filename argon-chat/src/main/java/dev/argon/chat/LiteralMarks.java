package dev.argon.chat;

import dev.argon.ArgonException;
import dev.argon.tokenizer.PromptText;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Keeps control-token text that comes from template <em>data</em> (message content, names, tool
 * descriptions) plain through rendering.
 *
 * <p>Before rendering, a mark character is put after every character of a data string that could
 * be part of a control token: each occurrence of a control-token text (such as
 * {@code <|eot_id|>}) inside the string, and a proper prefix of one at the string's end or a
 * proper suffix of one at its start (ignoring surrounding whitespace), which template text next
 * to it could complete ({@code "x</"} followed by a template's {@code "s>"}). String methods a
 * template applies ({@code strip()}, {@code split()}, slicing) keep the marks with their
 * characters. After rendering, {@link #unmark} removes the marks and makes each marked character
 * part of a literal range of the resulting {@link PromptText}: a control token is recognised
 * only where none of its characters came from data. The mark is a character that appears nowhere
 * in the template or the data: the first free Unicode noncharacter U+FDD0..U+FDEF, else a free
 * private-use character. Strings that could not form control-token text are passed through
 * unchanged.
 *
 * <p>The same pass keeps ASCII control characters of data intact: Jinjava prints values through
 * a JSON writer, which would turn U+0000..U+001F (but tab, newline, form feed and carriage return)
 * into the six characters {@code \u0000}; they travel through rendering as free stand-in
 * characters and are put back by {@link #unmark}.
 */
final class LiteralMarks {

    /**
     * The control-token texts of a vocabulary, indexed for marking; built once per template.
     *
     * @param byFirstChar texts by their first character, longest first
     * @param prefixes every proper, non-empty prefix of a text
     * @param suffixes every proper, non-empty suffix of a text
     * @param longest the length of the longest text
     */
    record Specials(Map<Character, List<String>> byFirstChar, Set<String> prefixes, Set<String> suffixes, int longest) {
        static final Specials NONE = of(List.of());

        /** @param texts control-token texts, longest first */
        static Specials of(List<String> texts) {
            Map<Character, List<String>> byFirst = new HashMap<>();
            Set<String> prefixes = new HashSet<>();
            Set<String> suffixes = new HashSet<>();
            int longest = 0;
            for (String s : texts) {
                if (s.isEmpty()) {
                    continue;
                }
                byFirst.computeIfAbsent(s.charAt(0), c -> new ArrayList<>()).add(s);
                for (int k = 1; k < s.length(); k++) {
                    prefixes.add(s.substring(0, k));
                    suffixes.add(s.substring(k));
                }
                longest = Math.max(longest, s.length());
            }
            return new Specials(Map.copyOf(byFirst), Set.copyOf(prefixes), Set.copyOf(suffixes), longest);
        }

        boolean isEmpty() {
            return longest == 0;
        }
    }

    private final char mark;
    private final Specials specials;
    /** The first characters of the control-token texts and control characters: most characters are skipped with one bit test. */
    private final BitSet interesting = new BitSet(0x10000);
    /** The stand-in of each ASCII control character that occurs in the data (0 when none). */
    private final char[] standIn;
    /** The control character of each stand-in. */
    private final Map<Character, Character> standsFor = new HashMap<>();

    private LiteralMarks(char mark, Specials specials, char[] standIn) {
        this.mark = mark;
        this.specials = specials;
        this.standIn = standIn;
        for (char c = 0; c < standIn.length; c++) {
            if (standIn[c] != 0) {
                standsFor.put(standIn[c], c);
                interesting.set(c);
            }
        }
        specials.byFirstChar().keySet().forEach(c -> interesting.set(c));
    }

    /** Whether Jinjava's value printer would escape this character (JSON escapes but tab, LF, FF, CR). */
    private static boolean escapedByPrinter(char c) {
        return c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r';
    }

    /**
     * @param specials the vocabulary's control-token texts
     * @param template the template source (the mark must not occur in it)
     * @param data every value that will be marked (maps, lists, strings, nested)
     * @throws ArgonException if the data uses every candidate mark character
     */
    static LiteralMarks choose(Specials specials, String template, List<Object> data) {
        BitSet used = new BitSet(0x10000);
        collect(template, used);
        for (Object d : data) {
            collectDeep(d, used);
        }
        char mark = free(used);
        char[] standIn = new char[0x20];
        for (char c = 0; c < 0x20; c++) {
            if (escapedByPrinter(c) && used.get(c)) {
                standIn[c] = free(used);
            }
        }
        return new LiteralMarks(mark, specials, standIn);
    }

    /** @return a noncharacter or private-use character not used yet, now marked used */
    private static char free(BitSet used) {
        int c = used.nextClearBit(0xFDD0);
        if (c > 0xFDEF) {
            c = used.nextClearBit(0xE000);
            if (c > 0xF8FF) {
                throw new ArgonException("the messages use every Unicode noncharacter and private-use character;"
                        + " remove some so that control-token text in them can be kept as plain text");
            }
        }
        used.set(c);
        return (char) c;
    }

    private static void collectDeep(Object value, BitSet used) {
        if (value instanceof Map<?, ?> m) {
            m.forEach((k, v) -> {
                collectDeep(k, used);
                collectDeep(v, used);
            });
        } else if (value instanceof List<?> l) {
            l.forEach(v -> collectDeep(v, used));
        } else if (value instanceof String s) {
            collect(s, used);
        }
    }

    private static void collect(String s, BitSet used) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '\uE000' || c < 0x20) {
                used.set(c);
            }
        }
    }

    /** @return a deep copy of the value (maps and lists mutable and ordered) with its strings marked */
    Object copyMarked(Object value) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> c = new LinkedHashMap<>();
            m.forEach((k, v) -> c.put(mark(String.valueOf(k)), copyMarked(v)));
            return c;
        }
        if (value instanceof List<?> l) {
            List<Object> c = new ArrayList<>();
            l.forEach(v -> c.add(copyMarked(v)));
            return c;
        }
        return value instanceof String s ? mark(s) : value;
    }

    /**
     * @return the string with the mark after each character that could be part of a control
     *     token, and its ASCII control characters replaced by their stand-ins
     */
    String mark(String s) {
        if (interesting.isEmpty() || s.isEmpty()) {
            return s;
        }
        BitSet literal = literalChars(s);
        boolean control = false;
        for (int i = 0; i < s.length() && !control; i++) {
            control = s.charAt(i) < standIn.length && standIn[s.charAt(i)] != 0;
        }
        if (literal.isEmpty() && !control) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length() + literal.cardinality());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(c < standIn.length && standIn[c] != 0 ? standIn[c] : c);
            if (literal.get(i)) {
                out.append(mark);
            }
        }
        return out.toString();
    }

    /** @return the characters of {@code s} that could belong to a control token, by index */
    private BitSet literalChars(String s) {
        BitSet literal = new BitSet(s.length());
        if (specials.isEmpty()) {
            return literal;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!interesting.get(s.charAt(i))) {
                continue;
            }
            List<String> candidates = specials.byFirstChar().get(s.charAt(i));
            if (candidates == null) {
                continue;
            }
            for (String special : candidates) {
                if (s.startsWith(special, i)) {
                    literal.set(i, i + special.length());
                    break;
                }
            }
        }
        // the ends, where template text could complete a control token
        int start = 0;
        while (start < s.length() && Character.isWhitespace(s.charAt(start))) {
            start++;
        }
        int end = s.length();
        while (end > start && Character.isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        for (int k = Math.min(specials.longest() - 1, end - start); k >= 1; k--) {
            if (specials.prefixes().contains(s.substring(end - k, end))) {
                literal.set(end - k, end);
                break;
            }
        }
        for (int k = Math.min(specials.longest() - 1, end - start); k >= 1; k--) {
            if (specials.suffixes().contains(s.substring(start, start + k))) {
                literal.set(start, start + k);
                break;
            }
        }
        return literal;
    }

    /**
     * @return the rendered text without marks (and with control characters restored), with
     *     special parsing on except for the marked characters, which form the literal ranges
     */
    PromptText unmark(String rendered) {
        boolean marked = rendered.indexOf(mark) >= 0;
        if (!marked && standsFor.isEmpty()) {
            return PromptText.parsed(rendered);
        }
        StringBuilder text = new StringBuilder(rendered.length());
        List<Integer> ranges = new ArrayList<>();
        for (int i = 0; i < rendered.length(); i++) {
            char c = rendered.charAt(i);
            if (c != mark) {
                Character original = c >= '\uE000' && !standsFor.isEmpty() ? standsFor.get(c) : null;
                text.append(original != null ? original.charValue() : c);
                continue;
            }
            int p = text.length(); // the mark makes character p - 1 literal
            if (p == 0) {
                continue;
            }
            int n = ranges.size();
            if (n > 0 && ranges.get(n - 1) >= p - 1) {
                ranges.set(n - 1, Math.max(ranges.get(n - 1), p));
            } else {
                ranges.add(p - 1);
                ranges.add(p);
            }
        }
        return new PromptText(text.toString(), true, ranges.stream().mapToInt(Integer::intValue).toArray());
    }
}
