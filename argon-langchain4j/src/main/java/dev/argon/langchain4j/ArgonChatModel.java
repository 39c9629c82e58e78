package dev.argon.langchain4j;

import dev.argon.chat.ArgonLocalModel;
import dev.argon.generate.GenerationResult;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;

import java.util.List;

/**
 * A LangChain4j {@link ChatModel} answered by Argon in this JVM: no server, no HTTP. The
 * conversation is rendered with the model's chat template exactly as {@code argon serve} renders
 * it, so with {@code temperature(0.0)} the answer equals the server's.
 *
 * <pre>{@code
 * ArgonLocalModel local = ArgonLocalModel.builder().modelPath(Path.of("model.gguf")).contextLength(2048).build();
 * ChatModel chat = ArgonChatModel.builder().model(local).temperature(0.0).maxTokens(128).build();
 * String answer = chat.chat("Hello!");
 * }</pre>
 *
 * Tools and JSON response formats are refused with {@link dev.langchain4j.exception.UnsupportedFeatureException}.
 */
public final class ArgonChatModel implements ChatModel {
    private final ArgonChatSupport support;

    private ArgonChatModel(Builder b) {
        this.support = new ArgonChatSupport(b);
    }

    /** @return a builder; {@link Builder#model} is required */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        var req = support.request(request);
        GenerationResult r = support.model.chat(ArgonChatSupport.messages(request.messages()), req, t -> { }, () -> false);
        return support.response(r, support.defaults.modelName());
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return support.defaults;
    }

    /**
     * Settings of {@link ArgonChatModel} and {@link ArgonStreamingChatModel}; unset sampling values
     * take llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repeat
     * penalty, random seed); no token limit except the context.
     */
    public static final class Builder {
        ArgonLocalModel model;
        String modelName;
        Double temperature;
        Double topP;
        Integer topK;
        Double minP;
        Double repeatPenalty;
        Double presencePenalty;
        Double frequencyPenalty;
        Long seed;
        Integer maxTokens;
        List<String> stop;

        Builder() {
        }

        /** The loaded model to generate with (required; may be shared). */
        public Builder model(ArgonLocalModel model) {
            this.model = model;
            return this;
        }

        /** The name responses report; default the file name. */
        public Builder modelName(String name) {
            this.modelName = name;
            return this;
        }

        /** Temperature, 0 = greedy. */
        public Builder temperature(Double t) {
            this.temperature = t;
            return this;
        }

        /** Top-p (nucleus), 1 = off. */
        public Builder topP(Double p) {
            this.topP = p;
            return this;
        }

        /** Top-k, 0 = off. */
        public Builder topK(Integer k) {
            this.topK = k;
            return this;
        }

        /** Min-p, 0 = off. */
        public Builder minP(Double p) {
            this.minP = p;
            return this;
        }

        /** Repetition penalty over the last 64 tokens, 1 = off. */
        public Builder repeatPenalty(Double r) {
            this.repeatPenalty = r;
            return this;
        }

        /** OpenAI's presence penalty, -2..2. */
        public Builder presencePenalty(Double p) {
            this.presencePenalty = p;
            return this;
        }

        /** OpenAI's frequency penalty, -2..2. */
        public Builder frequencyPenalty(Double p) {
            this.frequencyPenalty = p;
            return this;
        }

        /** Sampling seed; -1 = random. */
        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        /** Most tokens per answer; default no limit but the context. */
        public Builder maxTokens(Integer n) {
            this.maxTokens = n;
            return this;
        }

        /** Stop strings (never part of the answer), besides the template's end-of-turn markers. */
        public Builder stop(List<String> stop) {
            this.stop = stop;
            return this;
        }

        /**
         * @throws IllegalArgumentException if no model is given
         * @throws dev.argon.ArgonException if a sampling value is out of range
         */
        public ArgonChatModel build() {
            return new ArgonChatModel(this);
        }

        /** @return a streaming model with these settings */
        public ArgonStreamingChatModel buildStreaming() {
            return new ArgonStreamingChatModel(new ArgonChatSupport(this));
        }
    }
}
