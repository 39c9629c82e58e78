package dev.argon.model;

import java.util.Arrays;

/**
 * The token rows of one batched forward pass ({@link LanguageModel#forward(Batch)}), possibly from
 * several sequences: continuous batching runs the prompt chunks of new sequences and one decode
 * token of every running sequence in the same pass, so each weight matrix is read once per step
 * for all of them.
 *
 * <p>Each row is a token of one sequence (its {@link InferenceState}, which holds the KV cache) at
 * a position. Rows of the same sequence must be added in increasing, consecutive positions; all
 * positions before a sequence's first row must already be in its cache. Prompt rows (the
 * batched "prefill" arithmetic) must be added before generated rows (the "decode" arithmetic); the
 * split keeps every row's result independent of the other rows in the batch (see
 * {@link dev.argon.tensor.Ops#matmul}).
 *
 * <p>A batch is reusable: {@link #clear()} it between steps. It owns the scratch buffers of the
 * forward pass, sized for {@link #capacity()} rows, so one batch per scheduler (or per sequence
 * for single-sequence use) avoids allocating per step. Not thread-safe.
 */
public final class Batch {
    private final int capacity;
    final InferenceState[] states;
    final int[] tokens;
    final int[] positions;
    /** Row index → index into {@link #logits}, or -1 when the row wants no logits. */
    final int[] logitIndex;
    private final float[][] logits;
    int size;
    int promptRows;
    int logitRows;
    /** Scratch buffers of the model that last ran this batch (owned by that model). */
    Object scratch;

    /** @param capacity the most rows (tokens) one pass will hold, >= 1 */
    public Batch(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("batch capacity " + capacity);
        }
        this.capacity = capacity;
        this.states = new InferenceState[capacity];
        this.tokens = new int[capacity];
        this.positions = new int[capacity];
        this.logitIndex = new int[capacity];
        this.logits = new float[capacity][];
    }

    /** Removes every row (keeps the buffers). */
    public void clear() {
        Arrays.fill(states, 0, size, null);
        size = 0;
        promptRows = 0;
        logitRows = 0;
    }

    /**
     * Adds a row.
     *
     * @param state the sequence the token belongs to
     * @param token token id
     * @param pos its position in the sequence (0-based)
     * @param prompt whether it is a prompt token (prefill arithmetic) rather than a generated one
     * @param wantLogits whether to compute next-token logits after this row
     * @return the row index
     * @throws IllegalStateException if the batch is full, or a prompt row follows a generated row
     */
    public int add(InferenceState state, int token, int pos, boolean prompt, boolean wantLogits) {
        if (size == capacity) {
            throw new IllegalStateException("batch is full (" + capacity + " rows)");
        }
        if (prompt && promptRows != size) {
            throw new IllegalStateException("prompt rows must be added before generated rows");
        }
        int row = size++;
        states[row] = state;
        tokens[row] = token;
        positions[row] = pos;
        logitIndex[row] = wantLogits ? logitRows++ : -1;
        if (prompt) {
            promptRows++;
        }
        return row;
    }

    /** @return the number of rows */
    public int size() {
        return size;
    }

    /** @return the most rows this batch holds */
    public int capacity() {
        return capacity;
    }

    /** @return free rows */
    public int remaining() {
        return capacity - size;
    }

    /**
     * @return the next-token logits {@code [vocabSize]} computed after row {@code row} by the last
     *     forward pass (a buffer owned by the batch, overwritten by the next pass)
     * @throws IllegalArgumentException if the row did not ask for logits
     * @throws IllegalStateException if no forward pass has run yet
     */
    public float[] logits(int row) {
        if (row < 0 || row >= size || logitIndex[row] < 0) {
            throw new IllegalArgumentException("row " + row + " has no logits");
        }
        float[] l = logits[logitIndex[row]];
        if (l == null) {
            throw new IllegalStateException("no forward pass has run on this batch yet");
        }
        return l;
    }

    /** The buffer for logit row {@code i}, allocated on first use. */
    float[] logitBuffer(int i, int vocab) {
        float[] l = logits[i];
        if (l == null || l.length != vocab) {
            l = new float[vocab];
            logits[i] = l;
        }
        return l;
    }
}
