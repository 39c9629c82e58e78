package dev.argon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code argon loadtest}: concurrent streaming clients against a running OpenAI-compatible server. */
@Command(name = "loadtest", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Load-test a running OpenAI-compatible server (argon serve, llama.cpp's server, vLLM).",
                "CLIENTS concurrent clients each stream REQUESTS completions one after another; every stream must "
                        + "end with data: [DONE]. Prints aggregate tokens/s and latencies; exits 1 if any request failed, 2 if no server answers at the URL."})
final class LoadTestCommand implements Callable<Integer> {
    @ParentCommand
    Main parent;

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "Server address (default: ${DEFAULT-VALUE}).")
    String url;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "32", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--requests", paramLabel = "N", defaultValue = "20", description = "Requests per client (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "32",
            description = "max_tokens of each request (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temp", paramLabel = "F", defaultValue = "0.8",
            description = "Temperature; each request has its own fixed seed (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Bearer token, if the server wants one.")
    String apiKey;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120", description = "Per-request limit (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "5",
            description = "Requests per client sent first and not measured, so that JIT compilation (server and client) "
                    + "happens before the measurement (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        atLeastOne("--clients", clients);
        atLeastOne("--requests", requests);
        atLeastOne("--max-tokens (-n)", maxTokens);
        atLeastOne("--timeout", timeoutSeconds);
        if (warmup < 0) {
            throw new ArgonException("--warmup must be at least 0, got " + warmup);
        }
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new ArgonException("--url " + url + " is not a valid URL: " + e.getMessage());
        }
        if (uri.getScheme() == null || !uri.getScheme().startsWith("http") || uri.getHost() == null || uri.getPort() > 65535) {
            throw new ArgonException("--url " + url + " must look like http://HOST:PORT");
        }
        // accept the server root or an OpenAI base URL (http://HOST:PORT/v1)
        String base = url.replaceAll("/+$", "");
        base = base.endsWith("/v1") ? base.substring(0, base.length() - 3) : base;
        probe(base, timeoutSeconds);
        PrintStream out = parent.streams().out();
        PrintStream err = parent.streams().err();
        LoadTest.Config config = new LoadTest.Config(base, clients, requests, maxTokens, temperature, apiKey,
                Duration.ofSeconds(timeoutSeconds), warmup);
        LoadTest.Result r;
        if (System.console() == null) {
            r = LoadTest.run(config, () -> { }); // no progress bar when the output is not a terminal
        } else {
            try (ProgressBar bar = new ProgressBarBuilder().setTaskName("loadtest").setInitialMax((long) clients * requests)
                    .setUnit(" req", 1).setUpdateIntervalMillis(250).setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                    .setConsumer(new ConsoleProgressBarConsumer(err)).build()) {
                r = LoadTest.run(config, bar::step);
            }
        }
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode o = m.createObjectNode();
            o.put("clients", clients).put("requests_per_client", requests).put("max_tokens", maxTokens)
                    .put("warmup_requests_per_client", warmup).put("warmup_errors", r.warmupErrors()).put("ok", r.ok()).put("errors", r.errors()).put("completion_tokens", r.completionTokens())
                    .put("seconds", r.seconds()).put("tokens_per_second", r.tokensPerSecond())
                    .put("ttft_median_ms", r.ttftMedianMs()).put("ttft_p95_ms", r.ttftP95Ms())
                    .put("latency_median_ms", r.latencyMedianMs());
            o.putPOJO("first_errors", r.firstErrors());
            out.println(m.writeValueAsString(o));
        } else {
            if (r.warmupErrors() > 0) {
                out.printf("warm-up: failed for %d of %d clients%n", r.warmupErrors(), clients);
            }
            out.printf("requests: %d ok, %d failed (%d clients x %d)%n", r.ok(), r.errors(), clients, requests);
            out.printf("generated: %d tokens in %.2f s = %.1f tokens/s aggregate%n", r.completionTokens(), r.seconds(), r.tokensPerSecond());
            if (r.ok() > 0) {
                out.printf("time to first token: median %.0f ms, p95 %.0f ms; request: median %.0f ms%n",
                        r.ttftMedianMs(), r.ttftP95Ms(), r.latencyMedianMs());
            }
            for (String e : r.firstErrors()) {
                out.println("error: " + e);
            }
        }
        return r.errors() == 0 && r.warmupErrors() == 0 ? 0 : 1;
    }

    /**
     * One request before the test ({@code GET /health}; any HTTP answer will do), so that a server that is
     * not there is one clear error (exit 2) rather than a report of every request failing.
     *
     * @throws ArgonException if nothing answers at {@code base}
     */
    private static void probe(String base, int timeoutSeconds) {
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(Math.min(timeoutSeconds, 10))).build()) {
            http.send(java.net.http.HttpRequest.newBuilder(URI.create(base + "/health")).timeout(Duration.ofSeconds(timeoutSeconds)).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding());
        } catch (java.io.IOException e) {
            boolean unresolved = false;
            for (Throwable c = e; c != null; c = c.getCause()) {
                unresolved |= c instanceof java.nio.channels.UnresolvedAddressException || c instanceof java.net.UnknownHostException;
            }
            String why = unresolved ? "unknown host " + URI.create(base).getHost()
                    : e instanceof java.net.ConnectException ? "connection refused"
                    : e instanceof java.net.http.HttpTimeoutException ? "no answer within the timeout"
                    : e.getMessage() != null ? e.getMessage() : "connection failed";
            throw new ArgonException("cannot reach a server at " + base + " (" + why + "); is 'argon serve' running there?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ArgonException("interrupted while connecting to " + base);
        }
    }

    private static void atLeastOne(String option, int value) {
        if (value < 1) {
            throw new ArgonException(option + " must be at least 1, got " + value);
        }
    }
}
