package dev.argon.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites a Python Jinja2 template into one Jinjava renders the same way, keeping every
 * construct on its original line (so Jinjava's line numbers are the template's):
 *
 * <ul>
 *   <li>Newlines are normalized to {@code \n} and one trailing newline is dropped, as Jinja2
 *       does ({@code keep_trailing_newline=False}).</li>
 *   <li>{@code trim_blocks} and {@code lstrip_blocks} (Hugging Face turns both on) are applied
 *       here rather than by Jinjava, whose line numbers drift when it trims: the newline after a
 *       block or comment tag moves inside the tag, and blanks before a tag that starts its line
 *       are removed. {@code {%+} and {@code +%}} switch them off per tag, as in Jinja2 (which also
 *       keeps the newline after {@code {% raw %}}).</li>
 *   <li>A newline inside a string literal becomes {@code \n} followed by a real newline after the
 *       literal (Jinjava does not count newlines inside literals).</li>
 *   <li>String literals in expressions get Python's escapes ({@code \}{@code x41}, {@code \}{@code u00e9},
 *       {@code \b}, ...), which Jinjava's lexer lacks.</li>
 *   <li>Every {@code {{ x }}} becomes {@code {{ (x)|__pystr }}} so that values print as Python's
 *       {@code str()} does ({@code True}, {@code ['a', 1]}, {@code 1e+16}).</li>
 *   <li>Slices with a step ({@code messages[::-1]}) become the {@code __pyslice} filter, and keyword
 *       argument values are parenthesized ({@code namespace(n=x|length - 1)}).</li>
 * </ul>
 * It also records the filters and tests the template names, with their lines, so that unknown
 * ones are reported before rendering (Jinja2 rejects them when it compiles the template).
 */
final class TemplateSource {
    /** A filter or test name used by the template. */
    record Reference(String kind, String name, int line) {
    }

    private static final Pattern FILTER = Pattern.compile("\\|\\s*([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern TEST = Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern RAW_BEGIN = Pattern.compile("\\{%[-+]?\\s*raw\\s*[-+]?%}");
    private static final Pattern RAW_END = Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}");

    private final StringBuilder out = new StringBuilder();
    private final List<Reference> references = new ArrayList<>();
    private String s;
    private int line = 1;

    private TemplateSource() {
    }

    /** The rewritten template and the filters and tests it uses. */
    record Result(String text, List<Reference> references) {
    }

    static Result rewrite(String template) {
        TemplateSource t = new TemplateSource();
        t.run(normalize(template));
        return new Result(t.out.toString(), List.copyOf(t.references));
    }

    /** Jinja2's lexer: every \r\n, \r or \n becomes \n, and one trailing newline is removed. */
    static String normalize(String template) {
        String n = template.replace("\r\n", "\n").replace('\r', '\n');
        return n.endsWith("\n") ? n.substring(0, n.length() - 1) : n;
    }

    private void run(String src) {
        this.s = src;
        int i = 0;
        int segmentStart = 0; // where the text after the previous tag starts in 'out'
        boolean lineStarting = true;
        while (i < s.length()) {
            int open = nextTag(i);
            if (open < 0) {
                copyText(i, s.length());
                break;
            }
            copyText(i, open);
            char kind = s.charAt(open + 1);
            if (kind == '{') {
                requireClosed(open, codeEnd(open + 2, "}}"), "}}");
                int end = Math.min(codeEnd(open + 2, "}}") + 2, s.length());
                int innerStart = open + 2 + ("-+".indexOf(charAt(open + 2)) >= 0 ? 1 : 0);
                int innerEnd = end - 2 - (end - 3 > innerStart && "-+".indexOf(s.charAt(end - 3)) >= 0 ? 1 : 0);
                if (innerEnd > innerStart && !s.substring(innerStart, innerEnd).isBlank()) {
                    // values print as Python's str(): {{ x }} -> {{ (x)|__pystr }}
                    out.append(s, open, innerStart).append('(');
                    code(innerStart, innerEnd);
                    out.append(")|__pystr").append(s, innerEnd, end);
                } else {
                    code(open, end);
                }
                i = end;
                lineStarting = false;
                segmentStart = out.length();
            } else {
                boolean comment = kind == '#';
                String close = comment ? "#}" : "%}";
                int end = comment ? indexOrEnd(s.indexOf("#}", open + 2)) : codeEnd(open + 2, "%}");
                requireClosed(open, end, close);
                char left = charAt(open + 2);
                char right = end > open + 2 ? s.charAt(end - 1) : ' ';
                if (left != '-' && left != '+') {
                    lstrip(segmentStart, lineStarting);
                }
                out.append(s, open, open + 2);
                int bodyStart = left == '+' ? open + 3 : open + 2;
                int bodyEnd = right == '+' ? end - 1 : end;
                if (comment) {
                    copyText(bodyStart, bodyEnd);
                } else {
                    code(bodyStart, bodyEnd);
                }
                i = Math.min(end + 2, s.length());
                boolean rawBegin = !comment && RAW_BEGIN.matcher(s).region(open, s.length()).lookingAt();
                // Jinja2's raw_begin rule has no trim_blocks suffix: the newline after {% raw %} stays
                boolean trim = !rawBegin && right != '-' && right != '+' && charAt(i) == '\n';
                out.append(close);
                if (trim) {
                    // the trimmed newline stays in the source, inside a comment, so Jinjava's line numbers stay right
                    out.append("{#\n#}");
                    line++;
                    i++;
                }
                lineStarting = trim || (right == '-' && endsWithNewline(i));
                segmentStart = out.length();
                if (rawBegin) { // the raw text is part of the text before {% endraw %} (for lstrip)
                    Matcher endRaw = RAW_END.matcher(s);
                    int stop = endRaw.find(i) ? endRaw.start() : s.length();
                    copyText(i, stop);
                    i = stop;
                }
            }
        }
    }

    /** @return whether the blanks that {@code -%}} strips from {@code i} on end with a newline */
    private boolean endsWithNewline(int i) {
        int j = i;
        while (j < s.length() && Character.isWhitespace(s.charAt(j))) {
            j++;
        }
        return j > i && s.charAt(j - 1) == '\n';
    }

    private char charAt(int i) {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    /**
     * @throws dev.argon.ArgonException naming the line when the tag opened at {@code open} has no
     *     {@code close} (Jinjava would print the broken rest of the template as text; Jinja2 refuses it)
     */
    private void requireClosed(int open, int closeAt, String close) {
        if (closeAt >= s.length()) {
            int lineOfOpen = 1;
            for (int k = s.indexOf('\n'); k >= 0 && k < open; k = s.indexOf('\n', k + 1)) {
                lineOfOpen++;
            }
            throw new dev.argon.ArgonException("chat template line " + lineOfOpen + ": '" + s.substring(open, open + 2)
                    + "' is never closed with '" + close + "'");
        }
    }

    private int indexOrEnd(int i) {
        return i < 0 ? s.length() : i;
    }

    private int nextTag(int from) {
        for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    /** @return the index of {@code close} ending the code that starts at {@code from}, skipping string literals */
    private int codeEnd(int from, String close) {
        int i = from;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = literalEnd(i) + 1;
            } else if (s.startsWith(close, i)) {
                return i;
            } else {
                i++;
            }
        }
        return s.length();
    }

    private int literalEnd(int start) {
        char q = s.charAt(start);
        for (int i = start + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == q) {
                return i;
            }
        }
        return s.length() - 1;
    }

    private void copyText(int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == '\n') {
                line++;
            }
        }
        out.append(s, from, to);
    }

    /** lstrip_blocks: drop the blanks between the start of the line and a block or comment tag. */
    private void lstrip(int segmentStart, boolean lineStarting) {
        int lineStart = out.lastIndexOf("\n") + 1;
        int from = Math.max(lineStart, segmentStart);
        if ((lineStart > segmentStart || lineStarting) && from < out.length()) {
            for (int k = from; k < out.length(); k++) {
                if (!Py.isSpace(out.charAt(k))) {
                    return;
                }
            }
            out.setLength(from);
        }
    }

    /** Copies expression code {@code s[from, to)} (which may include the tag delimiters), rewriting literals and slices. */
    private void code(int from, int to) {
        StringBuilder plain = new StringBuilder(); // code outside literals, for the reference scan
        int startLine = line;
        StringBuilder code = new StringBuilder();
        int i = from;
        while (i < to) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                int end = Math.min(literalEnd(i), to - 1);
                String lit = s.substring(i, end + 1);
                String newlines = "\n".repeat((int) lit.chars().filter(ch -> ch == '\n').count());
                code.append(Expressions.literal(lit)).append(newlines);
                plain.append("''").append(newlines);
                i = end + 1;
            } else {
                code.append(c);
                plain.append(c);
                i++;
            }
        }
        requireShallow(plain, startLine);
        String rewritten = Expressions.rewrite(code.toString());
        scanReferences(plain.toString(), startLine);
        for (int k = from; k < to; k++) {
            if (s.charAt(k) == '\n') {
                line++;
            }
        }
        out.append(rewritten);
    }

    /** The deepest nesting of brackets an expression may have (Jinjava's parser slows down exponentially with depth). */
    static final int MAX_NESTING = 32;

    /** @throws dev.argon.ArgonException naming the line when brackets nest deeper than {@link #MAX_NESTING} */
    private static void requireShallow(CharSequence plain, int startLine) {
        int depth = 0;
        int lineOf = startLine;
        for (int i = 0; i < plain.length(); i++) {
            char c = plain.charAt(i);
            if (c == '\n') {
                lineOf++;
            } else if (c == '(' || c == '[' || c == '{') {
                if (++depth > MAX_NESTING) {
                    throw new dev.argon.ArgonException("chat template line " + lineOf + ": brackets nested deeper than "
                            + MAX_NESTING + " levels");
                }
            } else if (c == ')' || c == ']' || c == '}') {
                depth = Math.max(0, depth - 1);
            }
        }
    }

    private void scanReferences(String plain, int startLine) {
        for (Matcher m = FILTER.matcher(plain); m.find(); ) {
            references.add(new Reference("filter", m.group(1), startLine + count(plain, m.start())));
        }
        for (Matcher m = TEST.matcher(plain); m.find(); ) {
            references.add(new Reference("test", m.group(1), startLine + count(plain, m.start())));
        }
    }

    private static int count(String text, int end) {
        int n = 0;
        for (int i = 0; i < end; i++) {
            if (text.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }
}
