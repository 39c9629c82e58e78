package dev.argon.grammar;

import dev.argon.generate.TokenConstraint;
import dev.argon.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A grammar that applies only once the model has written a trigger (llama.cpp's lazy grammar, as
 * used for {@code tool_choice: auto}): generation is unconstrained until the output's bytes
 * contain one of the trigger words, or the model generates a trigger token; from then on the
 * output must continue as a string of the grammar. For a trigger word, the grammar starts at the
 * word's first byte (the bytes from there up to the end of the current token are fed to it); for a
 * trigger token (a control token such as Llama 3's {@code <|python_tag|>}, which has no output
 * bytes), it starts right after the token. If the grammar rejects the bytes that follow a trigger
 * word, that occurrence is ignored and generation stays free. Not thread-safe: one per sequence.
 */
public final class LazyGrammarConstraint implements TokenConstraint {
    private final GrammarConstraint inner;
    private final Tokenizer tok;
    private final byte[][] words;
    private final int[] triggerTokens;
    private final int keep;
    private byte[] recent = new byte[0];
    private boolean triggered;

    /**
     * @param grammar the grammar from a trigger on
     * @param tokenizer the model's tokenizer
     * @param words trigger words (plain text, not patterns)
     * @param tokens texts of trigger tokens: a text the tokenizer encodes (with special tokens parsed)
     *     as a single control token makes that token a trigger; other texts are ignored here
     *     (list them as words too)
     */
    public LazyGrammarConstraint(Grammar grammar, Tokenizer tokenizer, List<String> words, List<String> tokens) {
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
        List<String> w = List.copyOf(words);
        List<String> t = List.copyOf(tokens);
        return tokenizer -> new LazyGrammarConstraint(grammar, tokenizer, w, t);
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
