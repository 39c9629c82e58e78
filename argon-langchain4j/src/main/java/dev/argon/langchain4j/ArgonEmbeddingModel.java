package dev.argon.langchain4j;

import dev.argon.chat.ArgonLocalModel;
import dev.argon.embed.Embedder;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;

import java.util.ArrayList;
import java.util.List;

/**
 * LangChain4j's {@link EmbeddingModel} over a model in this JVM (no HTTP): each text's final hidden
 * states pooled (by default as the model asks: {@link Embedder#defaultPooling}, as {@code argon serve}'s
 * {@code /v1/embeddings}) and L2-normalized, so the vectors equal the server's. Works with decoders
 * and BERT encoders. Thread-safe: each text runs in its own KV cache (or encoder buffers).
 */
public final class ArgonEmbeddingModel implements EmbeddingModel {
    private final ArgonLocalModel local;
    private final Embedder.Pooling pooling;

    /** The model's own pooling ({@link Embedder#defaultPooling}: a BERT file's {@code bert.pooling_type}, else mean). */
    public ArgonEmbeddingModel(ArgonLocalModel local) {
        this(local, null);
    }

    /** @param pooling how the hidden states of a text become one vector, or null for the model's own */
    public ArgonEmbeddingModel(ArgonLocalModel local, Embedder.Pooling pooling) {
        this.local = local;
        this.pooling = pooling;
    }

    /**
     * @return one vector of {@link #dimension()} floats per segment, and the tokens read
     * @throws dev.argon.ArgonException if a text does not fit the model's context
     */
    @Override
    public Response<List<Embedding>> embedAll(List<TextSegment> segments) {
        Embedder embedder = new Embedder(local.model(), pooling, 64);
        List<Embedding> out = new ArrayList<>(segments.size());
        int tokens = 0;
        for (TextSegment s : segments) {
            Embedder.Embedding e = embedder.embed(s.text());
            out.add(Embedding.from(e.vector()));
            tokens += e.tokens();
        }
        return Response.from(out, new TokenUsage(tokens));
    }

    /** @return the model's hidden width */
    @Override
    public int dimension() {
        return local.model().config().dim();
    }
}
