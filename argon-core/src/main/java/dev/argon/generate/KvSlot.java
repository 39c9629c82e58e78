package dev.argon.generate;

import dev.argon.kv.BlockTable;
import dev.argon.model.InferenceState;

/**
 * One slot of a {@link BatchScheduler}: a sequence's inference state (its KV cache) and the
 * prompt tokens that cache still holds for prefix reuse once its request has ended. Scheduler
 * thread only.
 */
final class KvSlot {
    final InferenceState state;
    /** The prompt whose first {@link #cachedLength} tokens the cache holds (for prefix reuse). */
    int[] cached = new int[0];
    int cachedLength;
    /** Admission clock value of the last request given this slot (least recently used goes first). */
    long lastUsed;

    KvSlot(InferenceState state) {
        this.state = state;
    }

    /** @return the block table of the slot's paged cache (paged pool only) */
    BlockTable blocks() {
        return state.kvCache().blockTable();
    }

    /** @return how many leading tokens of {@code prompt} this slot's cached prompt holds */
    int commonPrefix(int[] prompt) {
        int n = Math.min(cachedLength, prompt.length);
        int i = 0;
        while (i < n && cached[i] == prompt[i]) {
            i++;
        }
        return i;
    }
}
