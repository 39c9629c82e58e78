package dev.argon.server;

import dev.argon.generate.BatchScheduler;
import dev.argon.generate.GenerationResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The server's metrics (Micrometer, exposed by {@code GET /metrics} in Prometheus text format):
 *
 * <ul>
 *   <li>{@code argon_requests_total{route,status}}, {@code argon_request_duration_seconds{route}}
 *       — every HTTP request (unknown routes count as {@code route="other"});</li>
 *   <li>{@code argon_prompt_tokens_total}, {@code argon_completion_tokens_total},
 *       {@code argon_generations_total{finish_reason}} — finished generations;</li>
 *   <li>{@code argon_time_to_first_token_seconds} — from the request's arrival to its first
 *       generated token (queue wait plus prompt prefill);</li>
 *   <li>{@code argon_decode_tokens_per_second} — a summary of each generation's decode speed;</li>
 *   <li>gauges {@code argon_queue_depth}, {@code argon_active_sequences}, {@code argon_slots},
 *       {@code argon_kv_cache_tokens_used}, {@code argon_kv_cache_tokens_capacity},
 *       {@code argon_kv_cache_tokens_cached} (positions idle slots keep for prefix reuse), {@code argon_kv_cache_bytes} — read from
 *       the {@link Engine}'s stats at scrape time (0 while the model loads);</li>
 *   <li>{@code argon_prompt_tokens_cached_total} — prompt tokens served from a slot's cached
 *       prefix (multi-turn chat) instead of computed;</li>
 *   <li>speculative decoding: {@code argon_speculative_draft_tokens_total},
 *       {@code argon_speculative_accepted_tokens_total}, {@code argon_speculative_verify_passes_total},
 *       gauges {@code argon_speculative_acceptance_rate} and {@code argon_speculative_accepted_per_pass};
 *       {@code argon_speculative_lenient_accepted_tokens_total} (typical acceptance, lossy);</li>
 *   <li>paged KV pool (0 without one): gauges {@code argon_kv_blocks_capacity}, {@code argon_kv_blocks_used},
 *       {@code argon_kv_blocks_cached}, {@code argon_kv_block_size_tokens}; counters {@code argon_kv_blocks_evicted_total},
 *       {@code argon_prefix_cache_queried_tokens_total}, {@code argon_prefix_cache_hit_tokens_total},
 *       {@code argon_prefix_cache_hits_total}, {@code argon_prefix_cache_misses_total} (generations).</li>
 * </ul>
 */
final class ServerMetrics {
    /** Content type of {@link #scrape()}: Prometheus text exposition format 0.0.4. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private static final Duration[] LATENCY_BUCKETS = {
            Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
            Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
            Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60),
            Duration.ofSeconds(120)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter promptTokens;
    private final Counter completionTokens;
    private final Timer timeToFirstToken;
    private final DistributionSummary decodeSpeed;

    /** @param stats the engine's current stats, or null while there is no engine */
    ServerMetrics(Supplier<Engine.Stats> stats) {
        this(stats, () -> null);
    }

    /**
     * @param stats the engine's current stats, or null while there is no engine
     * @param paging the engine's paged KV pool counters, or null when it has none
     */
    ServerMetrics(Supplier<Engine.Stats> stats, Supplier<BatchScheduler.PagingStats> paging) {
        promptTokens = Counter.builder("argon.prompt.tokens").description("Prompt tokens of finished generations").register(registry);
        completionTokens = Counter.builder("argon.completion.tokens").description("Generated tokens of finished generations").register(registry);
        timeToFirstToken = Timer.builder("argon.time.to.first.token")
                .description("From a generation request's arrival to its first generated token (queue wait + prefill)")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
        decodeSpeed = DistributionSummary.builder("argon.decode.tokens.per.second")
                .description("Decode speed of each generation (tokens after the first / decode time)").register(registry);
        gauge("argon.queue.depth", "Requests waiting for the engine", stats, Engine.Stats::queuedRequests);
        gauge("argon.active.sequences", "Generations running now", stats, Engine.Stats::activeSequences);
        gauge("argon.slots", "Generations that may run at the same time", stats, Engine.Stats::slots);
        gauge("argon.kv.cache.tokens.used", "KV cache positions filled by running generations", stats, Engine.Stats::kvCacheTokensUsed);
        gauge("argon.kv.cache.tokens.capacity", "KV cache positions of the engine in all", stats, Engine.Stats::kvCacheCapacityTokens);
        gauge("argon.kv.cache.tokens.cached", "KV cache positions idle slots keep for prefix reuse", stats,
                Engine.Stats::kvCacheTokensCached);
        gauge("argon.kv.cache.bytes", "Bytes the KV caches hold now (they grow with use and are released when generations end)",
                stats, Engine.Stats::kvCacheBytes);
        FunctionCounter.builder("argon.prompt.tokens.copied", stats, s -> s.get() == null ? 0 : s.get().copiedPromptTokens())
                .description("Prompt tokens copied from another slot's cache (prefix caching across slots)").register(registry);
        FunctionCounter.builder("argon.speculative.draft.tokens", stats, s -> s.get() == null ? 0 : s.get().draftTokens())
                .description("Speculative decoding: draft tokens proposed and verified").register(registry);
        FunctionCounter.builder("argon.speculative.accepted.tokens", stats, s -> s.get() == null ? 0 : s.get().acceptedDraftTokens())
                .description("Speculative decoding: draft tokens accepted by verification").register(registry);
        FunctionCounter.builder("argon.speculative.verify.passes", stats, s -> s.get() == null ? 0 : s.get().verifyPasses())
                .description("Speculative decoding: sequence-steps that verified at least one draft token").register(registry);
        FunctionCounter.builder("argon.speculative.lenient.accepted.tokens", stats,
                        s -> s.get() == null ? 0 : s.get().lenientDraftTokens())
                .description("Speculative decoding, typical acceptance (lossy): accepted draft tokens that exact verification"
                        + " would have rejected").register(registry);
        gauge("argon.speculative.acceptance.rate", "Speculative decoding: accepted / proposed draft tokens since start", stats,
                s -> s.draftTokens() == 0 ? 0 : s.acceptedDraftTokens() / (double) s.draftTokens());
        gauge("argon.speculative.accepted.per.pass", "Speculative decoding: mean draft tokens accepted per verify pass since start",
                stats, s -> s.verifyPasses() == 0 ? 0 : s.acceptedDraftTokens() / (double) s.verifyPasses());
        FunctionCounter.builder("argon.prompt.tokens.cached", stats, s -> s.get() == null ? 0 : s.get().cachedPromptTokens())
                .description("Prompt tokens served from a slot's cached prefix instead of computed").register(registry);
        pagingGauge("argon.kv.blocks.capacity", "Blocks the paged KV pool may hold (--kv-pool / --kv-block-size)", paging,
                p -> p.blocks().total());
        pagingGauge("argon.kv.blocks.used", "KV blocks held by running generations", paging, p -> p.blocks().used());
        pagingGauge("argon.kv.blocks.cached", "KV blocks no generation holds, kept for prefix caching (evicted LRU first)", paging,
                p -> p.blocks().cached());
        pagingGauge("argon.kv.block.size.tokens", "Tokens per KV block (--kv-block-size)", paging, p -> p.blocks().blockSize());
        FunctionCounter.builder("argon.kv.blocks.evicted", paging, p -> p.get() == null ? 0 : p.get().blocks().evictions())
                .description("Cached KV blocks evicted to make room").register(registry);
        FunctionCounter.builder("argon.prefix.cache.queried.tokens", paging,
                        p -> p.get() == null ? 0 : p.get().hitTokens() + p.get().missTokens())
                .description("Prompt tokens looked up in the prefix cache").register(registry);
        FunctionCounter.builder("argon.prefix.cache.hit.tokens", paging, p -> p.get() == null ? 0 : p.get().hitTokens())
                .description("Prompt tokens found in the prefix cache (shared blocks, not computed)").register(registry);
        FunctionCounter.builder("argon.prefix.cache.hits", paging, p -> p.get() == null ? 0 : p.get().hits())
                .description("Generations that reused at least one cached block").register(registry);
        FunctionCounter.builder("argon.prefix.cache.misses", paging, p -> p.get() == null ? 0 : p.get().lookups() - p.get().hits())
                .description("Generations that found no cached block").register(registry);
    }

    private void pagingGauge(String name, String description, Supplier<BatchScheduler.PagingStats> paging,
                             ToDoubleFunction<BatchScheduler.PagingStats> f) {
        Gauge.builder(name, () -> {
            BatchScheduler.PagingStats p = paging.get();
            return p == null ? 0 : f.applyAsDouble(p);
        }).description(description).register(registry);
    }

    private void gauge(String name, String description, Supplier<Engine.Stats> stats, ToDoubleFunction<Engine.Stats> f) {
        Gauge.builder(name, () -> {
            Engine.Stats s = stats.get();
            return s == null ? 0 : f.applyAsDouble(s);
        }).description(description).register(registry);
    }

    /** Counts one HTTP request. */
    void request(String route, int status, double millis) {
        Counter.builder("argon.requests").description("HTTP requests by route and status")
                .tag("route", route).tag("status", Integer.toString(status)).register(registry).increment();
        Timer.builder("argon.request.duration").description("HTTP request duration by route (streams: until the last event)")
                .tag("route", route).serviceLevelObjectives(LATENCY_BUCKETS).register(registry)
                .record((long) (millis * 1e6), TimeUnit.NANOSECONDS);
    }

    /**
     * Records a finished generation.
     *
     * @param elapsedNanos from the request's arrival to the generation's end
     */
    void generation(GenerationResult r, long elapsedNanos) {
        promptTokens.increment(r.promptTokens().length);
        completionTokens.increment(r.generatedTokens().length);
        Counter.builder("argon.generations").description("Finished generations by finish reason")
                .tag("finish_reason", r.finishReason().name().toLowerCase(java.util.Locale.ROOT)).register(registry).increment();
        if (r.generatedTokens().length > 0) {
            long ttft = Math.max(0, elapsedNanos - (long) (r.decodeSeconds() * 1e9));
            timeToFirstToken.record(ttft, TimeUnit.NANOSECONDS);
        }
        if (r.generatedTokens().length > 1) {
            decodeSpeed.record(r.decodeTokensPerSecond());
        }
    }

    /** @return every metric in Prometheus text format ({@link #CONTENT_TYPE}) */
    String scrape() {
        return registry.scrape();
    }
}
