package dev.argon.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Translates a JSON Schema {@code pattern} (an ECMA-262 regular expression, the common subset)
 * into a GBNF expression over the JSON-encoded string content: literals, {@code .}, classes
 * {@code [...]} and {@code [^...]}, {@code \d \w \s \D \W \S}, escaped characters, groups
 * {@code (...)} and {@code (?:...)}, alternation, and the quantifiers {@code * + ? {m} {m,} {m,n}}
 * (lazy forms as greedy). A pattern not anchored with {@code ^} / {@code $} accepts any text
 * before / after, as the schema's search semantics say. Generated characters avoid {@code "},
 * {@code \} and control characters, which JSON would have to escape. Lookaround, backreferences
 * and anchors inside the pattern are errors naming the pattern.
 */
final class RegexToGbnf {
    private static final String ANY = "[^\"\\\\\\x00-\\x1F]";
    private final String re;
    private final String at;
    private int pos;

    RegexToGbnf(String re, String at) {
        this.re = re;
        this.at = at;
    }

    String translate() {
        boolean start = re.startsWith("^");
        pos = start ? 1 : 0;
        String body = alternation();
        boolean end = pos < re.length() && re.charAt(pos) == '$' && pos == re.length() - 1;
        if (end) {
            pos++;
        }
        if (pos < re.length()) {
            throw error("unexpected '" + re.charAt(pos) + "'");
        }
        return (start ? "" : ANY + "* ") + "(" + body + ")" + (end ? "" : " " + ANY + "*");
    }

    private String alternation() {
        List<String> alts = new ArrayList<>();
        alts.add(sequence());
        while (pos < re.length() && re.charAt(pos) == '|') {
            pos++;
            alts.add(sequence());
        }
        return String.join(" | ", alts);
    }

    private String sequence() {
        StringBuilder sb = new StringBuilder();
        while (pos < re.length()) {
            char c = re.charAt(pos);
            if (c == '|' || c == ')') {
                break;
            }
            if (c == '$' && pos == re.length() - 1) {
                break;
            }
            String atom = atom();
            sb.append(atom).append(quantifier()).append(' ');
        }
        return sb.isEmpty() ? "\"\"" : sb.toString().trim();
    }

    private String atom() {
        char c = re.charAt(pos++);
        switch (c) {
            case '.':
                return ANY;
            case '(': {
                if (re.startsWith("?:", pos)) {
                    pos += 2;
                } else if (pos < re.length() && re.charAt(pos) == '?') {
                    throw error("lookaround and named groups are not supported");
                }
                String inner = alternation();
                if (pos >= re.length() || re.charAt(pos) != ')') {
                    throw error("missing ')'");
                }
                pos++;
                return "(" + inner + ")";
            }
            case '[':
                return charClass();
            case '\\':
                return escape(false);
            case '^', '$':
                throw error("anchor '" + c + "' is supported only at the start / end of the pattern");
            case '*', '+', '?', '{':
                throw error("'" + c + "' has nothing before it to repeat");
            default:
                return chars(new int[]{c, c}, false);
        }
    }

    private String quantifier() {
        if (pos >= re.length()) {
            return "";
        }
        char c = re.charAt(pos);
        String q;
        if (c == '*' || c == '+' || c == '?') {
            pos++;
            q = String.valueOf(c);
        } else if (c == '{' && re.indexOf('}', pos) > 0 && re.substring(pos + 1, re.indexOf('}', pos)).matches("\\d+(,\\d*)?")) {
            int close = re.indexOf('}', pos);
            q = re.substring(pos, close + 1);
            pos = close + 1;
        } else {
            return "";
        }
        if (pos < re.length() && re.charAt(pos) == '?') {
            pos++; // lazy: the same set of strings
        }
        return q;
    }

    private String escape(boolean inClass) {
        if (pos >= re.length()) {
            throw error("the pattern ends with '\\'");
        }
        char e = re.charAt(pos++);
        return switch (e) {
            case 'd' -> chars(new int[]{'0', '9'}, false);
            case 'D' -> chars(new int[]{'0', '9'}, true);
            case 'w' -> chars(new int[]{'0', '9', 'A', 'Z', '_', '_', 'a', 'z'}, false);
            case 'W' -> chars(new int[]{'0', '9', 'A', 'Z', '_', '_', 'a', 'z'}, true);
            case 's' -> chars(new int[]{' ', ' '}, false);
            case 'S' -> chars(new int[]{' ', ' '}, true);
            case 'b', 'B' -> throw error("word boundaries are not supported");
            case 'n', 'r', 't', 'f', 'v' -> throw error("control characters cannot be generated inside a JSON string here");
            default -> {
                if (Character.isDigit(e)) {
                    throw error("backreferences are not supported");
                }
                if (Character.isLetter(e)) {
                    throw error("unknown escape '\\" + e + "'");
                }
                yield chars(new int[]{e, e}, false);
            }
        };
    }

    private String charClass() {
        boolean negated = pos < re.length() && re.charAt(pos) == '^';
        if (negated) {
            pos++;
        }
        List<int[]> ranges = new ArrayList<>();
        boolean first = true;
        while (true) {
            if (pos >= re.length()) {
                throw error("missing ']'");
            }
            char c = re.charAt(pos);
            if (c == ']' && !first) {
                pos++;
                break;
            }
            first = false;
            int lo;
            if (c == '\\') {
                pos++;
                char e = re.charAt(pos);
                if ("dDwWsS".indexOf(e) >= 0) {
                    if (Character.isUpperCase(e)) {
                        throw error("negated shorthand '\\" + e + "' inside a class is not supported");
                    }
                    pos++;
                    switch (e) {
                        case 'd' -> ranges.add(new int[]{'0', '9'});
                        case 'w' -> {
                            ranges.add(new int[]{'0', '9'});
                            ranges.add(new int[]{'A', 'Z'});
                            ranges.add(new int[]{'_', '_'});
                            ranges.add(new int[]{'a', 'z'});
                        }
                        default -> ranges.add(new int[]{' ', ' '});
                    }
                    continue;
                }
                pos++;
                lo = e;
            } else {
                lo = re.codePointAt(pos);
                pos += Character.charCount(lo);
            }
            int hi = lo;
            if (pos + 1 < re.length() && re.charAt(pos) == '-' && re.charAt(pos + 1) != ']') {
                pos++;
                if (re.charAt(pos) == '\\') {
                    pos++;
                }
                hi = re.codePointAt(pos);
                pos += Character.charCount(hi);
                if (hi < lo) {
                    throw error("reversed range in a class");
                }
            }
            ranges.add(new int[]{lo, hi});
        }
        int[] flat = new int[ranges.size() * 2];
        for (int i = 0; i < ranges.size(); i++) {
            flat[2 * i] = ranges.get(i)[0];
            flat[2 * i + 1] = ranges.get(i)[1];
        }
        return chars(flat, negated);
    }

    /** A GBNF class of the ranges (or their complement), minus the characters JSON must escape. */
    private String chars(int[] ranges, boolean negated) {
        StringBuilder sb = new StringBuilder("[");
        if (negated) {
            sb.append('^');
        }
        for (int i = 0; i < ranges.length; i += 2) {
            int lo = ranges[i];
            int hi = ranges[i + 1];
            if (!negated) {
                // split around the characters JSON escapes
                for (int[] r : without(lo, hi)) {
                    sb.append(esc(r[0]));
                    if (r[1] != r[0]) {
                        sb.append('-').append(esc(r[1]));
                    }
                }
            } else {
                sb.append(esc(lo));
                if (hi != lo) {
                    sb.append('-').append(esc(hi));
                }
            }
        }
        if (negated) {
            sb.append("\"\\\\\\x00-\\x1F");
        }
        String cls = sb.append(']').toString();
        if (cls.equals("[]")) {
            throw error("a class has no character that can be written unescaped in a JSON string");
        }
        return cls;
    }

    private static List<int[]> without(int lo, int hi) {
        List<int[]> out = new ArrayList<>();
        int a = Math.max(lo, 0x20);
        for (int bad : new int[]{'"', '\\'}) {
            if (a <= bad && bad <= hi) {
                if (a < bad) {
                    out.add(new int[]{a, bad - 1});
                }
                a = bad + 1;
            }
        }
        if (a <= hi) {
            out.add(new int[]{a, hi});
        }
        return out;
    }

    private static String esc(int cp) {
        if (cp < 0x20 || cp == ']' || cp == '[' || cp == '\\' || cp == '"' || cp == '-' || cp == '^' || cp > 0x7E) {
            return cp > 0xFFFF ? String.format("\\U%08X", cp) : String.format("\\u%04X", cp);
        }
        return String.valueOf((char) cp);
    }

    private GrammarException error(String message) {
        return new GrammarException("JSON schema at " + at + ": pattern '" + re + "': " + message);
    }
}
