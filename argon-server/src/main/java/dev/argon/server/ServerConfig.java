package dev.argon.server;

import dev.argon.kv.KvCache;
import dev.argon.sampling.SamplingParams;

import java.util.List;

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
 * @param aliases further model names requests may use ({@code --alias}; the first alias is
 *     usually given as {@code modelId}); never null
 * @param corsOrigins origins browsers may call from ({@code --cors-origin}; {@code *} = any);
 *     empty: no CORS headers and no preflight answers
 * @param defaultSampling the sampling a request gets for every field it omits (the server's
 *     {@code --temp}, {@code --top-k}, ... flags)
 * @param modelPath the model file, reported by {@code GET /props} (null: not known)
 */
public record ServerConfig(String host, int port, int parallel, int queueCapacity, int contextLength,
                           KvCache.Precision cachePrecision, String apiKey, String modelId, List<String> aliases,
                           List<String> corsOrigins, SamplingParams defaultSampling, String modelPath) {
    /** Default bound of the wait queue. */
    public static final int DEFAULT_QUEUE_CAPACITY = 64;

    /** Largest request body in bytes; a larger one gets HTTP 413. */
    public static final int MAX_REQUEST_BYTES = 4 << 20;

    /** A configuration without aliases or CORS, with llama.cpp's default sampling. */
    public ServerConfig(String host, int port, int parallel, int queueCapacity, int contextLength,
                        KvCache.Precision cachePrecision, String apiKey, String modelId) {
        this(host, port, parallel, queueCapacity, contextLength, cachePrecision, apiKey, modelId, List.of(), List.of(),
                SamplingParams.defaults(), null);
    }

    /** @return this configuration with further accepted model names */
    public ServerConfig withAliases(List<String> names) {
        return new ServerConfig(host, port, parallel, queueCapacity, contextLength, cachePrecision, apiKey, modelId, names,
                corsOrigins, defaultSampling, modelPath);
    }

    /** @return this configuration answering CORS requests from {@code origins} ({@code *}: any) */
    public ServerConfig withCorsOrigins(List<String> origins) {
        return new ServerConfig(host, port, parallel, queueCapacity, contextLength, cachePrecision, apiKey, modelId, aliases,
                origins, defaultSampling, modelPath);
    }

    /** @return this configuration with {@code sampling} for the fields a request omits */
    public ServerConfig withDefaultSampling(SamplingParams sampling) {
        return new ServerConfig(host, port, parallel, queueCapacity, contextLength, cachePrecision, apiKey, modelId, aliases,
                corsOrigins, sampling, modelPath);
    }

    /** @return this configuration reporting {@code path} as the model file */
    public ServerConfig withModelPath(String path) {
        return new ServerConfig(host, port, parallel, queueCapacity, contextLength, cachePrecision, apiKey, modelId, aliases,
                corsOrigins, defaultSampling, path);
    }

    /** @return every model name requests may use: {@link #modelId()} first, then the aliases */
    public List<String> modelNames() {
        List<String> names = new java.util.ArrayList<>();
        names.add(modelId);
        for (String a : aliases) {
            if (!names.contains(a)) {
                names.add(a);
            }
        }
        return List.copyOf(names);
    }

    /** @throws IllegalArgumentException if a value is out of range */
    public ServerConfig {
        aliases = aliases == null ? List.of() : List.copyOf(aliases);
        corsOrigins = corsOrigins == null ? List.of() : List.copyOf(corsOrigins);
        if (defaultSampling == null) {
            defaultSampling = SamplingParams.defaults();
        }
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
