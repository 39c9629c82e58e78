package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;
import dev.argon.embed.Embedder;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.rerank.AttentionReranker;
import io.javalin.http.Context;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The routes that use the model as a tool rather than to generate: {@code POST /v1/rerank}
 * (llama.cpp's, Jina's and Cohere's shape; attention-based re-ranking, {@link AttentionReranker})
 * and {@code POST /v1/embeddings} (OpenAI's shape; {@link Embedder}). They run on the request's
 * thread beside the batching engine (the model's thread pool takes turns), one such request at a
 * time.
 */
final class ToolRoutes {
    /** Most documents one re-rank request may hold. */
    static final int MAX_DOCUMENTS = 1000;
    /** Most inputs one embeddings request may hold. */
    static final int MAX_INPUTS = 2048;

    private final LanguageModel model;
    private final String modelId;
    private final int contextLength;
    private final ReentrantLock oneAtATime = new ReentrantLock(true);

    /** @param contextLength the server's context per request (-c): the longest prompt a request may build */
    ToolRoutes(LanguageModel model, String modelId, int contextLength) {
        this.model = model;
        this.modelId = modelId;
        this.contextLength = contextLength;
    }

    /**
     * {@code {"query", "documents": [string | {"text"}], "top_n", "return_documents"}} →
     * {@code {"model", "object": "list", "results": [{"index", "relevance_score", "document"?}], "usage"}},
     * best first.
     */
    void rerank(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        String query = Json.string(body, "query", null);
        if (query == null || query.isBlank()) {
            throw ApiException.badRequest("query", "'query' (a non-empty string) is required");
        }
        JsonNode docs = body.get("documents");
        if (docs == null || !docs.isArray() || docs.isEmpty()) {
            throw ApiException.badRequest("documents", "'documents' must be a non-empty array of strings");
        }
        if (docs.size() > MAX_DOCUMENTS) {
            throw ApiException.badRequest("documents", "'documents' has " + docs.size() + " entries; at most " + MAX_DOCUMENTS);
        }
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            JsonNode d = docs.get(i);
            if (d.isTextual()) {
                texts.add(d.asText());
            } else if (d.isObject() && d.has("text") && d.get("text").isTextual()) {
                texts.add(d.get("text").asText());
            } else {
                throw ApiException.badRequest("documents", "'documents[" + i + "]' must be a string (or an object with a string 'text')");
            }
        }
        Long topN = Json.integer(body, "top_n", 1, Integer.MAX_VALUE);
        boolean returnDocuments = Json.bool(body, "return_documents", false);
        AttentionReranker r;
        try {
            r = new AttentionReranker(model, KvCache.Precision.F16, 64);
        } catch (ArgonException e) {
            throw ApiException.badRequest(null, e.getMessage());
        }
        List<AttentionReranker.Scored> ranked;
        int tokens;
        oneAtATime.lock();
        try {
            AttentionReranker.Layout layout = r.layout(query, texts);
            tokens = layout.prefix().length + layout.query().length;
            if (layout.length() > contextLength) {
                throw ApiException.badRequest("documents", "the documents and the query take " + layout.length()
                        + " tokens; the server's context (-c) is " + contextLength);
            }
            ranked = r.rank(query, texts, topN == null ? 0 : topN.intValue());
        } catch (ArgonException e) {
            throw ApiException.badRequest(null, e.getMessage());
        } finally {
            oneAtATime.unlock();
        }
        ObjectNode out = Json.object();
        out.put("model", modelId);
        out.put("object", "list");
        ArrayNode results = out.putArray("results");
        for (AttentionReranker.Scored s : ranked) {
            ObjectNode o = results.addObject();
            o.put("index", s.index());
            o.put("relevance_score", s.score());
            if (returnDocuments) {
                o.putObject("document").put("text", texts.get(s.index()));
            }
        }
        usage(out, tokens);
        Json.send(ctx, 200, out);
    }

    /**
     * {@code {"input": string | [string], "encoding_format": "float" | "base64", "pooling"}} →
     * {@code {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}}.
     */
    void embeddings(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        JsonNode input = body.get("input");
        List<String> inputs = new ArrayList<>();
        if (input != null && input.isTextual()) {
            inputs.add(input.asText());
        } else if (input != null && input.isArray() && !input.isEmpty()) {
            for (int i = 0; i < input.size(); i++) {
                if (!input.get(i).isTextual()) {
                    throw ApiException.badRequest("input", "'input[" + i + "]' must be a string (token arrays are not supported)");
                }
                inputs.add(input.get(i).asText());
            }
        } else {
            throw ApiException.badRequest("input", "'input' must be a string or a non-empty array of strings");
        }
        if (inputs.size() > MAX_INPUTS) {
            throw ApiException.badRequest("input", "'input' has " + inputs.size() + " entries; at most " + MAX_INPUTS);
        }
        String format = Json.string(body, "encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiException.badRequest("encoding_format", "'encoding_format' is '" + format + "'; expected float or base64");
        }
        if (body.has("dimensions")) {
            throw ApiException.badRequest("dimensions", "'dimensions' is not supported: the embedding has the model's width, "
                    + model.config().dim());
        }
        Embedder.Pooling pooling;
        try {
            String name = Json.string(body, "pooling", null);
            pooling = name == null ? null : Embedder.Pooling.parse(name); // null: the model's own (bert.pooling_type)
        } catch (ArgonException e) {
            throw ApiException.badRequest("pooling", e.getMessage());
        }
        List<Embedder.Embedding> embeddings = embedAll(inputs, pooling);
        ObjectNode out = Json.object();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        int tokens = 0;
        for (int i = 0; i < embeddings.size(); i++) {
            Embedder.Embedding e = embeddings.get(i);
            tokens += e.tokens();
            ObjectNode o = data.addObject();
            o.put("object", "embedding");
            o.put("index", i);
            if (format.equals("base64")) {
                ByteBuffer b = ByteBuffer.allocate(4 * e.vector().length).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : e.vector()) {
                    b.putFloat(v);
                }
                o.put("embedding", Base64.getEncoder().encodeToString(b.array()));
            } else {
                ArrayNode arr = o.putArray("embedding");
                for (float v : e.vector()) {
                    arr.add(v);
                }
            }
        }
        out.put("model", modelId);
        usage(out, tokens);
        Json.send(ctx, 200, out);
    }

    /** Embeds each input in turn (one request at a time); 400 naming {@code input[i]} for an input that does not fit. */
    private List<Embedder.Embedding> embedAll(List<String> inputs, Embedder.Pooling pooling) {
        Embedder embedder;
        try {
            embedder = new Embedder(model, pooling, 64);
        } catch (ArgonException e) {
            throw ApiException.badRequest("pooling", e.getMessage());
        }
        List<Embedder.Embedding> out = new ArrayList<>();
        oneAtATime.lock();
        try {
            for (int i = 0; i < inputs.size(); i++) {
                int n = model.tokenizer().encode(inputs.get(i), true, false).length;
                if (n > contextLength) {
                    throw ApiException.badRequest("input", (inputs.size() > 1 ? "input[" + i + "]: " : "") + "the input has " + n
                            + " tokens; the server's context (-c) is " + contextLength);
                }
                try {
                    out.add(embedder.embed(inputs.get(i)));
                } catch (ArgonException ex) {
                    throw ApiException.badRequest("input", (inputs.size() > 1 ? "input[" + i + "]: " : "") + ex.getMessage());
                }
            }
        } finally {
            oneAtATime.unlock();
        }
        return out;
    }

    /**
     * Ollama's {@code POST /api/embed}: {@code {"model", "input": string | [string]}} →
     * {@code {"model", "embeddings": [[...]], "total_duration", "load_duration", "prompt_eval_count"}}
     * (mean pooling, L2-normalized, as Ollama's embeddings are). Errors are 400s naming the field.
     */
    ObjectNode ollamaEmbed(Context ctx) {
        long start = System.nanoTime();
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        JsonNode input = body.get("input");
        List<String> inputs = new ArrayList<>();
        if (input != null && input.isTextual()) {
            inputs.add(input.asText());
        } else if (input != null && input.isArray() && !input.isEmpty() && input.size() <= MAX_INPUTS) {
            for (int i = 0; i < input.size(); i++) {
                if (!input.get(i).isTextual()) {
                    throw ApiException.badRequest("input", "'input[" + i + "]' must be a string");
                }
                inputs.add(input.get(i).asText());
            }
        } else {
            throw ApiException.badRequest("input", "'input' must be a string or an array of 1.." + MAX_INPUTS + " strings");
        }
        List<Embedder.Embedding> embeddings = embedAll(inputs, null);
        ObjectNode out = Json.object();
        out.put("model", Json.string(body, "model", modelId));
        ArrayNode all = out.putArray("embeddings");
        int tokens = 0;
        for (Embedder.Embedding e : embeddings) {
            ArrayNode arr = all.addArray();
            for (float v : e.vector()) {
                arr.add(v);
            }
            tokens += e.tokens();
        }
        out.put("total_duration", System.nanoTime() - start);
        out.put("load_duration", 0);
        out.put("prompt_eval_count", tokens);
        return out;
    }

    private static void usage(ObjectNode out, int tokens) {
        ObjectNode u = out.putObject("usage");
        u.put("prompt_tokens", tokens);
        u.put("total_tokens", tokens);
    }
}
