package dev.argon.chat;

import dev.argon.ArgonException;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Python's {@code str} methods and slicing, as chat templates call them. */
final class Py {
    private Py() {
    }

    /** @return whether Python's {@code str.isspace} holds for this character */
    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || c == '\u0085' || c == '\u00a0' || c == '\u2007' || c == '\u202f';
    }

    private static boolean strips(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    static String strip(String s, String chars) {
        return rstrip(lstrip(s, chars), chars);
    }

    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strips(s.charAt(i), chars)) {
            i++;
        }
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && strips(s.charAt(j - 1), chars)) {
            j--;
        }
        return s.substring(0, j);
    }

    /** {@code str.split(sep=None, maxsplit=-1)}. */
    static List<Object> split(String s, String sep, int maxSplit) {
        List<Object> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    return parts;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(s.substring(i));
                    return parts;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) {
                    j++;
                }
                parts.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new ArgonException("split: empty separator");
        }
        int from = 0;
        int at;
        while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    /** {@code str.rsplit(sep=None, maxsplit=-1)}. */
    static List<Object> rsplit(String s, String sep, int maxSplit) {
        if (maxSplit < 0) {
            return split(s, sep, -1);
        }
        List<Object> parts = new ArrayList<>();
        int j = s.length();
        if (sep == null) {
            while (true) {
                while (j > 0 && isSpace(s.charAt(j - 1))) {
                    j--;
                }
                if (j == 0) {
                    return parts;
                }
                if (parts.size() == maxSplit) {
                    parts.addFirst(s.substring(0, j));
                    return parts;
                }
                int i = j;
                while (i > 0 && !isSpace(s.charAt(i - 1))) {
                    i--;
                }
                parts.addFirst(s.substring(i, j));
                j = i;
            }
        }
        if (sep.isEmpty()) {
            throw new ArgonException("rsplit: empty separator");
        }
        int at;
        while (parts.size() < maxSplit && (at = s.lastIndexOf(sep, j - sep.length())) >= 0) {
            parts.addFirst(s.substring(at + sep.length(), j));
            j = at;
        }
        parts.addFirst(s.substring(0, j));
        return parts;
    }

    static List<Object> splitLines(String s) {
        List<Object> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r' || c == '\u000b' || c == '\f' || c == '\u001c' || c == '\u001d' || c == '\u001e'
                    || c == '\u0085' || c == '\u2028' || c == '\u2029') {
                lines.add(s.substring(start, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < s.length()) {
            lines.add(s.substring(start));
        }
        return lines;
    }

    static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(prevCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            prevCased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
        }
        return b.toString();
    }

    static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toTitleCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
    }

    /** {@code str.replace(old, new, count=-1)}. */
    static String replace(String s, String old, String with, long count) {
        if (count < 0) {
            return s.replace(old, with);
        }
        StringBuilder b = new StringBuilder();
        long n = 0;
        if (old.isEmpty()) { // Python inserts 'with' before every character and at the end
            for (int i = 0; i <= s.length(); i++) {
                if (n++ < count) {
                    b.append(with);
                }
                if (i < s.length()) {
                    b.append(s.charAt(i));
                }
            }
            return b.toString();
        }
        int from = 0;
        int at;
        while (n < count && (at = s.indexOf(old, from)) >= 0) {
            b.append(s, from, at).append(with);
            from = at + old.length();
            n++;
        }
        return b.append(s, from, s.length()).toString();
    }

    static long count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1L;
        }
        long n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    /** {@code str.join(iterable)}: every item must be a string. */
    static String join(String sep, Object items) {
        StringBuilder b = new StringBuilder();
        boolean first = true;
        for (Object o : iterate(items)) {
            if (!(o instanceof CharSequence)) {
                throw new ArgonException("join: expected a string, found " + (o == null ? "None" : o.getClass().getSimpleName()));
            }
            b.append(first ? "" : sep).append(o);
            first = false;
        }
        return b.toString();
    }

    /** @return the items of a list, iterable, map (its keys) or string (its characters) */
    static Iterable<?> iterate(Object o) {
        if (o instanceof Iterable<?> it) {
            return it;
        }
        if (o instanceof Map<?, ?> m) {
            return m.keySet();
        }
        if (o instanceof Object[] a) {
            return List.of(a);
        }
        if (o instanceof CharSequence cs) {
            List<Object> chars = new ArrayList<>();
            cs.toString().codePoints().forEach(cp -> chars.add(Character.toString(cp)));
            return chars;
        }
        throw new ArgonException("expected a list, found " + (o == null ? "None" : o.getClass().getSimpleName()));
    }

    /** {@code value[start:stop:step]} on a string or a list; null parts take Python's defaults. */
    static Object slice(Object value, Long start, Long stop, Long step) {
        long st = step == null ? 1 : step;
        if (st == 0) {
            throw new ArgonException("slice step cannot be zero");
        }
        List<Object> items = new ArrayList<>();
        iterate(value).forEach(items::add);
        long n = items.size();
        long lower = st > 0 ? 0 : -1;
        long upper = st > 0 ? n : n - 1;
        long a = start == null ? (st > 0 ? lower : upper) : start < 0 ? Math.max(start + n, lower) : Math.min(start, upper);
        long b = stop == null ? (st > 0 ? upper : lower) : stop < 0 ? Math.max(stop + n, lower) : Math.min(stop, upper);
        List<Object> out = new ArrayList<>();
        for (long i = a; st > 0 ? i < b : i > b; i += st) {
            out.add(items.get((int) i));
        }
        if (value instanceof CharSequence) {
            StringBuilder sb = new StringBuilder();
            out.forEach(sb::append);
            return sb.toString();
        }
        return out;
    }

    /** @return the character at a Python index (negative counts from the end), or null when out of range */
    static String charAt(String s, long index) {
        long i = index < 0 ? index + s.length() : index;
        return i >= 0 && i < s.length() ? String.valueOf(s.charAt((int) i)) : null;
    }

    static boolean matchesAny(Object prefixes, java.util.function.Predicate<String> test) {
        if (prefixes instanceof CharSequence cs) {
            return test.test(cs.toString());
        }
        for (Iterator<?> it = iterate(prefixes).iterator(); it.hasNext(); ) {
            if (test.test(String.valueOf(it.next()))) {
                return true;
            }
        }
        return false;
    }

    /** @return Python's {@code str(value)}, as Jinja2 prints a value; null (None or undefined) prints as "" */
    static String str(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof CharSequence || v instanceof Character) {
            return v.toString();
        }
        if (v instanceof Double || v instanceof Float) {
            String r = PyJson.floatRepr(((Number) v).doubleValue());
            return r.equals("NaN") ? "nan" : r.equals("Infinity") ? "inf" : r.equals("-Infinity") ? "-inf" : r;
        }
        return repr(v);
    }

    /** @return Python's {@code repr(value)} for strings, numbers, booleans, None, lists and dicts */
    static String repr(Object v) {
        if (v == null || "com.hubspot.jinjava.interpret.NullValue".equals(v.getClass().getName())) {
            return "None";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (v instanceof CharSequence || v instanceof Character) {
            return reprString(v.toString());
        }
        if (v instanceof Double || v instanceof Float) {
            return str(v);
        }
        if (v instanceof Map.Entry<?, ?> e) {
            return "(" + repr(e.getKey()) + ", " + repr(e.getValue()) + ")";
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder b = new StringBuilder("{");
            m.forEach((k, x) -> b.append(b.length() > 1 ? ", " : "").append(repr(k)).append(": ").append(repr(x)));
            return b.append('}').toString();
        }
        if (v instanceof Iterable<?> || v instanceof Object[]) {
            StringBuilder b = new StringBuilder("[");
            iterate(v).forEach(x -> b.append(b.length() > 1 ? ", " : "").append(repr(x)));
            return b.append(']').toString();
        }
        return v.toString();
    }

    private static String reprString(String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder().append(q);
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    int type = Character.getType(cp);
                    boolean printable = cp == ' ' || !(type == Character.CONTROL || type == Character.FORMAT
                            || type == Character.SURROGATE || type == Character.PRIVATE_USE || type == Character.UNASSIGNED
                            || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                            || type == Character.SPACE_SEPARATOR);
                    if (cp == q) {
                        b.append('\\').append((char) cp);
                    } else if (printable) {
                        b.appendCodePoint(cp);
                    } else {
                        b.append(cp <= 0xff ? String.format("\\x%02x", cp) : cp <= 0xffff ? String.format("\\u%04x", cp)
                                : String.format("\\U%08x", cp));
                    }
                }
            }
        });
        return b.append(q).toString();
    }

    /** {@code str.format(*args)} with {@code {}} and {@code {N}} fields and {@code {{ }}} escapes. */
    static String format(String s, Object[] args) {
        StringBuilder b = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c == '{' || c == '}') && i + 1 < s.length() && s.charAt(i + 1) == c) {
                b.append(c);
                i++;
            } else if (c == '{') {
                int close = s.indexOf('}', i);
                String field = close < 0 ? "?" : s.substring(i + 1, close);
                int n = field.isEmpty() ? auto++ : field.matches("\\d+") ? Integer.parseInt(field) : -1;
                if (n < 0 || n >= args.length) {
                    throw new ArgonException("str.format: the field {" + field + "} is not supported");
                }
                b.append(str(args[n]));
                i = close;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
