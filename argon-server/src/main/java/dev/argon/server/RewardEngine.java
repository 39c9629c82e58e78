package dev.argon.server;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.sampling.TokenLogprobs;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The server's engine for GenARM ({@code argon serve --reward-model FILE --reward-beta B}): every
 * request is steered by the server's reward models ({@link dev.argon.generate.RewardGuidance}, Xu et al. 2025), one
 * generation at a time through {@link Generator#withRewards}, so the output is the CLI's and the
 * library's for the same settings. Requests wait in arrival order (a fair lock) up to the queue
 * capacity, then get a 503. Not combinable with classifier-free guidance ({@code guidance_scale}: 400).
 */
public final class RewardEngine implements Engine {
    private static final long WAIT_CHECK_MS = 50;

    private final Generator generator;
    private final int contextLength;
    private final int queueCapacity;
    private final ReentrantLock turn = new ReentrantLock(true);
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile boolean running;
    private volatile boolean closed;

    /**
     * @param generator a generator over the base model, already {@link Generator#withRewards with its rewards}
     * @param contextLength tokens per generation
     * @param queueCapacity requests that may wait while one runs
     */
    public RewardEngine(Generator generator, int contextLength, int queueCapacity) {
        this.generator = generator;
        this.contextLength = contextLength;
        this.queueCapacity = queueCapacity;
    }

    @Override
    public GenerationResult run(GenerationRequest req, int[] promptIds, Consumer<String> onText, BooleanSupplier cancelled) {
        GenerationListener listener = onText::accept;
        return run(req, promptIds, listener, cancelled);
    }

    /**
     * Runs {@code req} steered by the reward models once the previous generations are done.
     *
     * @throws ApiException 400 for a guided request; 503 when the queue is full, the engine is
     *     closed or the request was cancelled while waiting
     */
    @Override
    public GenerationResult run(GenerationRequest req, int[] promptIds, GenerationListener listener, BooleanSupplier cancelled) {
        if (req.guided()) {
            throw ApiException.badRequest("guidance_scale", "classifier-free guidance cannot be combined with the server's"
                    + " reward models (--reward-model)");
        }
        if (req.backtracking().active()) {
            throw ApiException.badRequest("banned_strings", "'banned_strings' and 'backspace_token' cannot be combined with the"
                    + " server's reward models (--reward-model)");
        }
        if (req.speculation().active()) { // the server's own default is none here (serve refuses --spec with --reward-model)
            throw ApiException.badRequest("speculative.type", "speculative decoding cannot be combined with the server's reward"
                    + " models (--reward-model): drop the 'speculative.*' fields");
        }
        if (closed) {
            throw ApiException.unavailable("the server is stopping");
        }
        if (waiting.incrementAndGet() > queueCapacity + (running ? 0 : 1)) {
            waiting.decrementAndGet();
            throw ApiException.overloaded("the server is busy: " + queueCapacity + " requests are already waiting for the"
                    + " reward-guided generator");
        }
        try {
            while (!turn.tryLock(WAIT_CHECK_MS, TimeUnit.MILLISECONDS)) {
                if (closed || cancelled.getAsBoolean() || !listener.stillWanted()) {
                    throw ApiException.unavailable("the request was cancelled before it started");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("the request was interrupted");
        } finally {
            waiting.decrementAndGet();
        }
        running = true;
        try {
            GenerationListener streaming = new GenerationListener() {
                @Override
                public void onText(String text) {
                    listener.onText(text);
                    listener.onPause();
                }

                @Override
                public void onToken(int token, TokenLogprobs logprobs) {
                    listener.onToken(token, logprobs);
                }
            };
            return generator.run(req, promptIds, contextLength, streaming, () -> closed || cancelled.getAsBoolean());
        } catch (ArgonException e) {
            throw ApiException.badRequest(null, e.getMessage());
        } finally {
            running = false;
            turn.unlock();
        }
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public Stats stats() {
        return new Stats(running ? 1 : 0, waiting.get(), 1, 0, contextLength, 0, 0);
    }

    /** Ends the running generation (finish reason {@code cancelled}) and refuses new ones; the models stay open (the caller's). */
    @Override
    public void close() {
        closed = true;
    }
}
