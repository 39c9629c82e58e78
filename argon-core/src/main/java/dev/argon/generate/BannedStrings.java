package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.tokenizer.Tokenizer;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Strings that are never emitted ({@code --ban-string}), by backtracking: when the text comes to
 * contain a banned string, the sequence is {@link Sequence#rollback rolled back} to just before the
 * token where the string started, that token is banned at that position (its logit set to
 * {@code -inf}), and generation goes on. Bans at a position are forgotten once the sequence
 * backs up past it (the context before it changed). Text is streamed with a hold-back of the
 * longest banned string plus the longest token text, which covers everything a rollback can
 * retract; the rest follows when the sequence ends.
 */
final class BannedStrings {
    /** Most tokens banned at one position before giving up (the model keeps heading into the string). */
    static final int MAX_BANS_PER_POSITION = 256;

    private final List<String> banned;
    private final int longest;

    /** @throws ArgonException if a string is empty */
    BannedStrings(List<String> banned) {
        for (String b : banned) {
            if (b == null || b.isEmpty()) {
                throw new ArgonException("a banned string (--ban-string) is empty");
            }
        }
        this.banned = List.copyOf(banned);
        this.longest = banned.stream().mapToInt(String::length).max().orElse(0);
    }

    /** @return the first index where a banned string occurs in {@code text} at or after {@code from}, or -1 */
    int find(CharSequence text, int from) {
        String t = text.toString();
        int best = -1;
        for (String b : banned) {
            int i = t.indexOf(b, Math.max(0, from));
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }

    /** The generation loop of {@link Generator} with backtracking (one sequence, unguided). */
    GenerationResult run(LanguageModel model, InferenceState state, GenerationRequest req, int[] prompt, int contextLength,
                         GenerationListener listener, BooleanSupplier cancelled) {
        Tokenizer tok = model.tokenizer();
        int longestToken = 1;
        for (int i = 0; i < tok.vocabSize(); i++) {
            longestToken = Math.max(longestToken, tok.piece(i).length());
        }
        int hold = longest + longestToken;
        StringBuilder pending = new StringBuilder(); // text not yet given to the listener
        int[] released = {0};
        GenerationListener holding = new GenerationListener() {
            @Override
            public void onText(String text) {
                pending.append(text);
            }

            @Override
            public void onToken(int token, dev.argon.sampling.TokenLogprobs logprobs) {
                listener.onToken(token, logprobs);
            }
        };
        Sequence seq = new Sequence(model, req, prompt, contextLength, holding);
        // a banned string of L characters spans at most 4 L tokens (one byte each) plus one
        seq.keepCheckpoints(4 * longest + 4);
        int[] textEnd = new int[contextLength]; // text length after generated token i
        Map<Integer, Set<Integer>> bans = new HashMap<>();
        float[] masked = new float[model.config().vocabSize()];
        long t0 = System.nanoTime();
        float[] logits = model.prefill(state, prompt, 0);
        long t1 = System.nanoTime();
        int checkedUpTo = 0;
        while (true) {
            if (cancelled.getAsBoolean()) {
                seq.cancel();
                break;
            }
            int at = seq.generatedCount();
            Set<Integer> b = bans.get(at);
            float[] in = logits;
            if (b != null) {
                System.arraycopy(logits, 0, masked, 0, masked.length);
                for (int t : b) {
                    masked[t] = Float.NEGATIVE_INFINITY;
                }
                in = masked;
            }
            int token = seq.next(in);
            if (seq.generatedCount() > at) {
                textEnd[at] = seq.text().length();
            }
            int match = find(seq.text(), checkedUpTo);
            if (match >= 0) {
                // back up to the token whose text the match starts in, and ban it there
                int start = 0;
                while (textEnd[start] <= match) {
                    start++;
                }
                final int first = start;
                int k = seq.generatedCount() - first;
                int bannedToken = seq.generated(first);
                if (k > seq.checkpointsKept()) {
                    throw new IllegalStateException("banned string spans more tokens than the rollback depth");
                }
                int feed = seq.rollback(k);
                bans.keySet().removeIf(pos -> pos > first);
                Set<Integer> here = bans.computeIfAbsent(first, x -> new HashSet<>());
                here.add(bannedToken);
                if (here.size() > MAX_BANS_PER_POSITION) {
                    throw new ArgonException("the model keeps producing a banned string: " + MAX_BANS_PER_POSITION
                            + " tokens banned at output token " + first + "; remove the --ban-string or change the prompt");
                }
                int keep = seq.text().length() - released[0];
                if (keep < 0) {
                    throw new IllegalStateException("retracted text that was already streamed");
                }
                pending.setLength(keep);
                checkedUpTo = Math.max(0, seq.text().length() - longest);
                logits = model.forward(state, feed, seq.position(), true);
                continue;
            }
            checkedUpTo = Math.max(0, seq.text().length() - longest + 1);
            // stream what no rollback can retract
            int safe = seq.finished() ? seq.text().length() : seq.text().length() - hold;
            if (safe > released[0] && safe - released[0] <= pending.length()) {
                int count = safe - released[0];
                listener.onText(pending.substring(0, count));
                pending.delete(0, count);
                released[0] = safe;
            }
            if (token < 0) {
                break;
            }
            logits = model.forward(state, token, seq.position(), true);
        }
        if (pending.length() > 0) {
            listener.onText(pending.toString());
        }
        long t2 = System.nanoTime();
        return seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** @return the banned strings */
    List<String> strings() {
        return banned;
    }
}
