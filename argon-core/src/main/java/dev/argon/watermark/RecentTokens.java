package dev.argon.watermark;

/**
 * The last {@code width} accepted tokens, oldest first, that seed a watermark step's keyed hash
 * (Kirchenbauer et al.'s context window; SynthID's H previous tokens), and how many were accepted.
 * Shared by {@link Watermark} and {@link TournamentWatermark}.
 */
final class RecentTokens {
    private final int[] tokens;
    private int accepted;

    /** @param width tokens kept (the scheme's context width) */
    RecentTokens(int width) {
        this.tokens = new int[width];
    }

    /** @return whether a full window has been accepted (before that, watermark steps change nothing) */
    boolean full() {
        return accepted >= tokens.length;
    }

    /** @return the window, oldest first ({@code [width]}; owned by this object) */
    int[] tokens() {
        return tokens;
    }

    /** Slides the window by one accepted token. */
    void accept(int token) {
        System.arraycopy(tokens, 1, tokens, 0, tokens.length - 1);
        tokens[tokens.length - 1] = token;
        accepted++;
    }

    /** Forgets the accepted count (the window refills before the step acts again). */
    void reset() {
        accepted = 0;
    }

    /** @return an independent copy (forks and rollback) */
    RecentTokens copy() {
        RecentTokens r = new RecentTokens(tokens.length);
        System.arraycopy(tokens, 0, r.tokens, 0, tokens.length);
        r.accepted = accepted;
        return r;
    }
}
