package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.TokenLogprobs;
import dev.argon.tokenizer.Tokenizer;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * The routes that need the loaded model: {@code /v1/completions}, {@code /v1/chat/completions}
 * (plain JSON or Server-Sent Events), {@code /tokenize} and {@code /detokenize}. Generations run
 * on the {@link Engine}; these routes parse, call it and write the answer.
 */
final class ModelRoutes {
    private final Tokenizer tokenizer;
    private final Engine engine;
    private final String modelId;
    private final ChatTemplate template;
    private final RequestParser parser;
    private final ServerMetrics metrics;
    private final BooleanSupplier aborting;
    private final AtomicInteger cancelled;

    /**
     * @param aborting true once running generations must stop (the server's grace period is over)
     * @param cancelled counts generation requests whose client went away
     */
    ModelRoutes(Tokenizer tokenizer, ChatTemplate template, Engine engine, ServerConfig config, ServerMetrics metrics,
                BooleanSupplier aborting, AtomicInteger cancelled) {
        this.tokenizer = tokenizer;
        this.engine = engine;
        this.modelId = config.modelId();
        this.template = template;
        this.parser = new RequestParser(tokenizer, template, config.modelNames(), engine.contextLength(), config.defaultSampling())
                .withSpeculation(engine.speculation());
        this.metrics = metrics;
        this.aborting = aborting;
        this.cancelled = cancelled;
    }

    /** @return the request parser (model names, template, default sampling) */
    RequestParser parser() {
        return parser;
    }

    /** @return the chat template the chat routes render with */
    ChatTemplate template() {
        return template;
    }

    /** @return the tokenizer */
    Tokenizer tokenizer() {
        return tokenizer;
    }

    /** @return the engine the generations run on */
    Engine engine() {
        return engine;
    }

    /**
     * One completion (plain or chat), streamed or not, with {@code n} choices: each choice is its
     * own generation (they run side by side, so the engine batches them) and streamed chunks
     * carry their choice's index.
     */
    void completion(Context ctx, boolean chat) {
        long start = System.nanoTime();
        CompletionRequest req = parser.parse(Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES), chat);
        Responses responses = new Responses(chat, req.stream(), modelId, tokenizer).withUsageInChunks(req.includeUsage())
                .withTools(req.tools() != null && req.tools().callsPossible() ? req.tools() : null);
        boolean wantLogprobs = req.generation().logprobs() >= 0;
        int n = req.n();
        if (n > engine.capacity()) {
            throw ApiException.badRequest("n", "'n' is " + n + " but this server runs or queues at most " + engine.capacity()
                    + " generations at once (--parallel + --queue)");
        }
        if (!req.stream()) {
            List<List<TokenLogprobs>> logprobs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                logprobs.add(Collections.synchronizedList(new ArrayList<>()));
            }
            // the client may leave while its answer is generated: the connection is probed on the
            // request's threads after each step's tokens (and while it waits), and the scheduler
            // sees the result before its next step
            ConnectionProbe client = ConnectionProbe.of(ctx);
            List<GenerationResult> results = runChoices(req, i -> new GenerationListener() {
                @Override
                public void onText(String text) {
                }

                @Override
                public void onToken(int token, TokenLogprobs lp) {
                    if (lp != null) {
                        logprobs.get(i).add(lp);
                    }
                }

                @Override
                public void onPause() {
                    client.gone();
                }

                @Override
                public boolean stillWanted() {
                    return !client.gone();
                }
            }, () -> client.knownGone() || aborting.getAsBoolean());
            for (GenerationResult r : results) {
                metrics.generation(r, System.nanoTime() - start);
            }
            ctx.attribute(OpenAiServer.TOKENS_ATTRIBUTE, tokens(results));
            if (client.knownGone()) {
                cancelled.incrementAndGet();
                return; // the client went away: nobody to answer
            }
            if (client.readAhead()) {
                ctx.header("Connection", "close");
            }
            Json.send(ctx, 200, responses.completion(results, wantLogprobs ? logprobs : null));
            return;
        }
        SseStream sse = new SseStream(ctx);
        ChoiceStream[] choices = new ChoiceStream[n];
        for (int i = 0; i < n; i++) {
            choices[i] = new ChoiceStream(i, sse, responses, chat, wantLogprobs);
        }
        List<GenerationResult> results;
        try {
            results = runChoices(req, i -> choices[i], () -> sse.gone() || aborting.getAsBoolean());
        } catch (RuntimeException e) {
            if (!sse.started()) {
                throw e; // nothing sent yet: an ordinary JSON error
            }
            sse.send(Responses.error(e instanceof ApiException a ? a
                    : new ApiException(500, "server_error", null, null, "internal error: " + e.getClass().getSimpleName())));
            return;
        }
        for (GenerationResult r : results) {
            metrics.generation(r, System.nanoTime() - start);
        }
        ctx.attribute(OpenAiServer.TOKENS_ATTRIBUTE, tokens(results));
        if (sse.gone()) {
            cancelled.incrementAndGet();
            return; // the client went away: nothing more to say
        }
        for (int i = 0; i < n; i++) {
            choices[i].finish(results.get(i).finishReason());
        }
        if (req.includeUsage()) {
            sse.send(responses.usageChunk(results));
        }
        sse.done();
    }

    /** @return prompt plus generated tokens of {@code results} (the prompt counted once per choice), for the access log */
    static long tokens(List<GenerationResult> results) {
        long n = 0;
        for (GenerationResult r : results) {
            n += r.promptTokens().length + r.generatedTokens().length;
        }
        return n;
    }

    /** Runs the request's choices side by side (the engine admits them as a unit: all or none). */
    private List<GenerationResult> runChoices(CompletionRequest req, IntFunction<GenerationListener> listeners,
                                              BooleanSupplier cancelled) {
        List<GenerationRequest> reqs = new ArrayList<>(req.n());
        for (int i = 0; i < req.n(); i++) {
            reqs.add(req.choice(i));
        }
        return engine.runAll(reqs, req.promptIds(), listeners, cancelled);
    }

    /**
     * The streamed chunks of one choice: the role chunk first (chat), then a chunk per piece of
     * text carrying the log-probabilities of the tokens behind it, and a last chunk with the
     * finish reason (and the log-probabilities of tokens that produced no text).
     */
    private static final class ChoiceStream implements GenerationListener {
        private final int index;
        private final SseStream sse;
        private final Responses responses;
        private final boolean chat;
        private final List<TokenLogprobs> pending;
        private boolean roleSent;
        private int offset;
        private final StringBuilder held = new StringBuilder();

        ChoiceStream(int index, SseStream sse, Responses responses, boolean chat, boolean logprobs) {
            this.index = index;
            this.sse = sse;
            this.responses = responses;
            this.chat = chat;
            this.pending = logprobs ? new ArrayList<>() : null;
        }

        @Override
        public void onToken(int token, TokenLogprobs lp) {
            if (pending != null && lp != null) {
                pending.add(lp);
            }
        }

        @Override
        public void onText(String text) {
            role();
            if (responses.tools() != null) {
                held.append(text); // an answer that may be a tool call is sent whole at the end
                return;
            }
            sse.buffer(responses.chunk(index, text, false, null, drain(), offset));
            offset += text.length();
        }

        @Override
        public void onPause() {
            sse.flush();
        }

        /** While the request waits for a slot or its prompt is processed: a comment line finds out whether the client left. */
        @Override
        public boolean stillWanted() {
            return sse.ping();
        }

        /** The last chunk; after a stop string the held-back tokens' log-probabilities are dropped (their text was cut). */
        void finish(FinishReason reason) {
            role();
            if (reason == FinishReason.STOP_STRING && pending != null) {
                pending.clear();
            }
            if (responses.tools() != null) {
                ToolCalls.Parsed parsed = responses.tools().parseOutput(held.toString());
                if (!parsed.calls().isEmpty()) {
                    sse.buffer(responses.toolCallsChunk(index, parsed.content(), parsed.calls()));
                    sse.send(responses.chunk(index, null, false, Responses.finishName(reason, true), drain(), offset));
                    return;
                }
                if (!held.isEmpty()) {
                    sse.buffer(responses.chunk(index, held.toString(), false, null, drain(), offset));
                }
            }
            sse.send(responses.chunk(index, chat ? null : "", false, reason.openAiName(), drain(), offset));
        }

        private void role() {
            if (chat && !roleSent) {
                roleSent = true;
                sse.buffer(responses.chunk(index, "", true, null, null, 0));
            }
        }

        private List<TokenLogprobs> drain() {
            if (pending == null) {
                return null;
            }
            List<TokenLogprobs> out = List.copyOf(pending);
            pending.clear();
            return out;
        }
    }

    /** {@code {"content", "add_special", "parse_special"}} → {@code {"tokens"}}. */
    void tokenize(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        String content = Json.string(body, "content", null);
        if (content == null) {
            throw ApiException.badRequest("content", "'content' (the text to tokenize) is required");
        }
        int[] ids = tokenizer.encode(content, Json.bool(body, "add_special", false), Json.bool(body, "parse_special", true));
        ObjectNode out = Json.object();
        ArrayNode arr = out.putArray("tokens");
        for (int id : ids) {
            arr.add(id);
        }
        Json.send(ctx, 200, out);
    }

    /**
     * {@code {"messages"}} → {@code {"prompt"}}: the chat template's rendering of the messages,
     * exactly the text a chat completion tokenizes (llama.cpp's route).
     */
    void applyTemplate(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        RequestParser.checkModel(body, parser.modelNames());
        Json.send(ctx, 200, Json.object().put("prompt", parser.chatPrompt(body, parser.tools(body)).text()));
    }

    /**
     * {@code {"tokens"}} → {@code {"content"}}, decoded as a text of its own: control tokens as
     * their text ({@code <s>}), as llama.cpp's route and Hugging Face's {@code decode} show them,
     * and the space prefix of a first word piece dropped ({@link Tokenizer#startOfText}).
     */
    void detokenize(Context ctx) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        JsonNode tokens = body.get("tokens");
        if (tokens == null || !tokens.isArray()) {
            throw ApiException.badRequest("tokens", "'tokens' must be an array of token ids");
        }
        int vocab = tokenizer.vocabSize();
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0 || t.intValue() >= vocab) {
                throw ApiException.badRequest("tokens", "tokens[" + i + "] = " + t + " is not a token id (0.." + (vocab - 1) + ")");
            }
            ids[i] = t.intValue();
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            bytes.writeBytes(tokenizer.isControl(id) ? tokenizer.piece(id).getBytes(java.nio.charset.StandardCharsets.UTF_8)
                    : tokenizer.tokenBytes(id));
        }
        String text = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        boolean wordFirst = ids.length > 0 && !tokenizer.isControl(ids[0]);
        Json.send(ctx, 200, Json.object().put("content", wordFirst ? tokenizer.startOfText(text) : text));
    }

    /** {@code POST /watermark/detect}: see {@link WatermarkFields}. */
    void watermarkDetect(Context ctx) {
        WatermarkFields.detect(ctx, tokenizer);
    }
}
