package dev.argon.chat;

import dev.argon.ArgonException;
import dev.argon.tokenizer.PromptText;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps control-token text that appears in template <em>data</em> (message content, names, tool
 * descriptions) plain through rendering.
 *
 * <p>Before rendering, a mark character is put between every two characters of each occurrence of
 * a control-token text (such as {@code <|eot_id|>}) inside a data string; string methods a
 * template applies ({@code strip()}, {@code split()}, slicing) keep the marks with the characters.
 * After rendering, {@link #unmark} removes the marks and records each marked run as a literal
 * range of the resulting {@link PromptText}, so the tokenizer recognises control tokens only in
 * the template's own text. The mark is a character that appears nowhere in the template or the
 * data: the first free Unicode noncharacter U+FDD0..U+FDEF, else a free private-use character.
 * Strings without control-token text are passed through unchanged. Control-token texts of one
 * character cannot be marked and are left alone.
 *
 * <p>The same pass keeps ASCII control characters of data intact: Jinjava prints values through
 * a JSON writer, which would turn U+0000..U+001F (but tab, newline, form feed and carriage return)
 * into the six characters {@code \u0000}; they travel through rendering as free stand-in
 * characters and are put back by {@link #unmark}.
 */
final class LiteralMarks {
    private final char mark;
    private final Map<Character, List<String>> specialsByFirstChar;
    /** The first characters of the control-token texts, so most characters are skipped with one bit test. */
    private final BitSet firstChars = new BitSet(0x10000);
    /** The stand-in of each ASCII control character that occurs in the data (0 when none). */
    private final char[] standIn;
    /** The control character of each stand-in. */
    private final Map<Character, Character> standsFor;

    private LiteralMarks(char mark, Map<Character, List<String>> specialsByFirstChar, char[] standIn) {
        this.mark = mark;
        this.specialsByFirstChar = specialsByFirstChar;
        this.standIn = standIn;
        this.standsFor = new HashMap<>();
        for (char c = 0; c < standIn.length; c++) {
            if (standIn[c] != 0) {
                standsFor.put(standIn[c], c);
                firstChars.set(c);
            }
        }
        specialsByFirstChar.keySet().forEach(c -> firstChars.set(c));
    }

    /** Whether Jinjava's value printer would escape this character (JSON escapes but tab, LF, FF, CR). */
    private static boolean escapedByPrinter(char c) {
        return c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r';
    }

    /**
     * @param specials control-token texts, longest first
     * @param template the template source (the mark must not occur in it)
     * @param data every value that will be marked (maps, lists, strings, nested)
     * @throws ArgonException if the data uses every candidate mark character
     */
    static LiteralMarks choose(List<String> specials, String template, List<Object> data) {
        Map<Character, List<String>> byFirst = new HashMap<>();
        for (String s : specials) {
            if (s.length() >= 2) {
                byFirst.computeIfAbsent(s.charAt(0), c -> new ArrayList<>()).add(s);
            }
        }
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
        return new LiteralMarks(mark, byFirst, standIn);
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

    /** @return the string with the mark between every two characters of each control-token text in it */
    String mark(String s) {
        if (firstChars.isEmpty()) {
            return s;
        }
        StringBuilder out = null;
        int copied = 0;
        int i = 0;
        while (i < s.length()) {
            char ch = s.charAt(i);
            if (!firstChars.get(ch)) {
                i++;
                continue;
            }
            if (ch < standIn.length && standIn[ch] != 0) {
                if (out == null) {
                    out = new StringBuilder(s.length() + 16);
                }
                out.append(s, copied, i).append(standIn[ch]);
                copied = ++i;
                continue;
            }
            String found = null;
            List<String> candidates = specialsByFirstChar.get(s.charAt(i));
            if (candidates != null) {
                for (String special : candidates) {
                    if (s.startsWith(special, i)) {
                        found = special;
                        break;
                    }
                }
            }
            if (found == null) {
                i++;
                continue;
            }
            if (out == null) {
                out = new StringBuilder(s.length() + 16);
            }
            out.append(s, copied, i);
            for (int j = 0; j < found.length(); j++) {
                if (j > 0) {
                    out.append(mark);
                }
                out.append(found.charAt(j));
            }
            i += found.length();
            copied = i;
        }
        return out == null ? s : out.append(s, copied, s.length()).toString();
    }

    /**
     * @return the rendered text without marks, with parsing of control tokens on except in the
     *     marked runs (each mark makes the characters on both sides of it literal)
     */
    PromptText unmark(String rendered) {
        if (!standsFor.isEmpty()) {
            StringBuilder back = new StringBuilder(rendered.length());
            for (int i = 0; i < rendered.length(); i++) {
                char c = rendered.charAt(i);
                Character original = c >= '\uE000' ? standsFor.get(c) : null;
                back.append(original != null ? original : c);
            }
            rendered = back.toString();
        }
        if (rendered.indexOf(mark) < 0) {
            return PromptText.parsed(rendered);
        }
        StringBuilder text = new StringBuilder(rendered.length());
        List<Integer> ranges = new ArrayList<>();
        for (int i = 0; i < rendered.length(); i++) {
            char c = rendered.charAt(i);
            if (c != mark) {
                text.append(c);
                continue;
            }
            int p = text.length();
            int start = Math.max(0, p - 1);
            int end = p + 1; // clamped below, once the text is complete
            int n = ranges.size();
            if (n > 0 && ranges.get(n - 1) >= start) {
                ranges.set(n - 1, Math.max(ranges.get(n - 1), end));
            } else {
                ranges.add(start);
                ranges.add(end);
            }
        }
        int length = text.length();
        List<Integer> clamped = new ArrayList<>(ranges.size());
        for (int i = 0; i < ranges.size(); i += 2) {
            int s = ranges.get(i);
            int e = Math.min(ranges.get(i + 1), length);
            if (e > s) {
                clamped.add(s);
                clamped.add(e);
            }
        }
        return new PromptText(text.toString(), true, clamped.stream().mapToInt(Integer::intValue).toArray());
    }
}
