package dev.argon.sampling;

import java.util.Arrays;

/** Test helper: the live token ids of a candidate list, in position order or as a sorted set. */
final class Ids {
    private Ids() {}

    static int[] live(Candidates c) {
        return Arrays.copyOf(c.ids, c.size);
    }

    static int[] liveSorted(Candidates c) {
        int[] ids = live(c);
        Arrays.sort(ids);
        return ids;
    }

    /** Sorts the candidates in descending order, as top-k would. */
    static Candidates sort(Candidates c) {
        TopK.selectTop(c, c.size);
        c.sorted = true;
        return c;
    }

    /** Logits whose softmax is exactly proportional to {@code probs}. */
    static float[] logitsOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }
}
