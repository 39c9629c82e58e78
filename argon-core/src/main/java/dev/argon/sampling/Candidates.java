package dev.argon.sampling;

import dev.argon.ArgonException;

/**
 * Reusable candidate list, the counterpart of llama.cpp's {@code llama_token_data_array}: entries
 * {@code [0, size)} of {@link #ids} and {@link #logits} are the live candidates; {@link #sorted}
 * says whether they are in descending logit order. Ties are always broken towards the lower token
 * id, so every step is deterministic.
 *
 * <p>What a {@link SamplerStep} sees: positions {@code [0, size())}, each holding a token id and
 * its logit. Right after the logits are copied in, position i holds token i ({@link #fresh()}).
 */
public final class Candidates {
    final int[] ids;
    final float[] logits;
    int size;
    boolean sorted;
    /** Position (not token id) chosen by the final step, or -1. */
    int selected = -1;

    Candidates(int capacity) {
        ids = new int[capacity];
        logits = new float[capacity];
    }

    /** @return the number of live candidates */
    public int size() {
        return size;
    }

    /** @return the token id at position {@code i} in {@code [0, size())} */
    public int id(int i) {
        return ids[i];
    }

    /** @return the logit at position {@code i} in {@code [0, size())} */
    public float logit(int i) {
        return logits[i];
    }

    /** Sets the logit at position {@code i}; the candidates then count as unsorted. */
    public void setLogit(int i, float logit) {
        logits[i] = logit;
        sorted = false;
    }

    /** Keeps only positions {@code [0, n)}, {@code 0 <= n <= size()}. */
    public void truncate(int n) {
        if (n < 0 || n > size) {
            throw new IllegalArgumentException("truncate to " + n + " of " + size);
        }
        size = n;
    }

    /** @return whether the live candidates are in descending logit order (ties: lower id first) */
    public boolean sorted() {
        return sorted;
    }

    /** Chooses the candidate at position {@code i} (what a chain's last step does). */
    public void select(int i) {
        if (i < 0 || i >= size) {
            throw new IllegalArgumentException("select " + i + " of " + size);
        }
        selected = i;
    }

    /** @return the vocabulary size (the capacity) */
    public int vocabSize() {
        return ids.length;
    }

    /** @return whether position i still holds token i for every i (nothing was reordered or dropped) */
    public boolean fresh() {
        if (size != ids.length) {
            return false;
        }
        for (int i = 0; i < size; i++) {
            if (ids[i] != i) {
                return false;
            }
        }
        return true;
    }

    /** Candidates for a test: token i has logit {@code logits[i]}. */
    static Candidates of(float... logits) {
        Candidates c = new Candidates(logits.length);
        c.reset(logits);
        return c;
    }

    /** Copies the caller's logits in (the caller's array is never written). */
    void reset(float[] src) {
        int n = ids.length;
        if (src.length != n) {
            throw new IllegalArgumentException("logits length " + src.length + " != vocabulary size " + n);
        }
        System.arraycopy(src, 0, logits, 0, n);
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        size = n;
        sorted = false;
        selected = -1;
    }

    /**
     * Whether the entry at position a ranks before the one at position b: the higher logit, on a
     * tie the lower id; a NaN logit ranks after every number (among NaNs, the lower id first).
     */
    boolean better(int a, int b) {
        float la = logits[a];
        float lb = logits[b];
        if (la > lb) {
            return true;
        }
        if (la == lb) {
            return ids[a] < ids[b];
        }
        return Float.isNaN(lb) && (!Float.isNaN(la) || ids[a] < ids[b]);
    }

    /** Position of the best live candidate (NaN logits are skipped), or -1 if all are NaN. */
    int argmax() {
        if (sorted && size > 0 && !Float.isNaN(logits[0])) {
            return 0;
        }
        int best = -1;
        for (int i = 0; i < size; i++) {
            if (!Float.isNaN(logits[i]) && (best < 0 || better(i, best))) {
                best = i;
            }
        }
        return best;
    }

    /** Position of the best candidate; throws if its logit is not finite (or all are NaN). */
    int argmaxFinite() {
        int best = argmax();
        if (best < 0 || !Float.isFinite(logits[best])) {
            throw new ArgonException(
                    "Cannot sample: the logits have no finite maximum (the model produced NaN or infinite values)");
        }
        return best;
    }

    /** Logit of the best candidate; throws if it is not finite. */
    float maxLogit() {
        return logits[argmaxFinite()];
    }

    void swap(int a, int b) {
        int id = ids[a];
        ids[a] = ids[b];
        ids[b] = id;
        float l = logits[a];
        logits[a] = logits[b];
        logits[b] = l;
    }

    /** Moves position {@code from} to position {@code to} (to <= from), overwriting it. */
    void move(int from, int to) {
        ids[to] = ids[from];
        logits[to] = logits[from];
    }

    /** Reverses positions {@code [0, n)}. */
    void reverse(int n) {
        for (int i = 0, j = n - 1; i < j; i++, j--) {
            swap(i, j);
        }
    }
}
