package dev.argon.generate;

import java.util.List;

/**
 * Finds stop strings in streamed text, also when a stop string is split across tokens: text that
 * could still be the beginning of a stop string is held back until the next piece decides it.
 * The stop string itself is never emitted.
 */
public final class StopStringMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    /** @param stops stop strings; empty strings are ignored */
    public StopStringMatcher(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    /**
     * Adds decoded text.
     *
     * @return the text that is now safe to emit (possibly empty)
     */
    public String append(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        int keep = 0;
        String tail = pending.toString();
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, tail.length()); len > keep; len--) {
                if (tail.regionMatches(tail.length() - len, s, 0, len)) {
                    keep = len;
                    break;
                }
            }
        }
        String out = pending.substring(0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return out;
    }

    /** @return whether a stop string was found */
    public boolean stopped() {
        return stopped;
    }

    /** @return text held back at the end of generation (it did not turn into a stop string) */
    public String flush() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }
}
