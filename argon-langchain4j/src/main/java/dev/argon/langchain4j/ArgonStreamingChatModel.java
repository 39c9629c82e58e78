package dev.argon.langchain4j;

import dev.argon.generate.GenerationResult;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;

/**
 * A LangChain4j {@link StreamingChatModel} answered by Argon in this JVM: each piece of the answer
 * goes to {@link StreamingChatResponseHandler#onPartialResponse(String)} as soon as it is decoded
 * (never a split UTF-8 character), then {@code onCompleteResponse}; errors go to {@code onError}.
 * The answer is generated on a virtual thread of its own, so {@code chat} returns at once.
 * Settings as {@link ArgonChatModel}: {@code ArgonChatModel.builder()....buildStreaming()}.
 */
public final class ArgonStreamingChatModel implements StreamingChatModel {
    private final ArgonChatSupport support;

    ArgonStreamingChatModel(ArgonChatSupport support) {
        this.support = support;
    }

    /** @return a builder; finish with {@link ArgonChatModel.Builder#buildStreaming()} */
    public static ArgonChatModel.Builder builder() {
        return ArgonChatModel.builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Thread.ofVirtual().name("argon-langchain4j-stream").start(() -> {
            try {
                var req = support.request(request);
                GenerationResult r = support.model.chat(ArgonChatSupport.messages(request.messages()), req,
                        handler::onPartialResponse, () -> Thread.currentThread().isInterrupted());
                handler.onCompleteResponse(support.response(r, support.defaults.modelName()));
            } catch (RuntimeException e) {
                handler.onError(e);
            }
        });
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return support.defaults;
    }
}
