package dev.argon.server;

import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A fixture model served on a free port with its chat template, two slots, F32 KV cache, and an
 * HTTP/1.1 client for it: for end-to-end tests that need one server for the whole class.
 */
final class ServedModel implements AutoCloseable {
    final LanguageModel model;
    final OpenAiServer server;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * @param fixture a model under {@code ../shared/models}
     * @param queue requests that may wait for a slot
     * @param contextLength tokens per request
     * @param id the model id the server reports
     */
    ServedModel(String fixture, int queue, int contextLength, String id) {
        this(TestFiles.model(fixture), queue, contextLength, id);
    }

    /** @param path a model file (e.g. one a test synthesized) */
    ServedModel(Path path, int queue, int contextLength, String id) {
        this(path, 2, queue, contextLength, id);
    }

    /** @param parallel slots (sequences decoded together by continuous batching) */
    ServedModel(Path path, int parallel, int queue, int contextLength, String id) {
        model = Models.load(path, 2);
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        server = new OpenAiServer(model, template, new ServerConfig("127.0.0.1", 0, parallel, queue, contextLength, KvCache.Precision.F32,
                null, id)).start();
    }

    /** @return the answer to a JSON POST to {@code path} */
    HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        server.stop(Duration.ofSeconds(5));
        model.close();
    }
}
