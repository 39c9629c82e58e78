package dev.argon.sampling;

/**
 * The penalties on recently accepted tokens in one step, like llama.cpp's
 * {@code llama_sampler_penalties}: for each token j occurring {@code count[j] > 0} times among the
 * last {@code lastN} accepted tokens,
 * <ol>
 *   <li>the CTRL repetition penalty (Keskar et al. 2019) with llama.cpp's sign rule: the logit is
 *       divided by {@code repeat} when positive and multiplied by it otherwise;
 *   <li>then OpenAI's presence and frequency penalties (OpenAI API reference, "Parameter details"):
 *       {@code logit[j] -= frequency * count[j] + presence * (count[j] > 0 ? 1 : 0)}.
 * </ol>
 * {@code lastN == -1} looks back over every token accepted since the chain was created. Tokens
 * outside the window are untouched.
 */
final class Penalties implements SamplerStep {
    private final float repeat;
    private final float frequency;
    private final float presence;
    private final int lastN;
    /** Occurrences of each token id in the look-back window. */
    private final int[] counts;
    /** Ring buffer of the window (unused when lastN == -1: nothing is ever evicted). */
    private final int[] window;
    private int head;
    private int filled;

    /**
     * @param repeat repetition penalty ({@code 1} = none)
     * @param frequency OpenAI frequency penalty ({@code 0} = none)
     * @param presence OpenAI presence penalty ({@code 0} = none)
     * @param lastN look-back window, {@code > 0} or {@code -1} for all accepted tokens
     * @param vocabSize number of token ids (the size of the count table)
     */
    Penalties(float repeat, float frequency, float presence, int lastN, int vocabSize) {
        if (lastN < -1 || lastN == 0) {
            throw new IllegalArgumentException("lastN " + lastN);
        }
        this.repeat = repeat;
        this.frequency = frequency;
        this.presence = presence;
        this.lastN = lastN;
        this.counts = new int[vocabSize];
        this.window = new int[Math.max(lastN, 0)];
    }

    /** Repetition penalty only (the step of earlier versions). */
    static Penalties repetition(float repeat, int lastN, int vocabSize) {
        return new Penalties(repeat, 0f, 0f, lastN, vocabSize);
    }

    /** Whether penalties with these settings would change any logit. */
    static boolean active(float repeat, float frequency, float presence, int lastN) {
        return lastN != 0 && (repeat != 1f || frequency != 0f || presence != 0f);
    }

    /** Adds a token to the window, evicting the oldest one when the window is full. */
    @Override
    public void accept(int token) {
        if (lastN > 0) {
            if (filled == lastN) {
                counts[window[head]]--;
            } else {
                filled++;
            }
            window[head] = token;
            head = (head + 1) % lastN;
        }
        counts[token]++;
    }

    @Override
    public void reset() {
        java.util.Arrays.fill(counts, 0);
        head = 0;
        filled = 0;
    }

    @Override
    public SamplerStep copy() {
        Penalties p = new Penalties(repeat, frequency, presence, lastN, counts.length);
        System.arraycopy(counts, 0, p.counts, 0, counts.length);
        System.arraycopy(window, 0, p.window, 0, window.length);
        p.head = head;
        p.filled = filled;
        return p;
    }

    @Override
    public String name() {
        return "penalties";
    }

    /** Occurrences of {@code token} in the window (for tests). */
    int count(int token) {
        return counts[token];
    }

    @Override
    public void apply(Candidates c) {
        float[] logits = c.logits;
        int[] ids = c.ids;
        for (int i = 0; i < c.size; i++) {
            int count = counts[ids[i]];
            if (count > 0) {
                float l = logits[i];
                l = l > 0 ? l / repeat : l * repeat;
                logits[i] = l - (count * frequency + presence);
            }
        }
        // Penalties can reorder entries; a sorted list would no longer be sorted.
        c.sorted = false;
    }
}
