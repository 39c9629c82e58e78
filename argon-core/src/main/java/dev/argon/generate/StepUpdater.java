package dev.argon.generate;

import dev.argon.model.Batch;
import dev.argon.tensor.ThreadPool;

import java.util.Arrays;
import java.util.List;

/**
 * Updating, the last part of a scheduler step: hands a forward pass's logits back to the
 * sequences of its {@link StepPlan}. Prompt progress first (computed prompt rows are offered to
 * the prefix cache, {@link SlotAdmission#computed}); then each sequence whose prompt is in, or
 * that decoded, samples its next token from its own rows, in parallel: a plain or backtracking
 * sequence from its decode row (or last prompt row), a speculating one verifies its draft rows
 * ({@link SpeculativeStep#verify}), a guided one samples the mix of its two sequences' rows (or
 * of the logits kept from both prompts' last rows). It does not retire finished sequences; the
 * scheduler does. Scheduler thread only.
 */
final class StepUpdater {
    private final ThreadPool threads;
    private final int contextLength;
    private final SlotAdmission admission;
    /** The requests sampled after a step and their logits rows (-1: a guided request's kept logits). */
    private final ScheduledRequest[] sampleRequest;
    private final int[] sampleRow;
    /** The batch of the step being updated, read by {@link #sampleRange} (one lambda for every step, not one per step). */
    private Batch sampling;
    private final ThreadPool.RangeBody sampleRange = this::sample;

    /**
     * @param threads the pool the sequences sample on
     * @param contextLength KV cache size of each slot (a guided request whose unconditional sequence fills it stops)
     * @param admission where computed prompt rows are registered
     * @param parallel the most sequences that run together
     */
    StepUpdater(ThreadPool threads, int contextLength, SlotAdmission admission, int parallel) {
        this.threads = threads;
        this.contextLength = contextLength;
        this.admission = admission;
        this.sampleRequest = new ScheduledRequest[parallel];
        this.sampleRow = new int[parallel];
    }

    /**
     * Advances the prompts and samples the next token of every sequence that has logits in
     * {@code plan} ({@link ScheduledRequest#next}; -1 when it finished).
     *
     * @param active the running requests the plan was made for, in the same order
     */
    void update(StepPlan plan, List<ScheduledRequest> active) {
        Batch batch = plan.batch();
        int[] promptRows = plan.promptRows();
        int[] guideRows = plan.guideRows();
        int[] decodeRow = plan.decodeRow();
        int row = 0;
        int sampled = 0;
        for (int i = 0; i < active.size(); i++) {
            ScheduledRequest r = active.get(i);
            if (r.negative != null && (promptRows[i] > 0 || guideRows[i] > 0)) {
                row += promptRows[i];
                r.fed += promptRows[i];
                admission.computed(r.slot, r.prompt, r.fed);
                if (promptRows[i] > 0 && r.fed == r.prompt.length) {
                    System.arraycopy(batch.logits(row - 1), 0, r.condLogits, 0, r.condLogits.length);
                }
                row += guideRows[i];
                r.guideFed += guideRows[i];
                admission.computed(r.guideSlot, r.negative, r.guideFed);
                if (guideRows[i] > 0 && r.guideFed == r.negative.length) {
                    System.arraycopy(batch.logits(row - 1), 0, r.uncondLogits, 0, r.uncondLogits.length);
                }
                if (!r.prefilling()) {
                    r.firstLogits = System.nanoTime();
                    sampleRequest[sampled] = r;
                    sampleRow[sampled++] = -1; // from the kept logits
                }
            } else if (promptRows[i] > 0) {
                row += promptRows[i];
                r.fed += promptRows[i];
                admission.computed(r.slot, r.prompt, r.fed); // its full blocks can serve other requests now
                if (!r.prefilling()) {
                    r.firstLogits = System.nanoTime();
                    sampleRequest[sampled] = r;
                    sampleRow[sampled++] = row - 1;
                }
            } else if (decodeRow[i] >= 0) {
                sampleRequest[sampled] = r;
                sampleRow[sampled++] = decodeRow[i];
            }
        }
        // Each sequence samples from its own logits with its own sampler, so the rows are sampled
        // in parallel (over a 32000-token vocabulary that is ~10% of a small model's step).
        sampling = batch;
        threads.parallelFor(sampled, sampleRange);
        sampling = null;
        Arrays.fill(sampleRequest, 0, sampled, null);
    }

    /** Samples the next token of requests {@code [start, end)} of this step's {@link #sampleRequest}s. */
    private void sample(int start, int end) {
        Batch batch = sampling;
        for (int k = start; k < end; k++) {
            ScheduledRequest r = sampleRequest[k];
            if (r.spec != null && sampleRow[k] >= 0) {
                r.next = r.spec.verify(r.seq, batch, sampleRow[k]);
            } else if (r.negative == null) {
                // after a rollback, backtrack answers the last kept token: fed again at the rolled-back position
                r.next = r.backtrack != null ? r.backtrack.next(batch.logits(sampleRow[k])) : r.seq.next(batch.logits(sampleRow[k]));
            } else {
                int at = sampleRow[k];
                r.next = r.seq.next(at < 0 ? r.mix(r.condLogits, r.uncondLogits) : r.mix(batch.logits(at), batch.logits(at + 1)));
                if (r.next >= 0 && r.guidePosition(r.seq.position()) >= contextLength) {
                    r.seq.cancel(); // the unconditional sequence (a longer prompt) is full
                    r.next = -1;
                }
            }
        }
    }

    /** @return the KV positions the running requests hold (prompt rows computed, or tokens fed, minus evicted ones) */
    static long kvTokensUsed(List<ScheduledRequest> active) {
        long used = 0;
        for (ScheduledRequest r : active) {
            used += r.prefilling() ? r.fed : r.seq.position() + 1 - r.slot.state.evicted();
            if (r.negative != null) {
                used += r.prefilling() ? r.guideFed : r.guidePosition(r.seq.position()) + 1;
            }
        }
        return used;
    }
}
