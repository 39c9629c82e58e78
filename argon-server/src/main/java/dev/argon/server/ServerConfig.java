package dev.argon.server;

import dev.argon.kv.KvCache;

/**
 * Settings of an {@link OpenAiServer}.
 *
 * @param host address to bind ({@code 127.0.0.1} keeps the server on this machine)
 * @param port TCP port; 0 picks a free one ({@link OpenAiServer#port()} tells which)
 * @param parallel generation slots: requests generating at the same time (at least 1)
 * @param queueCapacity requests that may wait for a slot; one more gets HTTP 503
 * @param contextLength KV cache size of each generation in tokens; 0 when not known yet (the
 *     engine given to {@link OpenAiServer#ready} decides)
 * @param cachePrecision KV cache precision of each generation
 * @param apiKey the bearer token clients must send, or null for none
 * @param modelId the model name reported by {@code /v1/models} and in responses
 */
public record ServerConfig(String host, int port, int parallel, int queueCapacity, int contextLength,
                           KvCache.Precision cachePrecision, String apiKey, String modelId) {
    /** Default bound of the wait queue. */
    public static final int DEFAULT_QUEUE_CAPACITY = 64;

    /** Largest request body in bytes; a larger one gets HTTP 413. */
    public static final int MAX_REQUEST_BYTES = 4 << 20;

    /** @throws IllegalArgumentException if a value is out of range */
    public ServerConfig {
        if (parallel < 1) {
            throw new IllegalArgumentException("parallel must be at least 1, got " + parallel);
        }
        if (queueCapacity < 0) {
            throw new IllegalArgumentException("queueCapacity must be >= 0, got " + queueCapacity);
        }
        if (contextLength != 0 && contextLength < 2) {
            throw new IllegalArgumentException("contextLength must be 0 (not known yet) or at least 2, got " + contextLength);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
    }
}
