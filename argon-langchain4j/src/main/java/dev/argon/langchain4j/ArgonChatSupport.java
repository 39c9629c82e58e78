package dev.argon.langchain4j;

import dev.argon.chat.ArgonLocalModel;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.SamplingParams;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.TokenUsage;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link ArgonChatModel} and {@link ArgonStreamingChatModel} share: the local model, the
 * default parameters, and the mapping between LangChain4j's requests and responses and Argon's.
 * LangChain4j's parameters ({@code temperature}, {@code topP}, {@code topK},
 * {@code maxOutputTokens}, {@code stopSequences}, {@code presencePenalty},
 * {@code frequencyPenalty}) override the builder's per request; {@code minP},
 * {@code repeatPenalty} and {@code seed} are the builder's.
 */
final class ArgonChatSupport {
    final ArgonLocalModel model;
    final ChatRequestParameters defaults;
    final float minP;
    final float repeatPenalty;
    final long seed;

    ArgonChatSupport(ArgonChatModel.Builder b) {
        if (b.model == null) {
            throw new IllegalArgumentException("model is required: an ArgonLocalModel (ArgonLocalModel.builder().modelPath(...).build())");
        }
        SamplingParams d = SamplingParams.defaults();
        this.model = b.model;
        this.defaults = ChatRequestParameters.builder()
                .modelName(b.modelName != null ? b.modelName : b.model.name())
                .temperature(b.temperature != null ? b.temperature : (double) d.temperature())
                .topP(b.topP != null ? b.topP : (double) d.topP())
                .topK(b.topK != null ? b.topK : d.topK())
                .maxOutputTokens(b.maxTokens)
                .stopSequences(b.stop)
                .presencePenalty(b.presencePenalty)
                .frequencyPenalty(b.frequencyPenalty)
                .build();
        this.minP = b.minP != null ? b.minP.floatValue() : d.minP();
        this.repeatPenalty = b.repeatPenalty != null ? b.repeatPenalty.floatValue() : d.repeatPenalty();
        this.seed = b.seed != null ? b.seed : d.seed();
        new GenerationRequest("", maxTokens(defaults), sampling(defaults), List.of(), true, false).validate();
    }

    /** The generation settings of a request (already merged with {@link #defaults} by LangChain4j). */
    GenerationRequest request(ChatRequest request) {
        ChatRequestParameters p = request.parameters().defaultedBy(defaults);
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by the in-process Argon model yet");
        }
        ResponseFormat format = p.responseFormat();
        if (format != null && format.type() != ResponseFormatType.TEXT) {
            throw new UnsupportedFeatureException("response format " + format.type() + " is not supported (text only)");
        }
        List<String> stops = p.stopSequences() == null ? List.of() : p.stopSequences();
        GenerationRequest g = new GenerationRequest("", maxTokens(p), sampling(p), stops, true, false);
        g.validate();
        return g;
    }

    private static int maxTokens(ChatRequestParameters p) {
        return p.maxOutputTokens() == null ? -1 : p.maxOutputTokens();
    }

    private SamplingParams sampling(ChatRequestParameters p) {
        SamplingParams d = SamplingParams.defaults();
        return new SamplingParams(
                p.temperature() == null ? d.temperature() : p.temperature().floatValue(),
                p.topK() == null ? d.topK() : p.topK(),
                p.topP() == null ? d.topP() : p.topP().floatValue(),
                minP, repeatPenalty, d.repeatLastN(), seed,
                p.presencePenalty() == null ? 0f : p.presencePenalty().floatValue(),
                p.frequencyPenalty() == null ? 0f : p.frequencyPenalty().floatValue(), Map.of());
    }

    /** LangChain4j messages → the template's maps; system, user (text) and AI (text) messages only. */
    static List<Map<String, Object>> messages(List<ChatMessage> messages) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            String role;
            String text;
            switch (m) {
                case SystemMessage s -> {
                    role = "system";
                    text = s.text();
                }
                case UserMessage u -> {
                    role = "user";
                    StringBuilder sb = new StringBuilder();
                    for (Content c : u.contents()) {
                        if (!(c instanceof TextContent t)) {
                            throw new UnsupportedFeatureException("only text content is supported, not " + c.type());
                        }
                        sb.append(t.text());
                    }
                    text = sb.toString();
                }
                case AiMessage a -> {
                    if (a.hasToolExecutionRequests()) {
                        throw new UnsupportedFeatureException("tool execution requests are not supported yet");
                    }
                    role = "assistant";
                    text = a.text() == null ? "" : a.text();
                }
                default -> throw new UnsupportedFeatureException("message type " + m.type() + " is not supported");
            }
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", role);
            map.put("content", text);
            out.add(map);
        }
        return out;
    }

    /** An Argon result as LangChain4j's response: the text, token usage and finish reason. */
    ChatResponse response(GenerationResult r, String modelName) {
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(r.text()))
                .tokenUsage(new TokenUsage(r.promptTokens().length, r.generatedTokens().length))
                .finishReason(finishReason(r.finishReason()))
                .modelName(modelName)
                .build();
    }

    static dev.langchain4j.model.output.FinishReason finishReason(FinishReason f) {
        return switch (f) {
            case END_OF_SEQUENCE, STOP_STRING -> dev.langchain4j.model.output.FinishReason.STOP;
            case LENGTH, CONTEXT_FULL -> dev.langchain4j.model.output.FinishReason.LENGTH;
            default -> dev.langchain4j.model.output.FinishReason.OTHER;
        };
    }
}
