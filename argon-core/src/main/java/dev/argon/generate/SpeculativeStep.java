package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;

/**
 * One sequence's speculative decoding as rows of a {@link Batch}, shared by the scheduler and
 * {@link Generator}: planning puts the draft rows right after the sequence's decode row
 * ({@link #addDraftRows}), updating verifies them from that pass's logits ({@link #verify}).
 * The acceptance rule and the adaptive draft length are the {@link Speculator}'s.
 *
 * <p>Rollback needs no work: the KV rows a rejected draft wrote lie at positions the next pass
 * writes again before any token reads them, which is why a cache that evicts or moves rows
 * (a context policy) cannot speculate. Not thread-safe: one per sequence.
 */
final class SpeculativeStep {
    private final SpeculationParams params;
    private final Speculator speculator;

    private SpeculativeStep(SpeculationParams params, Speculator speculator) {
        this.params = params;
        this.speculator = speculator;
    }

    /**
     * @param p the sequence's settings (validated by the caller)
     * @param draftModel makes draft-model proposers, or null when there is none
     * @param stats counters to add to (shared)
     * @param policy what the sequence's full KV cache does
     * @throws ArgonException if {@code policy} evicts tokens, or a draft model is asked for but none is set
     */
    static SpeculativeStep create(SpeculationParams p, DraftProposer.Factory draftModel, SpeculationStats stats,
                                  ContextPolicy policy) {
        if (policy.unbounded()) {
            throw new ArgonException("speculative decoding cannot be combined with a context shift, sinks + window or H2O ("
                    + policy + "): evicting tokens would move the rows a draft is verified at");
        }
        return new SpeculativeStep(p, new Speculator(p, Speculator.proposer(p, draftModel), stats));
    }

    /** @return the most draft rows one step adds */
    int maxDraftRows() {
        return params.maxDraftRows();
    }

    /** @return whether the sequence drafts in a step where {@code decoding} sequences decode (it backs off under load) */
    boolean runsWith(int decoding) {
        return decoding <= params.disableBatchSize();
    }

    /**
     * Adds the draft rows after the sequence's decode row (its last sampled token, just added at
     * {@link Sequence#position()}): draft token {@code j} at {@code position() + 1 + j}, with the
     * decode arithmetic like any generated row.
     *
     * @param cap the most draft rows the batch has room for now, >= 0
     * @return the rows added (0: decode normally)
     */
    int addDraftRows(Batch batch, InferenceState state, Sequence seq, int cap) {
        int pos = seq.position();
        int k = speculator.draft(seq, cap);
        for (int j = 0; j < k; j++) {
            batch.add(state, speculator.draftToken(j), pos + 1 + j, false, true);
        }
        return k;
    }

    /**
     * Verifies the draft from the logits of the decode row {@code decodeRow} and the draft rows
     * after it ({@link Speculator#verify}); the sequence takes the accepted tokens.
     *
     * @return the token to feed next at {@link Sequence#position()}, or -1 when the sequence finished
     */
    int verify(Sequence seq, Batch batch, int decodeRow) {
        return speculator.verify(seq, j -> batch.logits(decodeRow + j));
    }
}
