package dev.argon.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits input text into special-token and plain-text fragments as llama.cpp's
 * {@code tokenizer_st_partition} does: special tokens (control, user-defined and unknown) are
 * taken one at a time, longest text first, and every non-overlapping occurrence in every
 * remaining plain-text fragment is cut out, left to right. User-defined tokens are always
 * matched; control and unknown tokens only when special parsing is on. Tokens marked
 * {@link Vocabulary#rstrip} swallow the whitespace that follows them.
 */
final class SpecialTokenSplitter {

    /**
     * A piece of the input: a special token ({@code token >= 0}) or the plain text
     * {@code [start, end)} of the input string ({@code token == -1}).
     */
    record Fragment(int token, int start, int end) {
        boolean isToken() {
            return token >= 0;
        }
    }

    private final Vocabulary vocab;

    SpecialTokenSplitter(Vocabulary vocab) {
        this.vocab = vocab;
    }

    /** @return the fragments of non-empty {@code text}, in order */
    List<Fragment> split(String text, boolean parseSpecial) {
        return split(new PromptText(text, parseSpecial, null));
    }

    /**
     * @return the fragments of a non-empty prompt, in order; a control or unknown token whose
     *     occurrence overlaps a literal range of the prompt ({@link PromptText#isLiteral}) stays plain text
     */
    List<Fragment> split(PromptText prompt) {
        String text = prompt.text();
        boolean parseSpecial = prompt.parseSpecial();
        List<Fragment> frags = new ArrayList<>();
        frags.add(new Fragment(-1, 0, text.length()));
        for (int id : vocab.specialsByLength()) {
            int type = vocab.tokenType(id);
            if (!parseSpecial && (type == Vocabulary.CONTROL || type == Vocabulary.UNKNOWN)) {
                continue;
            }
            String special = vocab.token(id);
            if (!occursIn(text, special, frags)) {
                continue;
            }
            List<Fragment> next = new ArrayList<>(frags.size() + 4);
            for (Fragment f : frags) {
                if (f.isToken()) {
                    next.add(f);
                } else {
                    cut(prompt, f.start(), f.end(), id, special, next);
                }
            }
            frags = next;
        }
        return frags;
    }

    private static boolean occursIn(String text, String special, List<Fragment> frags) {
        for (Fragment f : frags) {
            if (!f.isToken() && text.indexOf(special, f.start(), f.end()) >= 0) {
                return true;
            }
        }
        return false;
    }

    private void cut(PromptText prompt, int start, int end, int id, String special, List<Fragment> out) {
        String text = prompt.text();
        int off = start;
        int from = start;
        while (from < end) {
            int m = text.indexOf(special, from, end);
            if (m < 0) {
                break;
            }
            if (prompt.isLiteral(m, m + special.length())) {
                from = m + 1; // data, not a control token: leave it in the plain text
                continue;
            }
            if (m > off) {
                out.add(new Fragment(-1, off, m));
            }
            out.add(new Fragment(id, m, m + special.length()));
            off = m + special.length();
            if (vocab.rstrip(id)) {
                while (off < end && isCSpace(text.charAt(off))) {
                    off++;
                }
            }
            from = off;
        }
        if (off < end) {
            out.add(new Fragment(-1, off, end));
        }
    }

    // C isspace() in the "C" locale, which llama.cpp applies byte by byte
    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
