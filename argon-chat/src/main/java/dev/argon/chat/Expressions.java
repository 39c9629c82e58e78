package dev.argon.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites of Python Jinja2 expression code that Jinjava would read differently; each keeps the
 * meaning and the line layout.
 */
final class Expressions {
    private Expressions() {
    }

    /**
     * Applies, to code whose string literals are already rewritten: stepped slices, parenthesized
     * keyword-argument values, and parenthesized operands of {@code not}.
     */
    static String rewrite(String code) {
        return parenthesizeNotOperands(parenthesizeKeywordArguments(rewriteSteppedSlices(code)));
    }

    /**
     * Re-escapes a Python string literal (with its quotes) for Jinjava, whose lexer knows only
     * {@code \n \t \r \f \' \" \\}: other escapes are decoded to the character itself.
     */
    static String literal(String lit) {
        char q = lit.charAt(0);
        StringBuilder b = new StringBuilder().append(q);
        int end = lit.length() > 1 && lit.charAt(lit.length() - 1) == q ? lit.length() - 1 : lit.length();
        for (int i = 1; i < end; i++) {
            char c = lit.charAt(i);
            if (c == '\n') {
                b.append("\\n"); // the caller puts the newline itself after the literal
                continue;
            }
            if (c != '\\' || i + 1 >= end) {
                b.append(c);
                continue;
            }
            char e = lit.charAt(++i);
            switch (e) {
                case 'n', 't', 'r', 'f', '\\', '\'', '"' -> b.append('\\').append(e);
                case 'b' -> b.append('\b');
                case 'a' -> b.append('\u0007');
                case 'v' -> b.append('\u000b');
                case '\n' -> { } // line continuation
                case 'x', 'u', 'U' -> {
                    int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + n < end && lit.substring(i + 1, i + 1 + n).matches("[0-9A-Fa-f]+")) {
                        appendChar(b, Integer.parseInt(lit.substring(i + 1, i + 1 + n), 16), q);
                        i += n;
                    } else {
                        b.append("\\\\").append(e);
                    }
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int j = i;
                        while (j < end && j < i + 3 && lit.charAt(j) >= '0' && lit.charAt(j) <= '7') {
                            j++;
                        }
                        appendChar(b, Integer.parseInt(lit.substring(i, j), 8), q);
                        i = j - 1;
                    } else {
                        b.append("\\\\").append(e); // Python keeps unknown escapes as written
                    }
                }
            }
        }
        return b.append(q).toString();
    }

    private static void appendChar(StringBuilder b, int cp, char quote) {
        switch (cp) {
            case '\n' -> b.append("\\n");
            case '\t' -> b.append("\\t");
            case '\r' -> b.append("\\r");
            case '\f' -> b.append("\\f");
            case '\\' -> b.append("\\\\");
            default -> {
                if (cp == quote) {
                    b.append('\\');
                }
                b.appendCodePoint(cp);
            }
        }
    }

    private static final Pattern KEYWORD = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*\\s*=(?!=)");

    /**
     * {@code f(name=a - 1)} becomes {@code f(name=(a - 1))}: Jinjava binds a keyword argument's
     * {@code =} tighter than the operators of its value.
     */
    static String parenthesizeKeywordArguments(String code) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < code.length()) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                int j = skipLiteral(code, i);
                b.append(code, i, j);
                i = j;
                continue;
            }
            b.append(c);
            i++;
            if (c == '(' || c == ',') {
                int k = i;
                while (k < code.length() && Character.isWhitespace(code.charAt(k))) {
                    k++;
                }
                Matcher m = KEYWORD.matcher(code).region(k, code.length());
                if (m.lookingAt() && insideCall(b)) {
                    int valueStart = m.end();
                    int valueEnd = end(code, valueStart, false);
                    b.append(code, i, valueStart).append('(')
                            .append(parenthesizeKeywordArguments(code.substring(valueStart, valueEnd))).append(')');
                    i = valueEnd;
                }
            }
        }
        return b.toString();
    }

    /** @return whether the innermost open bracket in {@code b} is a parenthesis */
    private static boolean insideCall(StringBuilder b) {
        int depth = 0;
        for (int k = b.length() - 1; k >= 0; k--) {
            char c = b.charAt(k);
            if (c == ')' || c == ']' || c == '}') {
                depth++;
            } else if (c == '(' || c == '[' || c == '{') {
                if (depth-- == 0) {
                    return c == '(';
                }
            }
        }
        return false;
    }

    private static int skipLiteral(String code, int start) {
        char q = code.charAt(start);
        int j = start + 1;
        while (j < code.length() && code.charAt(j) != q) {
            j += code.charAt(j) == '\\' ? 2 : 1;
        }
        return Math.min(j + 1, code.length());
    }

    /** {@code x[a:b:c]} (two colons at the top level of a subscript) becomes {@code x|__pyslice(a, b, c)}. */
    static String rewriteSteppedSlices(String code) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < code.length()) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                int j = skipLiteral(code, i);
                b.append(code, i, j);
                i = j;
                continue;
            }
            if (c == '[' && isSubscript(b)) {
                int close = matching(code, i);
                List<String> parts = splitTopLevel(code.substring(i + 1, close), ':');
                if (close < code.length() && parts.size() == 3) {
                    b.insert(primaryStart(b), '('); // Jinjava takes no subscript after a filter: (x|f)[0]
                    b.append("|__pyslice(");
                    for (int k = 0; k < 3; k++) {
                        String p = rewriteSteppedSlices(parts.get(k).strip());
                        b.append(k > 0 ? ", " : "").append(p.isEmpty() ? "none" : p);
                    }
                    b.append("))");
                    i = close + 1;
                    continue;
                }
            }
            b.append(c);
            i++;
        }
        return b.toString();
    }

    /** @return where the postfix expression (name, attributes, calls, subscripts, literal) ending {@code b} starts */
    private static int primaryStart(StringBuilder b) {
        int k = b.length();
        while (k > 0) {
            char c = b.charAt(k - 1);
            if (c == ']' || c == ')') {
                char open = c == ']' ? '[' : '(';
                int depth = 0;
                do {
                    char d = b.charAt(--k);
                    depth += d == c ? 1 : d == open ? -1 : 0;
                } while (k > 0 && depth > 0);
            } else if (c == '\'' || c == '"') {
                k--;
                while (k > 0 && (b.charAt(k - 1) != c || (k > 1 && b.charAt(k - 2) == '\\'))) {
                    k--;
                }
                k = Math.max(0, k - 1);
            } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
                k--;
            } else {
                break;
            }
        }
        return k;
    }

    private static boolean isSubscript(StringBuilder before) {
        for (int k = before.length() - 1; k >= 0; k--) {
            char p = before.charAt(k);
            if (!Character.isWhitespace(p)) {
                return Character.isLetterOrDigit(p) || p == '_' || p == ')' || p == ']' || p == '\'' || p == '"';
            }
        }
        return false;
    }

    private static int matching(String code, int open) {
        int depth = 0;
        for (int i = open; i < code.length(); i++) {
            char c = code.charAt(i);
            if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                if (--depth == 0) {
                    return i;
                }
            } else if (c == '\'' || c == '"') {
                i = skipLiteral(code, i) - 1;
            }
        }
        return code.length();
    }

    static List<String> splitTopLevel(String code, char sep) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < code.length(); i++) {
            char c = code.charAt(i);
            if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                depth--;
            } else if (c == '\'' || c == '"') {
                i = skipLiteral(code, i) - 1;
            } else if (c == sep && depth == 0) {
                parts.add(code.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(code.substring(start));
        return parts;
    }

    private static final java.util.Set<String> BEFORE_UNARY = java.util.Set.of("and", "or", "not", "if", "elif", "else");
    private static final java.util.Set<String> ENDS_OPERAND = java.util.Set.of("and", "or", "if", "else");

    /**
     * {@code not x is defined} becomes {@code not (x is defined)} and {@code not a == b} becomes
     * {@code not (a == b)}: in Python {@code not} binds looser than comparisons, tests and filters,
     * in Jinjava tighter. The operand runs to the next {@code and}/{@code or}/{@code if}/{@code else},
     * comma or closing bracket.
     */
    static String parenthesizeNotOperands(String code) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (i < code.length()) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                int j = skipLiteral(code, i);
                b.append(code, i, j);
                i = j;
            } else if (wordAt(code, i, "not") && unaryPosition(b)) {
                int start = i + 3;
                int end = end(code, start, true);
                String operand = code.substring(start, end);
                String body = operand.stripTrailing();
                b.append("not (").append(parenthesizeNotOperands(body.strip())).append(')')
                        .append(operand, body.length(), operand.length());
                i = end;
            } else if (Character.isLetterOrDigit(c) || c == '_') {
                int j = i;
                while (j < code.length() && (Character.isLetterOrDigit(code.charAt(j)) || code.charAt(j) == '_')) {
                    j++;
                }
                b.append(code, i, j);
                i = j;
            } else {
                b.append(c);
                i++;
            }
        }
        return b.toString();
    }

    private static boolean wordAt(String code, int i, String word) {
        int e = i + word.length();
        return code.startsWith(word, i)
                && (i == 0 || !isIdentifierChar(code.charAt(i - 1)))
                && (e >= code.length() || !isIdentifierChar(code.charAt(e)));
    }

    private static boolean isIdentifierChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }

    /** @return whether a {@code not} after {@code before} is the unary operator (not part of {@code is not}/{@code not in}) */
    private static boolean unaryPosition(StringBuilder before) {
        int k = before.length() - 1;
        while (k >= 0 && Character.isWhitespace(before.charAt(k))) {
            k--;
        }
        if (k < 0) {
            return true;
        }
        char p = before.charAt(k);
        if ("([{,=:-".indexOf(p) >= 0) {
            return true;
        }
        int w = k;
        while (w >= 0 && isIdentifierChar(before.charAt(w))) {
            w--;
        }
        return BEFORE_UNARY.contains(before.substring(w + 1, k + 1));
    }

    /**
     * @return where the expression starting at {@code from} ends: at the next top-level comma,
     *     closing bracket or end of tag, and with {@code atKeywords} also at and/or/if/else
     */
    private static int end(String code, int from, boolean atKeywords) {
        int depth = 0;
        int i = from;
        while (i < code.length()) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipLiteral(code, i);
                continue;
            }
            if (depth == 0 && (code.startsWith("}}", i) || code.startsWith("-}}", i) || c == ',')) {
                return i;
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth-- == 0) {
                    return i;
                }
            } else if (atKeywords && depth == 0 && isIdentifierChar(c) && (i == 0 || !isIdentifierChar(code.charAt(i - 1)))) {
                int j = i;
                while (j < code.length() && isIdentifierChar(code.charAt(j))) {
                    j++;
                }
                if (ENDS_OPERAND.contains(code.substring(i, j))) {
                    return i;
                }
                i = j;
                continue;
            }
            i++;
        }
        return i;
    }
}
