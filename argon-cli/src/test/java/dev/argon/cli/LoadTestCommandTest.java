package dev.argon.cli;

import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.server.OpenAiServer;
import dev.argon.server.ServerConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoadTestCommandTest {
    private static OpenAiServer serve(LanguageModel model, int parallel, int queue) {
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        return new OpenAiServer(model, template, new ServerConfig("127.0.0.1", 0, parallel, queue, 128,
                KvCache.Precision.F32, null, "stories260K")).start();
    }

    @Test
    void everyStreamEndsWithDoneAndTokensAreCounted() {
        try (LanguageModel model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2)) {
            OpenAiServer server = serve(model, 4, 64);
            try {
                CliRun r = CliRun.of("loadtest", "--url", server.url(), "--clients", "8", "--requests", "3", "-n", "8", "--json");
                assertThat(r.exitCode()).as(r.err()).isZero();
                // the 5 warm-up requests per client are sent but not counted
                assertThat(r.out()).contains("\"ok\":24", "\"errors\":0", "\"warmup_requests_per_client\":5",
                        "\"warmup_errors\":0");
                // stories260K rarely ends a story within 8 tokens; every request asked for 8
                assertThat(r.out()).containsPattern("\"completion_tokens\":(1[6-9][0-9]|2[0-9]{2})\\b");
            } finally {
                server.stop(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void sseCommentLinesAreSkipped() throws Exception {
        LoadTest.SseCheck check = new LoadTest.SseCheck(System.nanoTime());
        check.status = 200;
        for (String line : new String[]{": ping", "", "data: {\"choices\":[{\"text\":\"Hi\"}]}", "", ": ping", "",
                "data: {\"choices\":[],\"usage\":{\"completion_tokens\":1}}", "", "data: [DONE]", ""}) {
            check.onNext(line);
        }
        assertThat(check.result(200)[0]).isEqualTo(1);
        LoadTest.SseCheck bad = new LoadTest.SseCheck(System.nanoTime());
        bad.status = 200;
        bad.onNext("event without data prefix");
        assertThatThrownBy(() -> bad.result(200)).hasMessageContaining("not an SSE data line");
    }

    @Test
    void refusedRequestsFailTheRun() {
        try (LanguageModel model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2)) {
            OpenAiServer server = serve(model, 1, 0);
            try {
                CliRun r = CliRun.of("loadtest", "--url", server.url(), "--clients", "6", "--requests", "2", "-n", "64");
                assertThat(r.exitCode()).isEqualTo(1);
                assertThat(r.out()).contains("failed").contains("HTTP 503");
            } finally {
                server.stop(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void nothingListeningIsNamedAsSuch() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there during the run
        }
        CliRun r = CliRun.of("loadtest", "--url", "http://127.0.0.1:" + port, "--clients", "1", "--requests", "1", "-n", "4");
        // one probe before the test: a usage error, not a report of every request failing
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("argon: error: cannot reach a server at http://127.0.0.1:" + port).contains("(connection refused); is 'argon serve' running there?");
    }

    @Test
    void eachBadCountNamesItsOption() {
        for (String[] args : new String[][]{{"--clients", "0"}, {"--requests", "0"}, {"-n", "-1"}, {"--timeout", "0"},
                {"--warmup", "-1"}}) {
            CliRun r = CliRun.of("loadtest", args[0], args[1]);
            assertThat(r.exitCode()).as(args[0]).isEqualTo(2);
            assertThat(r.err()).as(args[0]).contains(args[0].equals("-n") ? "--max-tokens (-n) must be at least 1, got -1"
                    : args[0].equals("--warmup") ? "--warmup must be at least 0, got -1"
                    : args[0] + " must be at least 1, got 0");
        }
    }

    @Test
    void badUrlIsAUsageError() {
        CliRun r = CliRun.of("loadtest", "--url", "localhost:8080");
        assertThat(r.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(r.err()).contains("--url localhost:8080 must look like http://HOST:PORT");
        r = CliRun.of("loadtest", "--url", "http://127.0.0.1:99999");
        assertThat(r.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(r.err()).contains("--url http://127.0.0.1:99999 must look like http://HOST:PORT");
    }
}
