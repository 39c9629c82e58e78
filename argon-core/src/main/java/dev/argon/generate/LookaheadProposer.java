package dev.argon.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Lookahead decoding (Fu, Bailis, Stoica and Zhang 2024, "Break the Sequential Dependency of LLM
 * Inference Using Lookahead Decoding"), laid out in the one causal chain of rows that
 * {@link Speculator} verifies.
 *
 * <p>The paper runs, in every pass, a lookahead branch (a window of W Jacobi-iteration guesses for
 * the next positions, kept over N − 1 iterations, whose trajectories give n-grams for a pool) and a
 * verification branch (up to G n-grams from the pool that start with the last token), with a
 * custom attention mask so the branches do not see each other. Argon's attention is causal within
 * a sequence (no tree masks), so here one pass feeds a single chain after the last sampled token:
 * the continuation prompt lookup ({@link NgramProposer}) finds in the text, when it finds one
 * (its match has several tokens of context), else first the best pool candidate (N − 1 tokens; chosen among the up to G n-grams kept for that
 * token as the one agreeing longest with the Jacobi guesses, then the most recent), then the Jacobi
 * guesses of the positions after it (W of them; where none is known yet, the pool's continuation
 * of the previous guess or a token of the text). Every row of the chain is a draft token:
 * verification keeps the longest accepted prefix (so Jacobi guesses that converged are accepted
 * too), and its rules make the output exactly that of plain decoding. From the rows after the
 * first rejection the proposer reads the model's greedy prediction (argmax, the logits are not
 * changed): each becomes the Jacobi guess of its position for the next pass (one Jacobi iteration),
 * and with the N − 1 chain tokens before it forms an n-gram for the pool. The n-grams of the text
 * so far (prompt and accepted output) enter the pool too, so repeated text is drafted as with
 * prompt lookup.
 *
 * <p>Cost per pass: {@code W + N − 1} extra rows, every pass (the length does not adapt: the
 * window must run to find n-grams). One instance per sequence; not thread-safe.
 */
public final class LookaheadProposer implements DraftProposer {
    private final int window;
    private final int n;
    private final int guess;
    private final NgramProposer textLookup;
    /** First token → continuations of N − 1 tokens, most recently seen first, at most G. */
    private final HashMap<Integer, List<int[]>> pool = new HashMap<>();
    /** jacobi[i] guesses the token at index {@code jacobiAt + i} of the sequence. */
    private final int[] jacobi;
    private int jacobiLength;
    private int jacobiAt = -1;
    /** Start positions of the text whose n-grams are in the pool. */
    private int indexed;
    /** Sequence length and last token at the last {@link #propose}. */
    private int proposedAt = -1;
    private int lastToken;
    private long fillState = 0x9E3779B97F4A7C15L;

    /**
     * @param settings window W, n-gram size N and guess set G (validated by {@link SpeculationParams#validate()})
     * @param textLookup prompt lookup tried first (its match has more context than the pool's one
     *     token), or null for the pool alone as in the paper
     */
    public LookaheadProposer(SpeculationParams.Lookahead settings, NgramProposer textLookup) {
        this.textLookup = textLookup;
        if (settings.window() < 1 || settings.ngram() < 2 || settings.guess() < 1) {
            throw new IllegalArgumentException("lookahead " + settings);
        }
        this.window = settings.window();
        this.n = settings.ngram();
        this.guess = settings.guess();
        this.jacobi = new int[settings.rows()];
    }

    @Override
    public int propose(int[] tokens, int length, int max, int[] out) {
        indexText(tokens, length);
        int m = Math.min(max, window + n - 1);
        int d = length - jacobiAt; // jacobi[i + d] guesses draft token i (at index length + i)
        if (jacobiAt < 0 || d < 0) {
            jacobiLength = 0;
            d = 0;
        }
        lastToken = tokens[length - 1];
        proposedAt = length;
        if (textLookup != null) { // a continuation of the text with a longer context than the pool's one token
            int t = textLookup.propose(tokens, length, m, out);
            if (t > 0) {
                for (int j = t; j < m; j++) {
                    out[j] = j + d < jacobiLength ? jacobi[j + d] : out[j - 1];
                }
                return m;
            }
        }
        int c = 0;
        int[] candidate = bestCandidate(lastToken, d);
        if (candidate != null) {
            c = Math.min(n - 1, m);
            System.arraycopy(candidate, 0, out, 0, c);
        }
        for (int j = c; j < m; j++) {
            out[j] = j + d < jacobiLength ? jacobi[j + d] : fill(tokens, length, j == 0 ? lastToken : out[j - 1]);
        }
        return m;
    }

    @Override
    public void verified(int[] draft, int k, int accepted, IntFunction<float[]> rowLogits) {
        if (proposedAt < 0) {
            return;
        }
        int count = 0;
        for (int r = accepted + 1; r <= k; r++) { // row r predicts the token at index proposedAt + r
            int predicted = argmax(rowLogits.apply(r));
            jacobi[count++] = predicted;
            int first = r - n + 2; // the n-gram: chain rows first..r, then the prediction
            if (first >= 0) {
                int key = first == 0 ? lastToken : draft[first - 1];
                int[] rest = new int[n - 1];
                for (int i = 0; i < n - 2; i++) {
                    rest[i] = draft[first + i];
                }
                rest[n - 2] = predicted;
                remember(key, rest);
            }
        }
        jacobiLength = count;
        jacobiAt = proposedAt + accepted + 1;
        proposedAt = -1;
    }

    /** @return n-grams kept for {@code first} (tests) */
    int poolSize(int first) {
        List<int[]> l = pool.get(first);
        return l == null ? 0 : l.size();
    }

    /** Adds the n-grams of the text not yet indexed. */
    private void indexText(int[] tokens, int length) {
        if (indexed > Math.max(0, length - n + 1)) { // the sequence rolled back: index again from there (old n-grams stay)
            indexed = Math.max(0, length - n + 1);
        }
        for (int s = indexed; s + n <= length; s++) {
            remember(tokens[s], Arrays.copyOfRange(tokens, s + 1, s + n));
            indexed = s + 1;
        }
    }

    /** Puts {@code rest} first among the continuations of {@code key}, keeping at most G. */
    private void remember(int key, int[] rest) {
        List<int[]> l = pool.computeIfAbsent(key, x -> new ArrayList<>());
        for (int i = 0; i < l.size(); i++) {
            if (Arrays.equals(l.get(i), rest)) {
                l.remove(i);
                break;
            }
        }
        l.addFirst(rest);
        if (l.size() > guess) {
            l.removeLast();
        }
    }

    /** The continuation of {@code key} agreeing longest with the Jacobi guesses from offset {@code d}; ties: the most recent. */
    private int[] bestCandidate(int key, int d) {
        List<int[]> l = pool.get(key);
        if (l == null) {
            return null;
        }
        int[] best = null;
        int bestScore = -1;
        for (int[] c : l) {
            int score = 0;
            while (score < c.length && score + d < jacobiLength && jacobi[score + d] == c[score]) {
                score++;
            }
            if (score > bestScore) {
                best = c;
                bestScore = score;
            }
        }
        return best;
    }

    /** A guess where no Jacobi guess is known: the pool's newest continuation of {@code previous}, else a token of the text. */
    private int fill(int[] tokens, int length, int previous) {
        List<int[]> l = pool.get(previous);
        if (l != null) {
            return l.getFirst()[0];
        }
        fillState = fillState * 6364136223846793005L + 1442695040888963407L; // LCG: deterministic, no shared random state
        return tokens[(int) Long.remainderUnsigned(fillState >>> 17, length)];
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
