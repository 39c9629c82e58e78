package dev.argon.model;

/**
 * Looks at a sequence's forward pass from outside, without changing it: the attention weights of
 * its rows (for attention-based re-ranking, Chen et al. 2024, "Attention in Large Language Models
 * Yields Efficient Zero-Shot Re-Rankers") and its final hidden states (for embeddings). Set one
 * with {@link InferenceState#observe(ForwardObserver)}; a state without one costs nothing extra.
 *
 * <p>Calls come from the model's worker threads: {@link #attention} concurrently for different
 * heads of a layer (each head from one thread, rows in batch order, layers in order), so an
 * implementation that keeps separate accumulators per head needs no locking.
 */
public interface ForwardObserver {
    /**
     * The softmax attention weights of one query row in one head, before any rounding for the
     * value product.
     *
     * @param layer 0-based layer
     * @param head query head
     * @param position the query row's position
     * @param weights holds the weights of key positions {@code first .. first + count - 1} at
     *     {@code weights[offset .. offset + count)} (a scratch buffer: read, don't keep)
     */
    default void attention(int layer, int head, int position, float[] weights, int offset, int first, int count) {
    }

    /** @return whether {@link #hidden} should be called (it costs one extra norm per row) */
    default boolean wantsHidden() {
        return false;
    }

    /**
     * The final hidden state of a row: the output norm's result, the vector the output
     * projection turns into logits ({@code [dim]} at {@code x[offset..]}, a scratch buffer).
     * Called from the caller's thread after the last layer.
     */
    default void hidden(int position, float[] x, int offset, int dim) {
    }
}
