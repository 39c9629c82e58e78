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
 * Tells the characters a chat template wrote from those that came from its <em>data</em>
 * (message content, names, tool descriptions, extra variables), so that control tokens are
 * recognised only in the template's own text.
 *
 * <p><b>Two renders.</b> {@link ChatTemplate#renderPrompt} renders the data as it is
 * ({@link Mode#PLAIN}: the prompt, with Python's string semantics untouched) and once more with
 * every <em>structural</em> character of the data (a character of a control-token text that is
 * not a letter or digit, such as {@code < | > / _ [ ]}) replaced by a stand-in of its own
 * ({@link Mode#NEUTRAL}). When the two outputs line up character for character (the template did
 * not branch on those characters), every stand-in in the second marks a structural character of
 * the first that came from data ({@link #aligned}): a control token is recognised only when
 * none of its characters is one of those. This holds through string methods and filters
 * ({@code strip}, {@code lower}, {@code replace}, slices, {@code split}/{@code join}), which treat
 * a stand-in as they treat any other character. Filters that make new characters from escapes
 * ({@code urldecode}) can still build control-token text from data.
 *
 * <p><b>Fallbacks.</b> When the outputs differ in shape (the template looked for such characters
 * in the data and took another path), the first render's prompt is kept as it is if it holds
 * exactly as many of each control token as the second (whose control tokens are all the
 * template's own): then none came from data ({@link #controlTokenCounts}). Otherwise a third
 * render puts a mark character after each structural character of the data
 * ({@link Mode#MARKED}); {@link #unmark} removes the marks and makes the marked characters
 * literal. The marks change what string methods see (a length, a comparison) and a slice with a
 * step can separate a mark from its character, so this is the last resort.
 *
 * <p>Marks and stand-ins are characters that appear nowhere in the template or the data: the
 * Unicode noncharacters U+FDD0..U+FDEF, then private-use characters. The same pass keeps ASCII
 * control characters of data intact: Jinjava prints values through a JSON writer, which would turn
 * U+0000..U+001F (but tab, newline, form feed and carriage return) into the six characters
 * {@code \u0000}; they travel through rendering as stand-ins and are put back afterwards.
 */
final class LiteralMarks {

    /** How data strings are copied into the template's variables. */
    enum Mode {
        /** As they are (only ASCII control characters replaced by stand-ins). */
        PLAIN,
        /** Structural characters of control tokens replaced by stand-ins too. */
        NEUTRAL,
        /** A mark after each structural character. */
        MARKED
    }

    /**
     * The control-token texts of a vocabulary, indexed for marking; built once per template.
     *
     * @param byFirstChar texts by their first character, longest first
     * @param longest the length of the longest text
     * @param structural the characters of the texts that are not letters or digits (all characters
     *     of a text that has none)
     */
    record Specials(Map<Character, List<String>> byFirstChar, int longest, Set<Character> structural) {
        static final Specials NONE = of(List.of());

        /** @param texts control-token texts, longest first */
        static Specials of(List<String> texts) {
            Map<Character, List<String>> byFirst = new HashMap<>();
            Set<Character> structural = new HashSet<>();
            int longest = 0;
            for (String s : texts) {
                if (s.isEmpty()) {
                    continue;
                }
                byFirst.computeIfAbsent(s.charAt(0), c -> new ArrayList<>()).add(s);
                longest = Math.max(longest, s.length());
                boolean any = false;
                for (int i = 0; i < s.length(); i++) {
                    if (!Character.isLetterOrDigit(s.charAt(i))) {
                        structural.add(s.charAt(i));
                        any = true;
                    }
                }
                if (!any) {
                    s.chars().forEach(c -> structural.add((char) c));
                }
            }
            return new Specials(Map.copyOf(byFirst), longest, Set.copyOf(structural));
        }

        boolean isEmpty() {
            return longest == 0;
        }
    }

    private final char mark;
    private final Specials specials;
    /** The stand-in of each ASCII control character that occurs in the data (0 when none). */
    private final char[] standIn;
    /** The control character of each stand-in. */
    private final Map<Character, Character> standsFor = new HashMap<>();
    /** The stand-in of each structural character ({@link Mode#NEUTRAL}). */
    private final Map<Character, Character> neutralOf = new HashMap<>();
    /** The structural character of each of its stand-ins. */
    private final Map<Character, Character> neutralFor = new HashMap<>();

    private LiteralMarks(char mark, Specials specials, char[] standIn, BitSet used) {
        this.mark = mark;
        this.specials = specials;
        this.standIn = standIn;
        for (char c = 0; c < standIn.length; c++) {
            if (standIn[c] != 0) {
                standsFor.put(standIn[c], c);
            }
        }
        for (char c : specials.structural()) {
            char n = free(used);
            neutralOf.put(c, n);
            neutralFor.put(n, c);
        }
    }

    /** Whether Jinjava's value printer would escape this character (JSON escapes but tab, LF, FF, CR). */
    private static boolean escapedByPrinter(char c) {
        return c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r';
    }

    /**
     * @param specials the vocabulary's control-token texts
     * @param template the template source (no mark or stand-in may occur in it)
     * @param data every value that will be copied (maps, lists, strings, nested)
     * @throws ArgonException if the data uses every candidate character
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
        return new LiteralMarks(mark, specials, standIn, used);
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

    /** @return a deep copy of the value (maps and lists mutable and ordered) with its strings transformed for {@code mode} */
    Object copy(Object value, Mode mode) {
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> c = new LinkedHashMap<>();
            m.forEach((k, v) -> c.put(transform(String.valueOf(k), mode), copy(v, mode)));
            return c;
        }
        if (value instanceof List<?> l) {
            List<Object> c = new ArrayList<>();
            l.forEach(v -> c.add(copy(v, mode)));
            return c;
        }
        return value instanceof String s ? transform(s, mode) : value;
    }

    /** @return the string as {@code mode} copies it */
    String transform(String s, Mode mode) {
        if (s.isEmpty()) {
            return s;
        }
        BitSet literal = mode == Mode.MARKED ? literalChars(s) : new BitSet();
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            char to = c;
            if (c < standIn.length && standIn[c] != 0) {
                to = standIn[c];
            } else if (mode == Mode.NEUTRAL) {
                Character n = neutralOf.get(c);
                to = n == null ? c : n;
            }
            boolean marked = literal.get(i);
            if (out == null && (to != c || marked)) {
                out = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (out != null) {
                out.append(to);
                if (marked) {
                    out.append(mark);
                }
            }
        }
        return out == null ? s : out.toString();
    }

    /** @return {@code rendered} with the control-character stand-ins turned back */
    String restore(String rendered) {
        if (standsFor.isEmpty()) {
            return rendered;
        }
        StringBuilder back = new StringBuilder(rendered.length());
        for (int i = 0; i < rendered.length(); i++) {
            char c = rendered.charAt(i);
            Character original = c >= '\uE000' ? standsFor.get(c) : null;
            back.append(original != null ? original.charValue() : c);
        }
        return back.toString();
    }

    /**
     * @param plain the output of the {@link Mode#PLAIN} render
     * @param neutral the output of the {@link Mode#NEUTRAL} render
     * @return the prompt with the data's structural characters literal, or null when the two do
     *     not line up character for character (then the {@link Mode#MARKED} render decides)
     */
    PromptText aligned(String plain, String neutral) {
        if (plain.length() != neutral.length()) {
            return null;
        }
        List<Integer> ranges = new ArrayList<>();
        for (int i = 0; i < plain.length(); i++) {
            char p = plain.charAt(i);
            char n = neutral.charAt(i);
            if (p == n) {
                continue;
            }
            Character original = neutralFor.get(n);
            if (original == null || original != p) {
                return null;
            }
            addLiteral(ranges, i);
        }
        return new PromptText(restore(plain), true, ranges.stream().mapToInt(Integer::intValue).toArray());
    }

    private static void addLiteral(List<Integer> ranges, int i) {
        int n = ranges.size();
        if (n > 0 && ranges.get(n - 1) >= i) {
            ranges.set(n - 1, Math.max(ranges.get(n - 1), i + 1));
        } else {
            ranges.add(i);
            ranges.add(i + 1);
        }
    }

    /** @return the structural characters of {@code s}, by index ({@link Mode#MARKED}) */
    private BitSet literalChars(String s) {
        BitSet literal = new BitSet(s.length());
        for (int i = 0; i < s.length(); i++) {
            if (neutralOf.containsKey(s.charAt(i))) {
                literal.set(i);
            }
        }
        return literal;
    }

    /**
     * @return how often each control-token text occurs in {@code text}, taken left to right,
     *     longest first at each position (as the tokenizer's splitter finds them, near enough to
     *     compare two renders)
     */
    Map<String, Integer> controlTokenCounts(String text) {
        Map<String, Integer> counts = new HashMap<>();
        int i = 0;
        while (i < text.length()) {
            List<String> candidates = specials.byFirstChar().get(text.charAt(i));
            String found = null;
            if (candidates != null) {
                for (String special : candidates) {
                    if (text.startsWith(special, i)) {
                        found = special;
                        break;
                    }
                }
            }
            if (found == null) {
                i++;
            } else {
                counts.merge(found, 1, Integer::sum);
                i += found.length();
            }
        }
        return counts;
    }

    /**
     * @return the {@link Mode#MARKED} output without marks (and with control characters
     *     restored), with special parsing on except for the marked characters
     */
    PromptText unmark(String rendered) {
        StringBuilder text = new StringBuilder(rendered.length());
        List<Integer> ranges = new ArrayList<>();
        for (int i = 0; i < rendered.length(); i++) {
            char c = rendered.charAt(i);
            if (c != mark) {
                text.append(c);
            } else if (!text.isEmpty()) {
                addLiteral(ranges, text.length() - 1); // the mark makes the character before it literal
            }
        }
        return new PromptText(restore(text.toString()), true, ranges.stream().mapToInt(Integer::intValue).toArray());
    }
}
