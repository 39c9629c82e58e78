package dev.argon.generate;

import dev.argon.ArgonException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * What makes a sequence take back tokens it generated ({@link Sequence#rollback}) and generate
 * them again, in {@link Generator} and {@link BatchScheduler} alike ({@link Backtracker} does it):
 * <ul>
 *   <li>banned strings ({@code --ban-string}, server field {@code banned_strings}): when the text
 *       comes to contain one, the sequence backs up to the token in which it starts and bans that
 *       token at that position (logit {@code -inf}), so the string is never emitted;</li>
 *   <li>a backspace token ({@code --backspace-token ID}; SequenceMatch, Cundy and Ermon, ICLR 2024):
 *       when the model samples it, it and the token before it are removed, and the removed token
 *       is banned at its position, so generation goes on with another choice there.</li>
 * </ul>
 *
 * @param bannedStrings strings never emitted (none empty)
 * @param backspaceToken the backspace token id, or -1 for none
 */
public record Backtracking(List<String> bannedStrings, int backspaceToken) {
    /** No backtracking. */
    public static final Backtracking NONE = new Backtracking(List.of(), -1);

    /** Copies the list; null means none. */
    public Backtracking {
        bannedStrings = bannedStrings == null ? List.of() : List.copyOf(bannedStrings);
    }

    /** @return banned strings only */
    public static Backtracking banning(List<String> strings) {
        return new Backtracking(strings, -1);
    }

    /** @return whether anything can make the sequence back up */
    public boolean active() {
        return !bannedStrings.isEmpty() || backspaceToken >= 0;
    }

    /** @return these rules with {@code more} banned strings too (duplicates dropped) */
    public Backtracking withBannedStrings(List<String> more) {
        LinkedHashSet<String> all = new LinkedHashSet<>(bannedStrings);
        all.addAll(more);
        return new Backtracking(new ArrayList<>(all), backspaceToken);
    }

    /** @return these rules with the backspace token {@code id} (-1: none) */
    public Backtracking withBackspaceToken(int id) {
        return new Backtracking(bannedStrings, id);
    }

    /**
     * @param vocabSize the model's vocabulary size
     * @throws ArgonException if a banned string is empty or the backspace token is outside the vocabulary
     */
    public void validate(int vocabSize) {
        for (String b : bannedStrings) {
            if (b == null || b.isEmpty()) {
                throw new ArgonException("a banned string (--ban-string) is empty");
            }
        }
        if (backspaceToken < -1 || backspaceToken >= vocabSize) {
            throw new ArgonException("the backspace token (--backspace-token) is " + backspaceToken
                    + "; expected a token id 0.." + (vocabSize - 1) + " of this model's vocabulary");
        }
    }

    /** @return the length of the longest banned string in chars (0 when none) */
    int longest() {
        return bannedStrings.stream().mapToInt(String::length).max().orElse(0);
    }

    /** @return the first index where a banned string occurs in {@code text} at or after {@code from}, or -1 */
    int find(CharSequence text, int from) {
        String t = text.toString();
        int best = -1;
        for (String b : bannedStrings) {
            int i = t.indexOf(b, Math.max(0, from));
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }
}
