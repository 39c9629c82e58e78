package dev.argon.server;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admission control for generations: a fixed number of slots and a bounded wait queue. A request
 * takes a free slot or waits (first come, first served); when the queue is full it is refused
 * with HTTP 503.
 *
 * <p>This is <b>not</b> continuous batching: each slot runs its own generation with its own KV
 * cache, and slots do not share forward passes. Several slots only overlap their work on the CPU.
 */
public final class SlotScheduler {
    private final Semaphore slots;
    private final int queueCapacity;
    private final AtomicInteger waiting = new AtomicInteger();

    /**
     * @param parallel number of slots
     * @param queueCapacity most requests waiting for a slot
     */
    public SlotScheduler(int parallel, int queueCapacity) {
        this.slots = new Semaphore(parallel, true);
        this.queueCapacity = queueCapacity;
    }

    /** A held slot; closing it frees the slot. */
    public interface Slot extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Takes a free slot, waiting in the queue if none is free.
     *
     * @throws ApiException 503 when the queue is full, or when interrupted while waiting
     */
    public Slot acquire() {
        if (!slots.tryAcquire()) {
            if (waiting.incrementAndGet() > queueCapacity) {
                waiting.decrementAndGet();
                throw new ApiException(503, "server_error", null, "server_busy",
                        "the server is busy: all slots are generating and " + queueCapacity + " requests are waiting; retry later");
            }
            try {
                slots.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
            } finally {
                waiting.decrementAndGet();
            }
        }
        boolean[] closed = {false};
        return () -> {
            if (!closed[0]) {
                closed[0] = true;
                slots.release();
            }
        };
    }

    /** @return requests waiting for a slot now */
    public int waiting() {
        return waiting.get();
    }
}
