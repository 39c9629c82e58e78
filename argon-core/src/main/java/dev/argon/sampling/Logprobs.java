package dev.argon.sampling;

import dev.argon.ArgonException;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-probabilities for the OpenAI API's {@code logprobs} and {@code top_logprobs} (OpenAI API
 * reference, "Create chat completion").
 *
 * <p>They are computed from the raw model logits, {@code log softmax(logits)}: the model's own
 * distribution before any sampling transform (logit bias, penalties, temperature, top-k/top-p/
 * min-p), which is what vLLM reports by default. The chosen token may therefore have been sampled
 * from a different distribution than the one reported.
 */
public final class Logprobs {
    /** Largest {@code top_logprobs} the OpenAI API accepts. */
    public static final int MAX_TOP = 20;

    private Logprobs() {}

    /**
     * The natural-log probability of {@code chosen} under {@code softmax(logits)} and the
     * {@code topN} most likely tokens (fewer if the vocabulary is smaller) with their
     * log-probabilities, most likely first, ties to the lower id. The log-sum-exp is computed in
     * double; the top tokens are found with a heap of size {@code topN}, without sorting the
     * vocabulary. {@code logits} is not modified.
     *
     * @param logits the model's raw logits, one per token of the vocabulary
     * @param chosen the sampled token id, in {@code [0, logits.length)}
     * @param topN how many top tokens to report, {@code 0 <= topN <= 20}
     * @throws IllegalArgumentException if {@code logits} is empty, {@code chosen} lies outside it,
     *     or {@code topN} is outside {@code [0, 20]}
     * @throws ArgonException if a logit is NaN or the logits have no finite maximum
     */
    public static TokenLogprobs of(float[] logits, int chosen, int topN) {
        int n = logits.length;
        if (n == 0) {
            throw new IllegalArgumentException("empty logits");
        }
        if (chosen < 0 || chosen >= n) {
            throw new IllegalArgumentException("token " + chosen + " outside vocabulary of " + n);
        }
        if (topN < 0 || topN > MAX_TOP) {
            throw new IllegalArgumentException("topN " + topN + " outside [0, " + MAX_TOP + "]");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            if (Float.isNaN(l)) {
                throw new ArgonException("Cannot compute log-probabilities: the logits contain NaN values");
            }
            if (l > max) {
                max = l;
            }
        }
        if (Double.isInfinite(max)) {
            throw new ArgonException("Cannot compute log-probabilities: the logits have no finite maximum");
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double logSum = Math.log(sum); // sum >= 1: the maximum contributes exp(0)
        int[] top = topTokens(logits, Math.min(topN, n));
        List<TopLogprob> list = new ArrayList<>(top.length);
        for (int t : top) {
            list.add(new TopLogprob(t, (logits[t] - max) - logSum));
        }
        return new TokenLogprobs(chosen, (logits[chosen] - max) - logSum, list);
    }

    /** Whether token a ranks before token b: higher logit, ties to the lower id. */
    private static boolean better(float[] logits, int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    }

    /** The k best token ids, best first: a heap with the worst of the k at the root, then sorted. */
    private static int[] topTokens(float[] logits, int k) {
        int[] heap = new int[k];
        if (k == 0) {
            return heap;
        }
        for (int i = 0; i < k; i++) {
            heap[i] = i;
        }
        for (int i = k / 2 - 1; i >= 0; i--) {
            siftDown(logits, heap, i, k);
        }
        for (int t = k; t < logits.length; t++) {
            if (better(logits, t, heap[0])) {
                heap[0] = t;
                siftDown(logits, heap, 0, k);
            }
        }
        for (int end = k - 1; end > 0; end--) { // moving the worst to the end leaves the best first
            int t = heap[0];
            heap[0] = heap[end];
            heap[end] = t;
            siftDown(logits, heap, 0, end);
        }
        return heap;
    }

    /** Restores the worst-at-root order below position i of {@code heap[0, n)}. */
    private static void siftDown(float[] logits, int[] heap, int i, int n) {
        while (true) {
            int worse = 2 * i + 1;
            if (worse >= n) {
                return;
            }
            if (worse + 1 < n && better(logits, heap[worse], heap[worse + 1])) {
                worse++;
            }
            if (!better(logits, heap[i], heap[worse])) {
                return;
            }
            int t = heap[i];
            heap[i] = heap[worse];
            heap[worse] = t;
            i = worse;
        }
    }
}
