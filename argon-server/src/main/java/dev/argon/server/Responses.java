package dev.argon.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.TokenLogprobs;
import dev.argon.sampling.TopLogprob;
import dev.argon.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The JSON objects of OpenAI responses for one completion: the whole answer (one or {@code n}
 * choices), streamed chunks, usage, log-probabilities (chat's {@code logprobs.content} list, the
 * legacy completions' {@code tokens}/{@code token_logprobs}/{@code top_logprobs}/{@code text_offset}
 * arrays) and the error object.
 */
final class Responses {
    private final String id;
    private final String object;
    private final long created = System.currentTimeMillis() / 1000;
    private final boolean chat;
    private final String modelId;
    private final Tokenizer tokenizer;
    private boolean usageInChunks;

    /**
     * @param chat chat completion (else text completion)
     * @param stream whether the answer is streamed (chunk objects)
     * @param tokenizer renders tokens in log-probability entries
     */
    Responses(boolean chat, boolean stream, String modelId, Tokenizer tokenizer) {
        byte[] random = new byte[12];
        ThreadLocalRandom.current().nextBytes(random);
        this.id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(random);
        this.object = chat ? (stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";
        this.chat = chat;
        this.modelId = modelId;
        this.tokenizer = tokenizer;
    }

    /**
     * @param results one finished generation per choice
     * @param logprobs per choice the log-probabilities of its tokens, or null when not asked for
     * @return the whole (non-streamed) answer
     */
    ObjectNode completion(List<GenerationResult> results, List<List<TokenLogprobs>> logprobs) {
        ObjectNode out = header();
        ArrayNode choices = out.putArray("choices");
        for (int i = 0; i < results.size(); i++) {
            GenerationResult r = results.get(i);
            ObjectNode choice = choices.addObject();
            choice.put("index", i);
            ToolCalls.Parsed parsed = chat && tools != null ? tools.parseOutput(r.text()) : null;
            if (parsed != null && !parsed.calls().isEmpty()) {
                ObjectNode msg = choice.putObject("message");
                msg.put("role", "assistant").put("content", parsed.content());
                msg.putNull("refusal");
                msg.set("tool_calls", parsed.calls());
            } else if (chat) {
                ObjectNode msg = choice.putObject("message");
                msg.put("role", "assistant").put("content", r.text());
                msg.putNull("refusal");
            } else {
                choice.put("text", r.text());
            }
            choice.set("logprobs", logprobs == null ? NullNode.getInstance()
                    : logprobs(r.finishReason() == FinishReason.STOP_STRING ? within(logprobs.get(i), r.text()) : logprobs.get(i), 0));
            choice.put("finish_reason", finishName(r.finishReason(), parsed != null && !parsed.calls().isEmpty()));
        }
        out.set("usage", usage(results));
        return out;
    }

    /**
     * @param index the choice the chunk belongs to
     * @param text a piece of the answer, or null for none (chat only)
     * @param role whether the chunk announces the assistant role (the first chat chunk)
     * @param finish the finish reason, or null while generating
     * @param logprobs log-probabilities of the tokens behind this piece, or null when not asked for
     * @param textOffset characters of this choice's text before this piece (completions' {@code text_offset})
     * @return one streamed chunk
     */
    /**
     * Streamed chunks carry {@code "usage": null} until the usage chunk, as OpenAI sends them when
     * {@code stream_options.include_usage} is set.
     *
     * @return this
     */
    Responses withUsageInChunks(boolean on) {
        this.usageInChunks = on;
        return this;
    }

    private ToolCalls tools;

    /**
     * Parses chat answers for tool calls ({@link ToolCalls#parseOutput}): an answer holding calls
     * gets {@code tool_calls} and finish reason {@code tool_calls}.
     *
     * @param t the request's tool calling, or null for none
     * @return this
     */
    Responses withTools(ToolCalls t) {
        this.tools = t;
        return this;
    }

    /** @return the request's tool calling, or null */
    ToolCalls tools() {
        return tools;
    }

    /** @return OpenAI's finish reason: {@code tool_calls} when the answer ended normally with calls */
    static String finishName(FinishReason r, boolean calls) {
        boolean ended = r == FinishReason.END_OF_SEQUENCE || r == FinishReason.STOP_STRING || r == FinishReason.CONSTRAINT_DEAD_END;
        return calls && ended ? "tool_calls" : r.openAiName();
    }

    /**
     * A streamed chunk carrying whole tool calls as OpenAI's {@code delta.tool_calls} (each with
     * its {@code index}, {@code id}, {@code type} and the complete {@code function}).
     */
    ObjectNode toolCallsChunk(int index, String content, com.fasterxml.jackson.databind.node.ArrayNode calls) {
        ObjectNode out = header();
        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", index);
        ObjectNode delta = choice.putObject("delta");
        if (content != null) {
            delta.put("content", content);
        }
        com.fasterxml.jackson.databind.node.ArrayNode list = delta.putArray("tool_calls");
        for (int k = 0; k < calls.size(); k++) {
            ObjectNode c = list.addObject();
            c.put("index", k);
            c.setAll((ObjectNode) calls.get(k));
        }
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (usageInChunks) {
            out.putNull("usage");
        }
        return out;
    }

    ObjectNode chunk(int index, String text, boolean role, String finish, List<TokenLogprobs> logprobs, int textOffset) {
        ObjectNode out = header();
        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", index);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (role) {
                delta.put("role", "assistant");
            }
            if (text != null) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text == null ? "" : text);
        }
        choice.set("logprobs", logprobs == null ? NullNode.getInstance() : logprobs(logprobs, textOffset));
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        if (usageInChunks) {
            out.putNull("usage");
        }
        return out;
    }

    /**
     * The tokens that start inside {@code text}: after a stop string the text ends before the
     * last tokens, whose log-probabilities would describe text the answer does not contain.
     */
    List<TokenLogprobs> within(List<TokenLogprobs> tokens, String text) {
        int offset = 0;
        int keep = 0;
        while (keep < tokens.size() && offset < text.length()) {
            offset += tokenText(tokens.get(keep).token()).length();
            keep++;
        }
        return tokens.subList(0, keep);
    }

    /** The log-probability object of a choice or chunk, in the route's format. */
    private ObjectNode logprobs(List<TokenLogprobs> tokens, int textOffset) {
        ObjectNode lp = Json.object();
        if (chat) {
            ArrayNode content = lp.putArray("content");
            for (TokenLogprobs t : tokens) {
                ObjectNode e = entry(content.addObject(), t.token(), t.logprob());
                ArrayNode top = e.putArray("top_logprobs");
                for (TopLogprob a : t.top()) {
                    entry(top.addObject(), a.token(), a.logprob());
                }
            }
            lp.putNull("refusal");
            return lp;
        }
        ArrayNode toks = lp.putArray("tokens");
        ArrayNode values = lp.putArray("token_logprobs");
        ArrayNode top = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int offset = textOffset;
        for (TokenLogprobs t : tokens) {
            String s = tokenText(t.token());
            toks.add(s);
            values.add(t.logprob());
            ObjectNode alternatives = top.addObject();
            for (TopLogprob a : t.top()) {
                alternatives.put(tokenText(a.token()), a.logprob());
            }
            offsets.add(offset);
            offset += s.length();
        }
        return lp;
    }

    private ObjectNode entry(ObjectNode e, int token, double logprob) {
        e.put("token", tokenText(token));
        e.put("logprob", logprob);
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : tokenBytes(token)) {
            bytes.add(b & 0xFF);
        }
        return e;
    }

    private byte[] tokenBytes(int token) {
        byte[] b = tokenizer.tokenBytes(token);
        return b.length > 0 ? b : tokenizer.piece(token).getBytes(StandardCharsets.UTF_8);
    }

    /** A token as text: its bytes decoded (a partial UTF-8 character shows as U+FFFD), or its vocabulary string for control tokens. */
    private String tokenText(int token) {
        return new String(tokenBytes(token), StandardCharsets.UTF_8);
    }

    /** @return the final streamed chunk with no choices and the usage ({@code stream_options.include_usage}) */
    ObjectNode usageChunk(List<GenerationResult> results) {
        ObjectNode out = header();
        out.putArray("choices");
        out.set("usage", usage(results));
        return out;
    }

    private ObjectNode header() {
        ObjectNode out = Json.object();
        out.put("id", id).put("object", object).put("created", created).put("model", modelId);
        out.putNull("system_fingerprint");
        return out;
    }

    /**
     * Usage of all choices: the prompt counted once, the generated tokens of every choice, and in
     * {@code prompt_tokens_details.cached_tokens} (OpenAI's field) the prompt tokens the first
     * choice reused from a slot's KV cache instead of computing them.
     */
    private static ObjectNode usage(List<GenerationResult> results) {
        GenerationResult first = results.getFirst();
        int p = first.promptTokens().length;
        int c = 0;
        for (GenerationResult r : results) {
            c += r.generatedTokens().length;
        }
        ObjectNode usage = Json.object().put("prompt_tokens", p).put("completion_tokens", c).put("total_tokens", p + c);
        usage.putObject("prompt_tokens_details").put("cached_tokens", first.cachedPromptTokens());
        return usage;
    }

    /** @return OpenAI's error object {@code {"error": {"message", "type", "param", "code"}}} */
    static ObjectNode error(ApiException e) {
        ObjectNode err = Json.object();
        ObjectNode inner = err.putObject("error");
        inner.put("message", e.getMessage());
        inner.put("type", e.type());
        inner.put("param", e.param());
        inner.put("code", e.code());
        return err;
    }
}
