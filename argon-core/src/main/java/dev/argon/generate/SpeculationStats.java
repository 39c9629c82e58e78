package dev.argon.generate;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of speculative decoding, shared by the sequences of one {@link Generator} or
 * {@link BatchScheduler} (thread-safe): draft tokens proposed and accepted, and verification
 * passes (forward passes in which a sequence checked at least one draft token).
 */
public final class SpeculationStats {
    private final AtomicLong proposed = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong passes = new AtomicLong();
    private final AtomicLong lenient = new AtomicLong();

    /** Records one verification pass of {@code proposed} draft tokens, {@code accepted} of them kept. */
    void record(int proposed, int accepted) {
        record(proposed, accepted, 0);
    }

    /**
     * Records one verification pass of {@code proposed} draft tokens, {@code accepted} of them kept,
     * {@code lenient} of those by typical acceptance over a different draw of the sequence.
     */
    void record(int proposed, int accepted, int lenient) {
        this.proposed.addAndGet(proposed);
        this.accepted.addAndGet(accepted);
        this.lenient.addAndGet(lenient);
        passes.incrementAndGet();
    }

    /**
     * @return draft tokens kept by the lossy typical acceptance ({@link DraftAcceptance}) where the
     *     sequence's own draw, the one exact verification uses, was a different token: exact
     *     verification would have rejected them (0 with exact acceptance)
     */
    public long lenientAccepted() {
        return lenient.get();
    }

    /** @return draft tokens proposed and verified */
    public long proposed() {
        return proposed.get();
    }

    /** @return draft tokens accepted */
    public long accepted() {
        return accepted.get();
    }

    /** @return verification passes */
    public long verifyPasses() {
        return passes.get();
    }

    /** @return accepted / proposed (α), 0 before any draft */
    public double acceptanceRate() {
        long p = proposed.get();
        return p == 0 ? 0 : accepted.get() / (double) p;
    }

    /** @return draft tokens accepted per verification pass, 0 before any pass (tokens per pass τ is this + 1) */
    public double meanAcceptedLength() {
        long n = passes.get();
        return n == 0 ? 0 : accepted.get() / (double) n;
    }
}
