package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * OpenAI API conformance a new user expects (stories260K model): parameter ranges with messages
 * that name the parameter and its range, message roles, 405 for a wrong method, Retry-After on
 * 503, {@code usage.prompt_tokens_details.cached_tokens}, a clear error when the port is taken,
 * and a server that still answers while hundreds of clients hold half-sent requests.
 */
@Timeout(120)
class ApiConformanceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ID = "stories260K";
    private static final int CTX = 256;
    private static final String CHAT = "/v1/chat/completions";
    private static final String CMPL = "/v1/completions";

    private static LanguageModel model;
    private static ChatTemplate template;
    private static OpenAiServer server;
    private static HttpClient http;

    @BeforeAll
    static void start() {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        model = Models.load(path, 2);
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        server = new OpenAiServer(model, template, config(2, 4)).start();
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.stop(Duration.ofSeconds(5));
        }
        if (model != null) {
            model.close();
        }
    }

    private static ServerConfig config(int parallel, int queue) {
        return new ServerConfig("127.0.0.1", 0, parallel, queue, CTX, KvCache.Precision.F32, null, ID);
    }

    private static HttpResponse<String> send(OpenAiServer s, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.url() + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return send(server, "POST", path, body);
    }

    /** Asserts OpenAI's error object with this status and param; returns its message. */
    private static String assertError(HttpResponse<String> r, int status, String param) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.has("message") && e.has("type") && e.has("param") && e.has("code")).as(r.body()).isTrue();
        assertThat(e.get("type").asText()).isEqualTo(status < 500 ? "invalid_request_error" : "server_error");
        if (param == null) {
            assertThat(e.get("param").isNull()).as(r.body()).isTrue();
        } else {
            assertThat(e.get("param").asText()).as(r.body()).isEqualTo(param);
        }
        String message = e.get("message").asText();
        assertThat(message).isNotBlank();
        assertThat(r.body()).doesNotContain("\tat ").doesNotContain("Exception");
        return message;
    }

    private static String cmpl(String extra) {
        return "{\"prompt\":\"x\",\"max_tokens\":1," + extra + "}";
    }

    private static String chat(String extra) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1," + extra + "}";
    }

    @Test
    void integersBeyondTheirRangeNameTheRange() throws Exception {
        assertThat(assertError(post(CMPL, cmpl("\"max_tokens\":99999999999")), 400, "max_tokens"))
                .contains("max_tokens").contains("between 1 and 2147483647").contains("99999999999");
        assertThat(assertError(post(CHAT, chat("\"max_completion_tokens\":99999999999999999999999")), 400, "max_completion_tokens"))
                .contains("max_completion_tokens").contains("between 1 and 2147483647");
        assertThat(assertError(post(CMPL, cmpl("\"max_tokens\":-1")), 400, "max_tokens")).contains("between 1 and 2147483647");
        assertThat(assertError(post(CMPL, cmpl("\"max_tokens\":1e20")), 400, "max_tokens")).contains("between 1 and 2147483647");
        assertThat(assertError(post(CMPL, cmpl("\"n\":4294967297")), 400, "n")).contains("between 1 and 16");
        assertThat(assertError(post(CMPL, cmpl("\"top_k\":99999999999")), 400, "top_k")).contains("between 0 and 2147483647");
        assertThat(assertError(post(CMPL, cmpl("\"repeat_last_n\":-99999999999")), 400, "repeat_last_n"))
                .contains("between -1 and 2147483647");
        assertThat(assertError(post(CMPL, cmpl("\"logprobs\":99999999999")), 400, "logprobs")).contains("between 0 and 5");
        assertThat(assertError(post(CHAT, chat("\"logprobs\":true,\"top_logprobs\":99999999999")), 400, "top_logprobs"))
                .contains("between 0 and 20");
        assertThat(assertError(post(CMPL, cmpl("\"seed\":99999999999999999999")), 400, "seed"))
                .contains("between -9223372036854775808 and 9223372036854775807");
        assertThat(post(CMPL, cmpl("\"max_tokens\":2147483647,\"seed\":99999999999")).statusCode()).isEqualTo(200);
    }

    @Test
    void anUnknownRoleListsTheAcceptedOnes() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"wizard\",\"content\":\"abracadabra\"}]}";
        assertThat(assertError(post(CHAT, body), 400, "messages[1].role"))
                .contains("messages[1].role").contains("wizard").contains("system, user, assistant, tool, developer");
        assertThat(assertError(post(CHAT, "{\"messages\":[{\"role\":5,\"content\":\"hi\"}]}"), 400, "messages[0].role"))
                .contains("system, user, assistant, tool, developer");
        // the accepted ones pass the check (developer is the system role for the template)
        assertThat(post(CHAT, "{\"messages\":[{\"role\":\"developer\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1}").statusCode()).isEqualTo(200);
    }

    @Test
    void openAiRangesAreEnforced() throws Exception {
        assertThat(assertError(post(CMPL, cmpl("\"temperature\":3")), 400, "temperature")).contains("temperature").contains("between 0 and 2");
        assertThat(assertError(post(CHAT, chat("\"temperature\":-0.5")), 400, "temperature")).contains("between 0 and 2");
        assertThat(assertError(post(CMPL, cmpl("\"top_p\":1.5")), 400, "top_p")).contains("top_p").contains("between 0 and 1");
        assertThat(assertError(post(CMPL, cmpl("\"top_p\":-0.1")), 400, "top_p")).contains("between 0 and 1");
        assertThat(assertError(post(CMPL, cmpl("\"presence_penalty\":2.5")), 400, "presence_penalty")).contains("between -2 and 2");
        assertThat(assertError(post(CHAT, chat("\"frequency_penalty\":-3")), 400, "frequency_penalty")).contains("between -2 and 2");
        assertThat(assertError(post(CMPL, cmpl("\"logit_bias\":{\"5\":150}")), 400, "logit_bias")).contains("between -100 and 100");
        assertThat(assertError(post(CMPL, cmpl("\"logit_bias\":{\"5\":-100.5}")), 400, "logit_bias")).contains("between -100 and 100");
        assertThat(assertError(post(CMPL, cmpl("\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]")), 400, "stop")).contains("at most 4");
        assertThat(assertError(post(CHAT, chat("\"stream_options\":{\"include_usage\":true}")), 400, "stream_options"))
                .contains("stream_options is only allowed when 'stream' is true".replace("stream_options", "'stream_options'"));
        assertError(post(CMPL, cmpl("\"stream\":false,\"stream_options\":{\"include_usage\":true}")), 400, "stream_options");
        // the edges are fine
        HttpResponse<String> ok = post(CMPL, cmpl("\"temperature\":2,\"top_p\":1,\"presence_penalty\":-2,\"frequency_penalty\":2,"
                + "\"logit_bias\":{\"5\":-100,\"6\":100},\"stop\":[\"a\",\"b\",\"c\",\"d\"],\"stream_options\":null"));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    }

    @Test
    void aWrongMethodOnAKnownRouteIs405WithAllow() throws Exception {
        HttpResponse<String> r = send(server, "GET", CHAT, null);
        assertThat(assertError(r, 405, null)).contains("GET").contains(CHAT);
        assertThat(r.headers().firstValue("Allow")).hasValue("POST");
        HttpResponse<String> models = send(server, "POST", "/v1/models", "{}");
        assertError(models, 405, null);
        assertThat(models.headers().firstValue("Allow")).hasValue("GET");
        HttpResponse<String> one = send(server, "DELETE", "/v1/models/" + ID, null);
        assertError(one, 405, null);
        assertThat(one.headers().firstValue("Allow")).hasValue("GET");
        // unknown routes stay 404
        assertThat(assertError(send(server, "GET", "/v1/images/generations", null), 404, null)).contains("unknown route");
        assertError(send(server, "POST", "/v2/chat/completions", "{}"), 404, null);
        // a wrong method is counted under its route in /metrics, not as "other" (the request log
        // that feeds the counter runs as the response completes: poll briefly)
        String pattern = "argon_requests_total\\{[^}]*route=\"/v1/chat/completions\"[^}]*status=\"405\"";
        String metrics = "";
        for (int i = 0; i < 40 && !java.util.regex.Pattern.compile(pattern).matcher(metrics).find(); i++) {
            metrics = send(server, "GET", "/metrics", null).body();
            Thread.sleep(50);
        }
        assertThat(metrics).containsPattern(pattern);
    }

    @Test
    void whileLoadingTheAnswerSaysWhenToRetry() throws Exception {
        OpenAiServer s = new OpenAiServer(config(1, 0)).start();
        try {
            HttpResponse<String> loading = send(s, "POST", CMPL, cmpl("\"temperature\":0"));
            assertError(loading, 503, null);
            assertThat(JSON.readTree(loading.body()).at("/error/code").asText()).isEqualTo("model_loading");
            assertThat(loading.headers().firstValue("Retry-After")).hasValue("1");
        } finally {
            s.stop(Duration.ZERO);
        }
    }

    @Test
    void theBatchingEngineAnswersOverCapacityWithRetryAfter() throws Exception {
        // the real engine's own 503: one slot, no queue, a long stream holds the slot
        ServerConfig one = new ServerConfig("127.0.0.1", 0, 1, 0, 8192, KvCache.Precision.F32, null, ID);
        try (OpenAiServer s = new OpenAiServer(model, template, one).start()) {
            HttpRequest req = HttpRequest.newBuilder(URI.create(s.url() + CMPL)).POST(HttpRequest.BodyPublishers.ofString(
                    "{\"prompt\":\"Once\",\"max_tokens\":8000,\"stream\":true,\"temperature\":1.5,\"top_k\":0,\"min_p\":0}")).build();
            HttpResponse<java.io.InputStream> running = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (java.io.InputStream in = running.body()) {
                assertThat(in.read(new byte[64])).isPositive();
                HttpResponse<String> busy = send(s, "POST", CMPL, cmpl("\"temperature\":0"));
                assertThat(busy.headers().firstValue("Retry-After")).hasValue("1");
                assertThat(JSON.readTree(busy.body()).at("/error/code").asText()).isEqualTo("server_busy");
                assertError(busy, 503, null);
            }
        }
    }

    @Test
    void promptTokensReusedFromTheCacheAreReportedInUsage() throws Exception {
        String body = "{\"messages\":[{\"role\":\"system\",\"content\":\"You tell short stories about a cat named Tom.\"},"
                + "{\"role\":\"user\",\"content\":\"Tell me how Tom found a red ball in the garden\"}],\"max_tokens\":12,\"temperature\":0";
        // first time: possibly nothing cached (another test may have left a different prompt)
        HttpResponse<String> first = post(CHAT, body + "}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        JsonNode u1 = JSON.readTree(first.body()).get("usage");
        assertThat(u1.at("/prompt_tokens_details/cached_tokens").isInt()).isTrue();
        HttpResponse<String> second = post(CHAT, body + "}");
        JsonNode j2 = JSON.readTree(second.body());
        int cached = j2.at("/usage/prompt_tokens_details/cached_tokens").asInt();
        int prompt = j2.at("/usage/prompt_tokens").asInt();
        assertThat(cached).isPositive().isLessThan(prompt); // all but the last prompt token, which starts the answer
        assertThat(cached).isEqualTo(prompt - 1);
        assertThat(j2.at("/choices/0/message/content").asText()).isEqualTo(JSON.readTree(first.body()).at("/choices/0/message/content").asText());

        // streamed, with include_usage: the final usage chunk carries it too
        HttpResponse<String> streamed = post(CHAT, body + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(streamed.statusCode()).isEqualTo(200);
        JsonNode last = null;
        StringBuilder text = new StringBuilder();
        for (String block : streamed.body().split("\n\n")) {
            if (block.startsWith("data: {")) {
                JsonNode e = JSON.readTree(block.substring(6));
                if (e.hasNonNull("usage")) {
                    last = e;
                } else {
                    text.append(e.at("/choices/0/delta/content").asText(""));
                }
            }
        }
        assertThat(last).isNotNull();
        assertThat(last.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(prompt - 1);
        assertThat(text.toString()).isEqualTo(j2.at("/choices/0/message/content").asText());
    }

    @Test
    void aTakenPortIsOneClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();
            OpenAiServer s = new OpenAiServer(new ServerConfig("127.0.0.1", port, 1, 0, 0, KvCache.Precision.F32, null, ID));
            assertThatThrownBy(s::start).isInstanceOf(OpenAiServer.ListenException.class)
                    .hasMessage("port " + port + " on 127.0.0.1 is already in use");
        }
        OpenAiServer bad = new OpenAiServer(new ServerConfig("999.1.1.1", 0, 1, 0, 0, KvCache.Precision.F32, null, ID));
        assertThatThrownBy(bad::start).isInstanceOf(OpenAiServer.ListenException.class)
                .hasMessageContaining("'999.1.1.1'").hasMessageNotContaining("Exception");
    }

    /** Slowloris: 600 connections that stall mid-request; a well-formed request is still answered at once. */
    @Test
    @Timeout(60)
    void halfSentRequestsDoNotBlockOthers() throws Exception {
        List<Socket> slow = new ArrayList<>();
        try {
            // half the headers; and whole headers with half the body (this one blocks a thread reading the body)
            byte[] halfHeaders = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Le".getBytes(StandardCharsets.US_ASCII);
            byte[] halfBody = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prompt\""
                    .getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < 600; i++) {
                Socket sock = new Socket();
                slow.add(sock);
                sock.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
                OutputStream out = sock.getOutputStream();
                out.write(i % 2 == 0 ? halfHeaders : halfBody);
                out.flush();
            }
            long t0 = System.nanoTime();
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/health"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            HttpResponse<String> done = http.send(HttpRequest.newBuilder(URI.create(server.url() + CMPL)).timeout(Duration.ofSeconds(5))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":4,\"temperature\":0}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(8));
        } finally {
            for (Socket sock : slow) {
                try {
                    sock.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }
}
