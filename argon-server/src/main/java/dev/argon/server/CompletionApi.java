package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.TokenLogprobs;
import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The server's OpenAI completion mapping without HTTP, for offline batch jobs ({@code argon batch},
 * Spark): a request body for {@value #COMPLETIONS} or {@value #CHAT_COMPLETIONS} is parsed by the
 * same {@link RequestParser} the routes use, run on an {@link Engine}, and answered with the same
 * response body ({@link Responses}) a non-streamed HTTP request gets. Errors are the same
 * {@link ApiException}s (status, type, param, code), so a batch row fails exactly where the
 * server would answer 4xx/5xx.
 *
 * <p>Thread-safe: many rows may be parsed and run at once (the engine batches them).
 */
public final class CompletionApi {
    /** The text completion route. */
    public static final String COMPLETIONS = "/v1/completions";
    /** The chat completion route. */
    public static final String CHAT_COMPLETIONS = "/v1/chat/completions";

    /** Most choices ({@code n}) one request may ask for. */
    public static final int MAX_CHOICES = RequestParser.MAX_CHOICES;

    private final Tokenizer tokenizer;
    private final String modelId;
    private final RequestParser parser;

    /**
     * @param template the chat template for {@value #CHAT_COMPLETIONS}
     * @param modelId the model's id: a body's {@code model} must be absent, this id or its file name
     * @param contextLength tokens one request may hold (prompt and answer)
     */
    public CompletionApi(Tokenizer tokenizer, ChatTemplate template, String modelId, int contextLength) {
        this.tokenizer = tokenizer;
        this.modelId = modelId;
        this.parser = new RequestParser(tokenizer, template, modelId, contextLength);
    }

    /**
     * Gives bodies without {@code speculative.*} fields the speculative decoding {@code defaults} (as {@code serve --spec} does).
     *
     * @return this
     */
    public CompletionApi withSpeculation(dev.argon.generate.SpeculationParams defaults) {
        parser.withSpeculation(defaults);
        return this;
    }

    /** A parsed, validated and tokenized request, ready for {@link #run}. */
    public static final class Prepared {
        private final CompletionRequest request;

        private Prepared(CompletionRequest request) {
            this.request = request;
        }

        /** @return whether it is a chat completion */
        public boolean chat() {
            return request.chat();
        }

        /** @return the prompt's token ids */
        public int[] promptIds() {
            return request.promptIds().clone();
        }
    }

    /**
     * Parses a request body for a route, as the server's route of that name does; streaming is
     * refused (a batch answer is one body).
     *
     * @param url {@value #COMPLETIONS} or {@value #CHAT_COMPLETIONS}
     * @throws ApiException 400 for an unknown url, a body that is not an object, or any invalid
     *     field (the server's message and param); 404 {@code model_not_found} for another model
     */
    public Prepared parse(String url, JsonNode body) {
        boolean chat;
        if (CHAT_COMPLETIONS.equals(url)) {
            chat = true;
        } else if (COMPLETIONS.equals(url)) {
            chat = false;
        } else {
            throw new ApiException(400, "invalid_request_error", "url", "invalid_url", "url is "
                    + (url == null ? "missing" : "'" + url + "'") + "; expected " + CHAT_COMPLETIONS + " or " + COMPLETIONS);
        }
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("body", "'body' must be a JSON object (the request body of " + url + ")");
        }
        CompletionRequest req;
        try {
            req = parser.parse(body, chat);
        } catch (ApiException e) {
            throw offline(e);
        }
        if (req.stream()) {
            throw ApiException.badRequest("stream", "'stream' is not supported in a batch: each answer is written whole");
        }
        return new Prepared(req);
    }

    /**
     * A text completion of a ready-made request (the {@code generate} command's semantics: its
     * prompt, special-token parsing, stop strings and limit as given).
     *
     * @throws ApiException 400 for an invalid parameter or a prompt that does not fit the context
     */
    public Prepared completion(GenerationRequest generation) {
        try {
            generation.validate();
        } catch (ArgonException e) {
            throw RequestParser.coreError(e);
        }
        int[] ids;
        try {
            ids = parser.tokenize(generation.prompt(), "prompt");
        } catch (ApiException e) {
            throw offline(e);
        }
        return new Prepared(new CompletionRequest(false, false, false, generation, ids, 1, null));
    }

    /**
     * Runs a prepared request to its end on {@code engine}, blocking the calling thread (its
     * {@code n} choices run side by side).
     *
     * @param cancelled polled while waiting and between steps; true ends the generations early
     * @return the response body the server would send for it ({@code chat.completion} or
     *     {@code text_completion} object)
     * @throws ApiException as the engine's {@link Engine#runAll} (503 over capacity, 500 model failure)
     */
    public ObjectNode run(Prepared prepared, Engine engine, BooleanSupplier cancelled) {
        CompletionRequest req = prepared.request;
        boolean wantLogprobs = req.generation().logprobs() >= 0;
        List<List<TokenLogprobs>> logprobs = new ArrayList<>();
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < req.n(); i++) {
            logprobs.add(Collections.synchronizedList(new ArrayList<>()));
            reqs.add(req.choice(i));
        }
        List<GenerationResult> results = engine.runAll(reqs, req.promptIds(), i -> new GenerationListener() {
            @Override
            public void onText(String text) {
            }

            @Override
            public void onToken(int token, TokenLogprobs lp) {
                if (lp != null) {
                    logprobs.get(i).add(lp);
                }
            }
        }, cancelled);
        return new Responses(req.chat(), false, modelId, tokenizer)
                .withTools(req.tools() != null && req.tools().callsPossible() ? req.tools() : null)
                .completion(results, wantLogprobs ? logprobs : null);
    }

    /**
     * The generations of a prepared request, for an engine that runs them elsewhere: its
     * {@code n} choices (choice {@code i} seeded {@code seed + i}, as the server does).
     */
    public List<GenerationRequest> generations(Prepared prepared) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < prepared.request.n(); i++) {
            reqs.add(prepared.request.choice(i));
        }
        return reqs;
    }

    /**
     * The response body for results computed elsewhere ({@link #generations}), as {@link #run}
     * would answer without log-probabilities.
     *
     * @param results one per choice, in order
     */
    public ObjectNode body(Prepared prepared, List<GenerationResult> results) {
        CompletionRequest req = prepared.request;
        return new Responses(req.chat(), false, modelId, tokenizer)
                .withTools(req.tools() != null && req.tools().callsPossible() ? req.tools() : null)
                .completion(results, null);
    }

    /** The parser's error in words for an offline job: its context is the job's {@code -c}, not a server's. */
    private static ApiException offline(ApiException e) {
        if (!"context_length_exceeded".equals(e.code())) {
            return e;
        }
        String message = e.getMessage().replace("this server's context", "the context")
                .replace("start the server with a larger -c", "use a larger -c");
        return new ApiException(e.status(), e.type(), e.param(), e.code(), message);
    }

    /** @return OpenAI's error body {@code {"error": {"message", "type", "param", "code"}}} for {@code e} */
    public static ObjectNode errorBody(ApiException e) {
        return Responses.error(e);
    }
}
