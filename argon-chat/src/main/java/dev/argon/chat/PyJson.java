package dev.argon.chat;

import dev.argon.ArgonException;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * JSON text exactly as Python's {@code json.dumps} writes it: {@code ", "} and {@code ": "}
 * separators (or {@code ","} and {@code ": "} with an indent), keys in insertion order, floats
 * as Python's {@code repr} ({@code 1.0}, {@code 1e-05}, {@code 1e+16}), {@code true}/{@code false}/
 * {@code null}, and with {@code ensure_ascii} every character outside printable ASCII as a
 * lower-case {@code \}{@code uXXXX} escape (UTF-16 surrogate pairs above U+FFFF).
 */
public final class PyJson {
    /**
     * Options of {@code json.dumps}.
     *
     * @param ensureAscii escape every non-ASCII character (Python's default; Hugging Face's
     *     {@code tojson} filter turns it off)
     * @param indent the indent string, or null for single-line output
     * @param itemSeparator between items ({@code ", "}, or {@code ","} with an indent)
     * @param keySeparator between a key and its value ({@code ": "})
     * @param sortKeys sort object keys
     */
    public record Options(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
        /** @return Python's {@code json.dumps} defaults */
        public static Options python() {
            return new Options(true, null, ", ", ": ", false);
        }

        /** @return Hugging Face's {@code tojson} defaults: like Python's, but non-ASCII text is kept */
        public static Options huggingFace() {
            return new Options(false, null, ", ", ": ", false);
        }

        /** @return these options with the indent of {@code json.dumps(indent=...)}: a count of spaces or a string */
        public Options withIndent(Object indent) {
            if (indent == null) {
                return new Options(ensureAscii, null, itemSeparator, keySeparator, sortKeys);
            }
            String s = indent instanceof Number n ? " ".repeat(Math.max(0, n.intValue())) : indent.toString();
            return new Options(ensureAscii, s, ", ".equals(itemSeparator) ? "," : itemSeparator, keySeparator, sortKeys);
        }

        /** @return these options with other separators */
        public Options withSeparators(String item, String key) {
            return new Options(ensureAscii, indent, item, key, sortKeys);
        }

        /** @return these options with {@code ensure_ascii} set */
        public Options withEnsureAscii(boolean on) {
            return new Options(on, indent, itemSeparator, keySeparator, sortKeys);
        }

        /** @return these options with {@code sort_keys} set */
        public Options withSortKeys(boolean on) {
            return new Options(ensureAscii, indent, itemSeparator, keySeparator, on);
        }
    }

    private PyJson() {
    }

    /** @return {@code json.dumps(value)} with Python's defaults */
    public static String dumps(Object value) {
        return dumps(value, Options.python());
    }

    /**
     * Serializes maps (as objects), lists, arrays and other iterables (as arrays), strings,
     * numbers, booleans and null.
     *
     * @throws ArgonException for any other type, as Python raises {@code TypeError}
     */
    public static String dumps(Object value, Options options) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, options, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Options o, int level) {
        if (v instanceof Optional<?> opt) {
            v = opt.orElse(null);
        }
        if (v == null || "com.hubspot.jinjava.interpret.NullValue".equals(v.getClass().getName())) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof CharSequence || v instanceof Character
                || "com.hubspot.jinjava.objects.SafeString".equals(v.getClass().getName())) {
            quote(sb, v.toString(), o.ensureAscii());
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte || v instanceof BigInteger) {
            sb.append(v);
        } else if (v instanceof Double || v instanceof Float || v instanceof BigDecimal) {
            sb.append(floatRepr(((Number) v).doubleValue()));
        } else if (v instanceof Map<?, ?> m) {
            writeObject(sb, m, o, level);
        } else if (v instanceof Iterable<?> it) {
            writeArray(sb, it.iterator(), o, level);
        } else if (v instanceof Object[] arr) {
            writeArray(sb, List.of(arr).iterator(), o, level);
        } else {
            throw new ArgonException("tojson: object of type " + v.getClass().getSimpleName() + " is not JSON serializable");
        }
    }

    private static void writeArray(StringBuilder sb, Iterator<?> it, Options o, int level) {
        if (!it.hasNext()) {
            sb.append("[]");
            return;
        }
        sb.append('[');
        boolean first = true;
        while (it.hasNext()) {
            separate(sb, o, level + 1, first);
            first = false;
            write(sb, it.next(), o, level + 1);
        }
        close(sb, o, level);
        sb.append(']');
    }

    private static void writeObject(StringBuilder sb, Map<?, ?> m, Options o, int level) {
        if (m.isEmpty()) {
            sb.append("{}");
            return;
        }
        Collection<? extends Map.Entry<?, ?>> entries = m.entrySet();
        if (o.sortKeys()) {
            List<Map.Entry<?, ?>> sorted = new ArrayList<>(entries);
            sorted.sort((a, b) -> compareCodePoints(key(a.getKey()), key(b.getKey())));
            entries = sorted;
        }
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : entries) {
            separate(sb, o, level + 1, first);
            first = false;
            quote(sb, key(e.getKey()), o.ensureAscii());
            sb.append(o.keySeparator());
            write(sb, e.getValue(), o, level + 1);
        }
        close(sb, o, level);
        sb.append('}');
    }

    private static void separate(StringBuilder sb, Options o, int level, boolean first) {
        if (!first) {
            sb.append(o.itemSeparator());
        }
        if (o.indent() != null) {
            sb.append('\n').append(o.indent().repeat(level));
        }
    }

    private static void close(StringBuilder sb, Options o, int level) {
        if (o.indent() != null) {
            sb.append('\n').append(o.indent().repeat(level));
        }
    }

    /** Python converts non-string keys: numbers as written, True/False/None as JSON literals. */
    private static String key(Object k) {
        if (k == null) {
            return "null";
        }
        if (k instanceof Boolean b) {
            return b ? "true" : "false";
        }
        if (k instanceof Double || k instanceof Float) {
            return floatRepr(((Number) k).doubleValue());
        }
        return k.toString();
    }

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** Writes a JSON string literal as Python's encoder does (short escapes for \n \r \t \b \f). */
    static void quote(StringBuilder sb, String s, boolean ensureAscii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /**
     * @return Python's {@code repr} of a float: the shortest digits that round-trip, in fixed
     *     notation when the decimal exponent is in [-5, 16), else as {@code d.ddde+XX}
     */
    public static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        String sign = d < 0 ? "-" : "";
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale(); // decimal exponent of the first digit
        if (digits.length() == 2) {
            // Java may print two digits where one round-trips (subnormals, e.g. 4.9E-324); Python prints
            // the shortest, and of those the closest
            BigDecimal exact = new BigDecimal(Math.abs(d));
            BigDecimal best = null;
            for (int first = digits.charAt(0) - '0', k = 0; k < 2; k++) {
                BigDecimal one = BigDecimal.valueOf(first + k).scaleByPowerOfTen(exp);
                if (one.doubleValue() == Math.abs(d)
                        && (best == null || one.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = one;
                }
            }
            if (best != null) {
                BigDecimal c = best.stripTrailingZeros();
                digits = c.unscaledValue().toString();
                exp = digits.length() - 1 - c.scale();
            }
        }
        StringBuilder sb = new StringBuilder(sign);
        if (exp < -4 || exp >= 16) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            sb.append('e').append(exp < 0 ? '-' : '+');
            int a = Math.abs(exp);
            if (a < 10) {
                sb.append('0');
            }
            sb.append(a);
        } else if (exp >= 0) {
            if (digits.length() <= exp + 1) {
                sb.append(digits).append("0".repeat(exp + 1 - digits.length())).append(".0");
            } else {
                sb.append(digits, 0, exp + 1).append('.').append(digits, exp + 1, digits.length());
            }
        } else {
            sb.append("0.").append("0".repeat(-exp - 1)).append(digits);
        }
        return sb.toString();
    }
}
