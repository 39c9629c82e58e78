package dev.argon.grammar;

import dev.argon.generate.TokenConstraint;
import dev.argon.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A grammar that applies only once the model has written a trigger (llama.cpp's lazy grammar, as
 * used for {@code tool_choice: auto}): generation is unconstrained until the output's bytes
 * contain one of the trigger words, or the model generates a trigger token; from then on the
 * output must continue as a string of the grammar. For a trigger word, the grammar starts at the
 * word's first byte (the bytes from there up to the end of the current token are fed to it); for a
 * trigger token (a control token such as Llama 3's {@code <|python_tag|>}, which has no output
 * bytes), it starts right after the token. If the grammar rejects the bytes that follow a trigger
 * word, that occurrence is ignored and generation stays free.
 *
 * <p>Trigger patterns (llama.cpp's {@code grammar_triggers} of type pattern / pattern_full) are
 * regular expressions over the whole output so far: a pattern starting with {@code ^} and ending
 * with {@code $} must match all of it, any other is searched for anywhere; the grammar starts at
 * the first non-empty capturing group, else at the match (as llama.cpp). Each check is bounded
 * ({@value #PATTERN_STEPS} character reads), so a backtracking pattern cannot stall generation: a
 * check over budget counts as no match. Not thread-safe: one per sequence.
 */
public final class LazyGrammarConstraint implements TokenConstraint {
    private final GrammarConstraint inner;
    private final Tokenizer tok;
    private final byte[][] words;
    private final int[] triggerTokens;
    private final int keep;
    private final List<Pattern> patterns;
    private byte[] recent = new byte[0];
    private java.io.ByteArrayOutputStream output; // all bytes so far, kept only when there are patterns
    private boolean triggered;

    /** Character reads one pattern check may make before it counts as no match. */
    static final int PATTERN_STEPS = 2_000_000;

    /**
     * @param grammar the grammar from a trigger on
     * @param tokenizer the model's tokenizer
     * @param words trigger words (plain text, not patterns)
     * @param tokens texts of trigger tokens: a text the tokenizer encodes (with special tokens parsed)
     *     as a single control token makes that token a trigger; other texts are ignored here
     *     (list them as words too)
     */
    public LazyGrammarConstraint(Grammar grammar, Tokenizer tokenizer, List<String> words, List<String> tokens) {
        this(grammar, tokenizer, words, tokens, List.of());
    }

    /**
     * @param patterns trigger patterns (see the class comment), compiled
     * @see #LazyGrammarConstraint(Grammar, Tokenizer, List, List)
     */
    public LazyGrammarConstraint(Grammar grammar, Tokenizer tokenizer, List<String> words, List<String> tokens, List<Pattern> patterns) {
        this.patterns = List.copyOf(patterns);
        this.output = patterns.isEmpty() ? null : new java.io.ByteArrayOutputStream();
        this.inner = new GrammarConstraint(grammar, tokenizer);
        this.tok = tokenizer;
        this.words = words.stream().map(w -> w.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
        int longest = 0;
        for (byte[] w : this.words) {
            if (w.length == 0) {
                throw new IllegalArgumentException("an empty trigger word");
            }
            longest = Math.max(longest, w.length);
        }
        this.keep = Math.max(0, longest - 1);
        List<Integer> ids = new ArrayList<>();
        for (String t : tokens) {
            int[] enc = tokenizer.encode(t, false, true);
            if (enc.length == 1 && tokenizer.isControl(enc[0])) {
                ids.add(enc[0]);
            }
        }
        this.triggerTokens = ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** @return a factory of lazy constraints (see the constructor) */
    public static TokenConstraint.Factory factory(Grammar grammar, List<String> words, List<String> tokens) {
        return factory(grammar, words, tokens, List.of());
    }

    /** @return a factory of lazy constraints with trigger patterns too (see the constructor) */
    public static TokenConstraint.Factory factory(Grammar grammar, List<String> words, List<String> tokens, List<Pattern> patterns) {
        List<String> w = List.copyOf(words);
        List<String> t = List.copyOf(tokens);
        List<Pattern> p = List.copyOf(patterns);
        return tokenizer -> new LazyGrammarConstraint(grammar, tokenizer, w, t, p);
    }

    /** @return whether a trigger has been seen, so the grammar applies */
    public boolean triggered() {
        return triggered;
    }

    @Override
    public boolean mask(float[] logits) {
        return !triggered || inner.mask(logits);
    }

    /** Before a trigger every draft token is allowed (the trigger's position is not looked ahead for); after it, the grammar's. */
    @Override
    public int allowedPrefix(int[] tokens, int count) {
        return triggered ? inner.allowedPrefix(tokens, count) : count;
    }

    @Override
    public void accept(int token) {
        if (triggered) {
            inner.accept(token);
            return;
        }
        for (int t : triggerTokens) {
            if (t == token) {
                triggered = true;
                recent = null;
                return;
            }
        }
        byte[] b = tok.tokenBytes(token);
        if (output != null) {
            output.writeBytes(b);
            if (patternTriggered()) {
                return;
            }
        }
        byte[] text = Arrays.copyOf(recent, recent.length + b.length);
        System.arraycopy(b, 0, text, recent.length, b.length);
        int from = 0;
        while (true) {
            int at = firstTrigger(text, from);
            if (at < 0) {
                break;
            }
            try {
                inner.feed(Arrays.copyOfRange(text, at, text.length));
                triggered = true;
                recent = null;
                return;
            } catch (IllegalArgumentException rejected) {
                inner.reset();
                from = at + 1;
            }
        }
        recent = Arrays.copyOfRange(text, Math.max(0, text.length - keep), text.length);
    }

    /** Checks the patterns against the whole output; on a match the grammar takes the output from its start. */
    private boolean patternTriggered() {
        byte[] all = output.toByteArray();
        String text = new String(all, StandardCharsets.UTF_8);
        for (Pattern p : patterns) {
            int start;
            try {
                Matcher m = p.matcher(new Bounded(text));
                String src = p.pattern();
                boolean whole = src.startsWith("^") && src.endsWith("$");
                if (!(whole ? m.matches() : m.find())) {
                    continue;
                }
                start = m.start();
                for (int g = 1; g <= m.groupCount(); g++) {
                    if (m.start(g) >= 0 && m.end(g) > m.start(g)) {
                        start = m.start(g);
                        break;
                    }
                }
            } catch (Bounded.OverBudget e) {
                continue;
            }
            int from = text.substring(0, start).getBytes(StandardCharsets.UTF_8).length;
            try {
                inner.feed(Arrays.copyOfRange(all, Math.min(from, all.length), all.length));
                triggered = true;
                recent = null;
                output = null;
                return true;
            } catch (IllegalArgumentException rejected) {
                inner.reset(); // the grammar cannot continue from there: this match is ignored
            }
        }
        return false;
    }

    /** A text whose reads are counted, so that one regular-expression check has a bounded cost. */
    private static final class Bounded implements CharSequence {
        static final class OverBudget extends RuntimeException {
            OverBudget() {
                super(null, null, false, false);
            }
        }

        private final String text;
        private final int[] reads;

        Bounded(String text) {
            this(text, new int[1]);
        }

        private Bounded(String text, int[] reads) {
            this.text = text;
            this.reads = reads;
        }

        @Override
        public char charAt(int index) {
            if (++reads[0] > PATTERN_STEPS) {
                throw new OverBudget();
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Bounded(text.substring(start, end), reads);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** @return the first index at or after {@code from} where a trigger word starts, or -1 */
    private int firstTrigger(byte[] text, int from) {
        int best = -1;
        for (byte[] w : words) {
            outer:
            for (int i = from; i + w.length <= text.length && (best < 0 || i < best); i++) {
                for (int j = 0; j < w.length; j++) {
                    if (text[i + j] != w[j]) {
                        continue outer;
                    }
                }
                best = i;
                break;
            }
        }
        return best;
    }
}
