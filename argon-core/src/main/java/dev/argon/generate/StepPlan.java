package dev.argon.generate;

import dev.argon.model.Batch;

/**
 * The rows one scheduler step runs ({@link StepPlanner}), per running request by its index in
 * the running list: its prompt rows, its unconditional prompt rows (guidance), and the row of its
 * decode token (-1: none), which its draft rows follow. The rows themselves are in {@code batch},
 * in request order: each request's prompt rows then guidance prompt rows, then, after all prompt
 * rows, each decoding request's decode row, draft rows and guidance decode row.
 */
record StepPlan(Batch batch, int[] promptRows, int[] guideRows, int[] decodeRow) {
    /** @return whether running request {@code i} has a row in this step */
    boolean runs(int i) {
        return promptRows[i] > 0 || guideRows[i] > 0 || decodeRow[i] >= 0;
    }
}
