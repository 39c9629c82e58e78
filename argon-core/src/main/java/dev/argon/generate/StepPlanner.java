package dev.argon.generate;

import dev.argon.model.Batch;

import java.util.List;

/**
 * Planning, the first part of a scheduler step: which rows of which running sequences the next
 * forward pass runs. Prompt chunks of prefilling requests come first, in order, at most
 * {@code stepTokens} rows in all (a guided request's unconditional prompt shares that budget);
 * then every decoding request's decode row, followed by its draft rows ({@link SpeculativeStep})
 * when the batch has room beyond the decode rows still to come and not more sequences decode than
 * its speculation allows, and by its guidance row. Scheduler thread only.
 */
final class StepPlanner {
    private final int stepTokens;
    private final int parallel;
    private final boolean backOff;
    private Batch batch;
    /** The last plan, whose arrays the next plan for as many requests overwrites (nothing is allocated per step). */
    private StepPlan last;

    /**
     * @param stepTokens prompt rows per step across all sequences, >= 1
     * @param parallel the most sequences that run together
     */
    StepPlanner(int stepTokens, int parallel) {
        this(stepTokens, parallel, true);
    }

    /**
     * @param backOff whether speculation backs off under load ({@link SpeculationParams#disableBatchSize()});
     *     false: a sequence always drafts (the one-request {@link Generator})
     */
    StepPlanner(int stepTokens, int parallel, boolean backOff) {
        this.stepTokens = stepTokens;
        this.parallel = parallel;
        this.backOff = backOff;
        this.batch = new Batch(stepTokens + parallel);
    }

    /**
     * Fills the batch with the next step's rows.
     *
     * @param active the running requests, each with its slot(s), none finished
     * @return the rows, per request, and the batch holding them; valid until the next call (which
     *     reuses its arrays)
     */
    StepPlan plan(List<ScheduledRequest> active) {
        growBatchForDrafts(active);
        batch.clear();
        int budget = stepTokens;
        int n = active.size();
        if (last == null || last.batch() != batch || last.promptRows().length != n) {
            last = new StepPlan(batch, new int[n], new int[n], new int[n]);
        }
        int[] promptRows = last.promptRows();
        int[] guideRows = last.guideRows();
        java.util.Arrays.fill(promptRows, 0);
        java.util.Arrays.fill(guideRows, 0);
        for (int i = 0; i < active.size() && budget > 0; i++) {
            ScheduledRequest r = active.get(i);
            if (!r.prefilling()) {
                continue;
            }
            int k = Math.min(r.prompt.length - r.fed, budget);
            for (int j = 0; j < k; j++) {
                int pos = r.fed + j;
                batch.add(r.slot.state, r.prompt[pos], pos, true, pos == r.prompt.length - 1);
            }
            promptRows[i] = k;
            budget -= k;
            if (r.negative != null) {
                int g = Math.min(r.negative.length - r.guideFed, budget);
                for (int j = 0; j < g; j++) {
                    int pos = r.guideFed + j;
                    batch.add(r.guideSlot.state, r.negative[pos], pos, true, pos == r.negative.length - 1);
                }
                guideRows[i] = g;
                budget -= g;
            }
        }
        int[] decodeRow = last.decodeRow();
        int reserve = 0; // decode rows still to add: each decoding sequence's own row (two with guidance)
        int decoding = 0;
        for (int i = 0; i < n; i++) {
            ScheduledRequest r = active.get(i);
            reserve += r.prefilling() ? 0 : r.slotsNeeded();
            decoding += r.prefilling() ? 0 : 1;
        }
        for (int i = 0; i < active.size(); i++) {
            ScheduledRequest r = active.get(i);
            decodeRow[i] = -1;
            if (!r.prefilling()) {
                reserve -= r.slotsNeeded();
                int pos = r.seq.position();
                decodeRow[i] = batch.add(r.slot.state, r.next, pos, false, true);
                if (r.spec != null && (!backOff || r.spec.runsWith(decoding))) {
                    r.spec.addDraftRows(batch, r.slot.state, r.seq, batch.remaining() - reserve); // verification rows
                }
                if (r.negative != null) {
                    batch.add(r.guideSlot.state, r.next, r.guidePosition(r.seq.position()), false, true); // the row after
                }
            }
        }
        return last;
    }

    /**
     * Makes the batch large enough for every running sequence's longest draft: prompt chunks, plus
     * per slot its decode row and up to {@link SpeculationParams#maxDraftRows()} verification rows.
     * The batch's scratch grows once, on the first step that needs it.
     */
    private void growBatchForDrafts(List<ScheduledRequest> active) {
        int most = 0;
        for (int i = 0; i < active.size(); i++) {
            ScheduledRequest r = active.get(i);
            if (r.spec != null) {
                most = Math.max(most, r.spec.maxDraftRows());
            }
        }
        int need = stepTokens + parallel * (1 + most);
        if (need > batch.capacity()) {
            batch = new Batch(need);
        }
    }
}
