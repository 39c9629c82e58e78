package dev.argon.watermark;

import java.util.ArrayList;
import java.util.List;

/**
 * The sliding windows both detectors score for texts that mix watermarked and plain parts:
 * {@code window} tokens every {@code window / 2} tokens, the last one ending at the text's end
 * (one window over the whole text when it is not longer than {@code window}).
 */
final class Windows {
    /** A detector's test over {@code tokens[from, to)}. */
    @FunctionalInterface
    interface Scorer<S> {
        S score(int from, int to);
    }

    private Windows() {
    }

    /**
     * @param length       tokens in the text
     * @param window       tokens per window, {@code > contextWidth}
     * @param contextWidth the scheme's hashing context width
     * @throws IllegalArgumentException when {@code window <= contextWidth}
     */
    static <S> List<S> score(int length, int window, int contextWidth, Scorer<S> scorer) {
        if (window <= contextWidth) {
            throw new IllegalArgumentException("window " + window + " <= context width " + contextWidth);
        }
        List<S> out = new ArrayList<>();
        if (length <= window) {
            out.add(scorer.score(0, length));
            return out;
        }
        int stride = Math.max(1, window / 2);
        int start = 0;
        for (; start + window <= length; start += stride) {
            out.add(scorer.score(start, start + window));
        }
        if (start - stride + window < length) {
            out.add(scorer.score(length - window, length));
        }
        return out;
    }
}
