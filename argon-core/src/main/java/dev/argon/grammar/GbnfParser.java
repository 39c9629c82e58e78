package dev.argon.grammar;

import java.util.ArrayList;
import java.util.List;

/** Recursive-descent parser of llama.cpp's GBNF into a {@link GrammarBuilder}. */
final class GbnfParser {
    private static final int MAX_REPEAT = 10_000;
    private final String src;
    private final GrammarBuilder b = new GrammarBuilder();
    private int pos;
    private String currentRule = "root";

    GbnfParser(String src) {
        this.src = src;
    }

    Grammar parse() {
        skipSpace(true);
        if (eof()) {
            throw error("the grammar is empty; expected rules such as root ::= \"yes\" | \"no\"");
        }
        while (!eof()) {
            int start = pos;
            String name = name("a rule name");
            skipSpace(false);
            if (!src.startsWith("::=", pos)) {
                throw error("expected '::=' after rule name '" + name + "'");
            }
            pos += 3;
            skipSpace(true);
            if (b.defined(name)) {
                int p = pos;
                pos = start;
                GrammarException e = error("rule '" + name + "' is defined twice");
                pos = p;
                throw e;
            }
            currentRule = name;
            int id = b.rule(name, where(start));
            b.define(id, alternatives(false));
            if (!eof() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') {
                throw error("unexpected " + describe() + " (expected a newline after the rule)");
            }
            skipSpace(true);
        }
        return b.build("root");
    }

    private List<List<Integer>> alternatives(boolean nested) {
        List<List<Integer>> alts = new ArrayList<>();
        alts.add(sequence(nested));
        while (!eof() && src.charAt(pos) == '|') {
            pos++;
            skipSpace(true);
            alts.add(sequence(nested));
        }
        return alts;
    }

    private List<Integer> sequence(boolean nested) {
        List<Integer> seq = new ArrayList<>();
        int lastStart = -1;
        while (!eof()) {
            char c = src.charAt(pos);
            if (c == '"') {
                lastStart = seq.size();
                pos++;
                StringBuilder lit = new StringBuilder();
                while (true) {
                    if (eof() || src.charAt(pos) == '\n') {
                        throw error("unterminated string literal (expected '\"')");
                    }
                    if (src.charAt(pos) == '"') {
                        pos++;
                        break;
                    }
                    lit.appendCodePoint(character());
                }
                b.literal(lit.toString(), seq);
                if (seq.size() == lastStart) {
                    lastStart = -1; // "" matches nothing to repeat
                }
            } else if (c == '[') {
                lastStart = seq.size();
                seq.add(charClass());
            } else if (c == '.') {
                pos++;
                lastStart = seq.size();
                seq.add(b.charClass(new int[]{0, 0x10FFFF}, currentRule));
            } else if (c == '(') {
                pos++;
                skipSpace(true);
                lastStart = seq.size();
                List<List<Integer>> alts = alternatives(true);
                if (eof() || src.charAt(pos) != ')') {
                    throw error("expected ')' to close the group");
                }
                pos++;
                if (alts.size() == 1) {
                    seq.add(b.group(alts.getFirst(), currentRule));
                } else {
                    int r = b.newRule(currentRule);
                    b.define(r, alts);
                    seq.add(GrammarBuilder.ref(r));
                }
            } else if (isWordChar(c)) {
                int at = pos;
                String name = name("a rule name");
                lastStart = seq.size();
                seq.add(GrammarBuilder.ref(b.rule(name, where(at))));
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (lastStart < 0) {
                    throw error("'" + c + "' has nothing before it to repeat");
                }
                int min;
                int max;
                if (c == '{') {
                    pos++;
                    skipSpace(nested);
                    min = number();
                    skipSpace(nested);
                    max = min;
                    if (!eof() && src.charAt(pos) == ',') {
                        pos++;
                        skipSpace(nested);
                        max = !eof() && Character.isDigit(src.charAt(pos)) ? number() : -1;
                        skipSpace(nested);
                    }
                    if (eof() || src.charAt(pos) != '}') {
                        throw error("expected '}' to close the repetition {m,n}");
                    }
                    if (max >= 0 && max < min) {
                        throw error("repetition {" + min + "," + max + "} has its maximum below its minimum");
                    }
                } else {
                    min = c == '+' ? 1 : 0;
                    max = c == '?' ? 1 : -1;
                }
                pos++;
                List<Integer> last = new ArrayList<>(seq.subList(lastStart, seq.size()));
                seq.subList(lastStart, seq.size()).clear();
                int x = b.group(last, currentRule);
                seq.addAll(b.repeat(x, min, max, currentRule));
                lastStart = -1;
            } else {
                break;
            }
            skipSpace(nested);
        }
        return seq;
    }

    private int charClass() {
        pos++; // [
        boolean negated = !eof() && src.charAt(pos) == '^';
        if (negated) {
            pos++;
        }
        List<int[]> ranges = new ArrayList<>();
        while (true) {
            if (eof() || src.charAt(pos) == '\n') {
                throw error("unterminated character class (expected ']')");
            }
            if (src.charAt(pos) == ']') {
                pos++;
                break;
            }
            int lo = character();
            int hi = lo;
            if (pos + 1 < src.length() && src.charAt(pos) == '-' && src.charAt(pos + 1) != ']') {
                pos++;
                hi = character();
                if (hi < lo) {
                    throw error("character range is reversed (" + show(lo) + " > " + show(hi) + ")");
                }
            }
            ranges.add(new int[]{lo, hi});
        }
        ranges.sort((x, y) -> Integer.compare(x[0], y[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] r : ranges) {
            if (!merged.isEmpty() && r[0] <= merged.getLast()[1] + 1) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], r[1]);
            } else {
                merged.add(r);
            }
        }
        if (negated) {
            List<int[]> inv = new ArrayList<>();
            int next = 0;
            for (int[] r : merged) {
                if (r[0] > next) {
                    inv.add(new int[]{next, r[0] - 1});
                }
                next = r[1] + 1;
            }
            if (next <= 0x10FFFF) {
                inv.add(new int[]{next, 0x10FFFF});
            }
            merged = inv;
        }
        int[] flat = new int[merged.size() * 2];
        for (int i = 0; i < merged.size(); i++) {
            flat[2 * i] = merged.get(i)[0];
            flat[2 * i + 1] = merged.get(i)[1];
        }
        return b.charClass(flat, currentRule);
    }

    /** One character of a literal or class, with escapes. */
    private int character() {
        int cp = src.codePointAt(pos);
        if (cp != '\\') {
            pos += Character.charCount(cp);
            return cp;
        }
        int at = pos;
        pos++;
        if (eof()) {
            throw error("unfinished escape at the end of the grammar");
        }
        char e = src.charAt(pos++);
        return switch (e) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case '0' -> 0;
            case '\\', '"', '[', ']', '-', '^', '/', '\'' -> e;
            case 'x' -> hex(2, at);
            case 'u' -> hex(4, at);
            case 'U' -> hex(8, at);
            default -> {
                pos = at;
                throw error("unknown escape '\\" + e + "' (known: \\n \\r \\t \\\\ \\\" \\[ \\] \\xHH \\uHHHH \\UHHHHHHHH)");
            }
        };
    }

    private int hex(int digits, int at) {
        if (pos + digits > src.length()) {
            pos = at;
            throw error("escape needs " + digits + " hex digits");
        }
        int v;
        try {
            v = Integer.parseInt(src.substring(pos, pos + digits), 16);
        } catch (NumberFormatException ex) {
            pos = at;
            throw error("escape needs " + digits + " hex digits, found '" + src.substring(at, at + 2 + digits) + "'");
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
            pos = at;
            throw error("escape names U+" + Integer.toHexString(v).toUpperCase() + ", which is not a Unicode scalar value");
        }
        pos += digits;
        return v;
    }

    private int number() {
        int start = pos;
        while (!eof() && Character.isDigit(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a number in the repetition {m,n}");
        }
        int v = pos - start > 6 ? Integer.MAX_VALUE : Integer.parseInt(src.substring(start, pos));
        if (v > MAX_REPEAT) {
            pos = start;
            throw error("repetition count " + src.substring(start, Math.min(src.length(), start + 12)).split("\\D")[0]
                    + " is above the limit of " + MAX_REPEAT);
        }
        return v;
    }

    private String name(String what) {
        int start = pos;
        while (!eof() && isWordChar(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected " + what + ", found " + describe());
        }
        return src.substring(start, pos);
    }

    private static boolean isWordChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    private void skipSpace(boolean newlines) {
        while (!eof()) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (!eof() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') {
                    pos++;
                }
            } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
                pos++;
            } else {
                break;
            }
        }
    }

    private boolean eof() {
        return pos >= src.length();
    }

    private String describe() {
        if (eof()) {
            return "the end of the grammar";
        }
        int cp = src.codePointAt(pos);
        return cp == '\n' || cp == '\r' ? "a line break" : "'" + new String(Character.toChars(cp)) + "'";
    }

    private static String show(int cp) {
        return cp < 0x20 || cp > 0x7E ? String.format("U+%04X", cp) : "'" + (char) cp + "'";
    }

    private String where(int at) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < at && i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return line + ":" + col;
    }

    private GrammarException error(String message) {
        return new GrammarException("grammar error at " + where(pos) + ": " + message);
    }
}
