package dev.argon.springai;

import dev.argon.chat.ArgonLocalModel;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.SamplingParams;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Spring AI {@link ChatModel} answered by Argon in this JVM: no server, no HTTP. Conversations
 * are rendered as {@code argon serve} renders them ({@link ArgonLocalModel}), so greedy answers
 * equal the server's. As a bean:
 *
 * <pre>{@code
 * @Bean(destroyMethod = "close")
 * ArgonLocalModel argonModel() { return ArgonLocalModel.builder().modelPath(Path.of("model.gguf")).build(); }
 *
 * @Bean
 * ChatModel chatModel(ArgonLocalModel m) {
 *     return new ArgonSpringAiChatModel(m, ChatOptions.builder().temperature(0.7).maxTokens(512).build());
 * }
 * }</pre>
 *
 * Options per prompt ({@link Prompt#getOptions()}) override the defaults field by field:
 * {@code temperature}, {@code topP}, {@code topK}, {@code maxTokens}, {@code stopSequences},
 * {@code presencePenalty}, {@code frequencyPenalty}; unset ones are llama.cpp's defaults. Tool
 * calls and media are refused with {@link IllegalArgumentException}.
 */
public final class ArgonSpringAiChatModel implements ChatModel {
    private final ArgonLocalModel model;
    private final ChatOptions defaults;

    /**
     * @param defaults the options of prompts that set none (null: llama.cpp's sampling defaults, no token limit)
     */
    public ArgonSpringAiChatModel(ArgonLocalModel model, ChatOptions defaults) {
        this.model = model;
        this.defaults = defaults != null ? defaults : ChatOptions.builder().build();
        request(new Prompt(List.of())).validate();
    }

    @Override
    public ChatOptions getDefaultOptions() {
        return defaults;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        GenerationResult r = model.chat(messages(prompt), request(prompt), t -> { }, () -> false);
        return response(r.text(), r);
    }

    /** Streams the answer: one {@link ChatResponse} per decoded piece, then one with the finish reason and usage. */
    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.<ChatResponse>create(sink -> {
            AtomicBoolean cancelled = new AtomicBoolean();
            sink.onCancel(() -> cancelled.set(true));
            sink.onDispose(() -> cancelled.set(true));
            try {
                GenerationRequest req = request(prompt);
                GenerationResult r = model.chat(messages(prompt), req,
                        text -> sink.next(new ChatResponse(List.of(new Generation(new AssistantMessage(text))))), cancelled::get);
                sink.next(response("", r));
                sink.complete();
            } catch (RuntimeException e) {
                sink.error(e);
            }
        }).subscribeOn(Schedulers.boundedElastic());
    }

    private GenerationRequest request(Prompt prompt) {
        ChatOptions o = prompt.getOptions();
        SamplingParams d = SamplingParams.defaults();
        Double temperature = pick(o == null ? null : o.getTemperature(), defaults.getTemperature());
        Double topP = pick(o == null ? null : o.getTopP(), defaults.getTopP());
        Integer topK = pick(o == null ? null : o.getTopK(), defaults.getTopK());
        Integer maxTokens = pick(o == null ? null : o.getMaxTokens(), defaults.getMaxTokens());
        Double presence = pick(o == null ? null : o.getPresencePenalty(), defaults.getPresencePenalty());
        Double frequency = pick(o == null ? null : o.getFrequencyPenalty(), defaults.getFrequencyPenalty());
        List<String> stop = pick(o == null ? null : o.getStopSequences(), defaults.getStopSequences());
        SamplingParams p = new SamplingParams(
                temperature == null ? d.temperature() : temperature.floatValue(),
                topK == null ? d.topK() : topK,
                topP == null ? d.topP() : topP.floatValue(),
                d.minP(), d.repeatPenalty(), d.repeatLastN(), d.seed(),
                presence == null ? 0f : presence.floatValue(), frequency == null ? 0f : frequency.floatValue(), Map.of());
        GenerationRequest g = new GenerationRequest("", maxTokens == null ? -1 : maxTokens, p, stop == null ? List.of() : stop, true, false);
        g.validate();
        return g;
    }

    private static <T> T pick(T a, T b) {
        return a != null ? a : b;
    }

    private static List<Map<String, Object>> messages(Prompt prompt) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Message m : prompt.getInstructions()) {
            String role = switch (m.getMessageType()) {
                case SYSTEM -> "system";
                case USER -> "user";
                case ASSISTANT -> {
                    if (m instanceof AssistantMessage a && a.hasToolCalls()) {
                        throw new IllegalArgumentException("tool calls are not supported by the in-process Argon model yet");
                    }
                    yield "assistant";
                }
                default -> throw new IllegalArgumentException("message type " + m.getMessageType() + " is not supported");
            };
            if (m instanceof org.springframework.ai.content.MediaContent mc && !mc.getMedia().isEmpty()) {
                throw new IllegalArgumentException("media (images, audio) are not supported: the model reads text only");
            }
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", role);
            map.put("content", m.getText() == null ? "" : m.getText());
            out.add(map);
        }
        return out;
    }

    private ChatResponse response(String text, GenerationResult r) {
        String finish = switch (r.finishReason()) {
            case END_OF_SEQUENCE, STOP_STRING -> "STOP";
            case LENGTH, CONTEXT_FULL -> "LENGTH";
            default -> "CANCELLED";
        };
        Generation g = new Generation(new AssistantMessage(text), ChatGenerationMetadata.builder().finishReason(finish).build());
        ChatResponseMetadata meta = ChatResponseMetadata.builder().model(defaults.getModel() != null ? defaults.getModel() : model.name())
                .usage(new DefaultUsage(r.promptTokens().length, r.generatedTokens().length)).build();
        return new ChatResponse(List.of(g), meta);
    }
}
