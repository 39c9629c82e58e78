package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.model.LanguageModel;
import dev.argon.sampling.TokenLogprobs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs one {@link Sequence} under {@link Backtracking} rules, in place of its {@link Sequence#next}:
 * after each token it checks the rules, and when one fires it {@link Sequence#rollback rolls the
 * sequence back} (sampler, text, UTF-8 and stop-string state), bans the token that started the
 * trouble at its position, and answers the token to feed again at {@link Sequence#position()}. The
 * caller (Generator's loop, a {@link BatchScheduler} slot) feeds it as any other token: the KV rows
 * from that position on are rewritten before they are read, so nothing else is undone.
 *
 * <p>Streaming: the Sequence reports to this backtracker, which holds back the text and token
 * events of the tokens a rollback could still remove (the last {@link #depth()} tokens: the
 * rollback window) and passes the rest on; when the sequence ends, everything left follows. So a
 * listener receives exactly the final text, never text that is later retracted, at the price of a
 * delay of {@link #depth()} tokens. Token events of removed tokens are dropped as well.
 *
 * <p>Exactness: a rollback restores the sampler's state (random draws included) to before the
 * first removed token, and the re-fed token is computed with the same (decode) arithmetic as the
 * first time, so after a rollback the sequence is exactly a fresh run from the same prefix with
 * the ban in place. Rolling back every generated token re-samples from the prompt's logits (kept),
 * not from a recomputed row.
 *
 * <p>Termination: at most {@link #MAX_BANS_PER_POSITION} tokens are banned at one position; beyond
 * that the sequence ends before the banned string ({@link FinishReason#STOP_STRING}). At most
 * {@link #MAX_BACKSPACES} backspaces act per sequence; after that the backspace token is masked.
 * Not thread-safe (one per sequence).
 */
final class Backtracker implements GenerationListener {
    /** Most tokens banned at one position before the sequence ends there (the model keeps heading into the string). */
    static final int MAX_BANS_PER_POSITION = 256;
    /** Most backspaces that act in one sequence; after that the backspace token is masked out. */
    static final int MAX_BACKSPACES = 256;
    /** Tokens a run of backspaces can delete (the rollback window, and so the stream's hold-back). */
    static final int BACKSPACE_DEPTH = 32;

    /** A retraction: {@code removed} tokens taken back, {@code banned} banned at output index {@code at}. */
    record Retraction(int at, int removed, int banned) {
    }

    private record HeldToken(int token, TokenLogprobs logprobs) {
    }

    private final Backtracking rules;
    private final GenerationListener out;
    private final int vocab;
    private final int depth;
    private final int longest;
    private Sequence seq;
    private final Map<Integer, Set<Integer>> bans = new HashMap<>();
    private final float[] masked;
    /** The prompt's logits: rolling back to no output samples from them again. */
    private float[] firstLogits;
    /** Text length after generated token i. */
    private int[] textEnd = new int[64];
    /** Token events not passed on yet (generated indices {@code releasedTokens ..}). */
    private final List<HeldToken> held = new ArrayList<>();
    private int releasedTokens;
    private int releasedText;
    private int checkedUpTo;
    private int backspaces;
    private final List<Retraction> log = new ArrayList<>();

    /**
     * @param out receives the text and token events that can no longer be retracted
     * @throws ArgonException if the rules are invalid for this model
     */
    Backtracker(LanguageModel model, Backtracking rules, GenerationListener out) {
        this.vocab = model.config().vocabSize();
        rules.validate(vocab);
        this.rules = rules;
        this.out = out;
        this.longest = rules.longest();
        // a banned string of L chars spans at most 4 L tokens of one byte each, plus tokens without text
        int forStrings = rules.bannedStrings().isEmpty() ? 0 : 8 * longest + 8;
        int forBackspace = rules.backspaceToken() >= 0 ? BACKSPACE_DEPTH + 1 : 0;
        this.depth = Math.max(forStrings, forBackspace);
        this.masked = new float[vocab];
    }

    /** Connects the sequence this backtracker runs; it must have been created with this backtracker as its listener. */
    void attach(Sequence s) {
        this.seq = s;
        s.keepCheckpoints(depth);
    }

    /** @return the rollback window in tokens (also how far the stream lags behind) */
    int depth() {
        return depth;
    }

    /** @return the retractions so far, oldest first */
    List<Retraction> retractions() {
        return log;
    }

    /** @return the tokens banned at each output index now (what a fresh run would mask to give the same output) */
    Map<Integer, Set<Integer>> bans() {
        Map<Integer, Set<Integer>> copy = new HashMap<>();
        bans.forEach((k, v) -> copy.put(k, Set.copyOf(v)));
        return copy;
    }

    @Override
    public void onText(String text) {
        // the text is taken from Sequence.text(), which a rollback rebuilds
    }

    @Override
    public void onToken(int token, TokenLogprobs logprobs) {
        held.add(new HeldToken(token, logprobs));
    }

    /**
     * {@link Sequence#next} with the rules applied.
     *
     * @param logits the logits after the last fed token (not modified)
     * @return the token to feed at {@link Sequence#position()} (after a rollback: the last kept
     *     token, fed again), or -1 when the sequence has finished
     */
    int next(float[] logits) {
        while (true) {
            int at = seq.generatedCount();
            if (at == 0) {
                if (firstLogits == null) {
                    firstLogits = logits.clone();
                } else {
                    logits = firstLogits;
                }
            }
            int token = seq.next(mask(logits, at));
            if (seq.generatedCount() > at) {
                if (at == textEnd.length) {
                    textEnd = Arrays.copyOf(textEnd, 2 * at);
                }
                textEnd[at] = seq.text().length();
            }
            int from = -1; // the first token to remove
            int removeTo = seq.generatedCount();
            int ban = -1;
            int b = rules.backspaceToken();
            if (b >= 0 && seq.generatedCount() > at && seq.generated(at) == b) {
                backspaces++;
                if (at >= 1 && seq.checkpointsKept() >= 2) {
                    from = at - 1; // the backspace and the token it deletes
                    ban = seq.generated(at - 1);
                } else {
                    from = at; // nothing left to delete: the backspace alone goes, banned here
                    ban = b;
                }
            } else if (longest > 0) {
                int match = rules.find(seq.text(), checkedUpTo);
                if (match >= 0) {
                    int start = 0;
                    while (textEnd[start] <= match) {
                        start++;
                    }
                    from = start;
                    ban = seq.generated(start);
                    if (removeTo - from > seq.checkpointsKept()) {
                        // cannot happen with the window of 8 L + 8 tokens; never fail the caller's loop over it
                        seq.rollback(seq.checkpointsKept());
                        seq.end(FinishReason.STOP_STRING);
                        held.subList(seq.generatedCount() - releasedTokens, held.size()).clear();
                        release(true);
                        return -1;
                    }
                }
            }
            if (from < 0) {
                checkedUpTo = Math.max(0, seq.text().length() - longest + 1);
                release(token < 0);
                return token;
            }
            int k = removeTo - from;
            int feed = seq.rollback(k);
            held.subList(held.size() - k, held.size()).clear();
            log.add(new Retraction(from, k, ban));
            final int first = from;
            bans.keySet().removeIf(pos -> pos > first);
            Set<Integer> here = bans.computeIfAbsent(first, x -> new HashSet<>());
            here.add(ban);
            checkedUpTo = Math.max(0, seq.text().length() - longest);
            if (here.size() > MAX_BANS_PER_POSITION) {
                // the model keeps heading into the string: end just before it
                seq.end(FinishReason.STOP_STRING);
                release(true);
                return -1;
            }
            if (seq.generatedCount() == 0) {
                continue; // sample again from the prompt's logits
            }
            return feed;
        }
    }

    /** The logits with this position's bans (and a spent backspace token) at {@code -inf}. */
    private float[] mask(float[] logits, int at) {
        Set<Integer> b = bans.get(at);
        boolean noBackspace = rules.backspaceToken() >= 0 && backspaces >= MAX_BACKSPACES;
        if (b == null && !noBackspace) {
            return logits;
        }
        System.arraycopy(logits, 0, masked, 0, vocab);
        if (b != null) {
            for (int t : b) {
                masked[t] = Float.NEGATIVE_INFINITY;
            }
        }
        if (noBackspace) {
            masked[rules.backspaceToken()] = Float.NEGATIVE_INFINITY;
        }
        return masked;
    }

    /**
     * Passes on what no rollback can retract any more: the tokens before the rollback window and
     * their text ({@code all}: everything, the sequence ended).
     */
    private void release(boolean all) {
        int n = seq.generatedCount();
        int safe = all ? n : n - seq.checkpointsKept();
        for (int i = releasedTokens; i < safe; i++) {
            HeldToken h = held.get(i - releasedTokens);
            out.onToken(h.token(), h.logprobs());
        }
        if (safe > releasedTokens) {
            held.subList(0, safe - releasedTokens).clear();
            releasedTokens = safe;
        }
        int textSafe = all ? seq.text().length() : safe > 0 ? textEnd[safe - 1] : 0;
        if (textSafe > releasedText) {
            out.onText(seq.text().subSequence(releasedText, textSafe).toString());
            releasedText = textSafe;
        }
    }

    /** Passes on everything held back (the sequence ended, e.g. cancelled); idempotent. */
    void releaseAll() {
        release(true);
    }
}
