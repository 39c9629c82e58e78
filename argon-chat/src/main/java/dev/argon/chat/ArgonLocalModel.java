package dev.argon.chat;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.tokenizer.PromptText;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A GGUF model loaded in this JVM with its chat template, context size and KV cache type: what
 * the in-process chat models of other frameworks ({@code argon-langchain4j}'s {@code ArgonChatModel},
 * {@code argon-spring-ai}'s {@code ArgonSpringAiChatModel}) generate with. One instance may back
 * several chat models and serve several threads at once (each generation has its own KV cache of
 * {@link #contextLength()} tokens). Chat prompts are built exactly as {@code argon serve}'s chat
 * routes build them ({@link ChatPrompts}), with the template's stop strings, so greedy answers are
 * the server's.
 */
public final class ArgonLocalModel implements AutoCloseable {
    private final LanguageModel model;
    private final ChatTemplate template;
    private final int contextLength;
    private final KvCache.Precision precision;
    private final boolean owned;
    private final boolean addsBos;
    private final String name;

    private ArgonLocalModel(LanguageModel model, ChatTemplate template, int contextLength, KvCache.Precision precision, boolean owned,
                            String name) {
        if (contextLength < 2) {
            throw new ArgonException("contextLength is " + contextLength + "; expected at least 2 tokens");
        }
        this.model = model;
        this.template = template;
        this.contextLength = contextLength;
        this.precision = precision;
        this.owned = owned;
        this.addsBos = ChatPrompts.tokenizerAddsBos(model.tokenizer());
        this.name = name;
    }

    /**
     * Wraps an already loaded model (not closed by {@link #close()}).
     *
     * @param template the chat template to render conversations with
     * @param contextLength KV cache size of each generation, in tokens (prompt and answer)
     */
    public static ArgonLocalModel of(LanguageModel model, ChatTemplate template, int contextLength, KvCache.Precision precision) {
        return new ArgonLocalModel(model, template, contextLength, precision, false, "argon");
    }

    /** @return a builder that loads a GGUF file */
    public static Builder builder() {
        return new Builder();
    }

    /** Loads a model: {@link #modelPath} is required; the rest defaults as {@code argon serve} does. */
    public static final class Builder {
        private Path modelPath;
        private int contextLength;
        private int threads = Runtime.getRuntime().availableProcessors();
        private KvCache.Precision precision = KvCache.Precision.F16;
        private boolean int8Activations = true;
        private String chatTemplate;

        private Builder() {
        }

        /** The GGUF file to load (memory-mapped). */
        public Builder modelPath(Path path) {
            this.modelPath = path;
            return this;
        }

        /** KV cache size per generation in tokens; default the model's, at most 4096. */
        public Builder contextLength(int tokens) {
            this.contextLength = tokens;
            return this;
        }

        /** Kernel threads; default all cores. */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** KV cache storage type; default F16 (llama.cpp's). */
        public Builder cachePrecision(KvCache.Precision precision) {
            this.precision = precision;
            return this;
        }

        /** Multiply quantized weights with exact F32 activations instead of llama.cpp's 8-bit ones. */
        public Builder f32Activations(boolean on) {
            this.int8Activations = !on;
            return this;
        }

        /** A chat template to use instead of the file's: a name ({@link ChatTemplate#BUILTIN_NAMES}) or Jinja text. */
        public Builder chatTemplate(String nameOrText) {
            this.chatTemplate = nameOrText;
            return this;
        }

        /**
         * @return the loaded model
         * @throws ArgonException if the path is missing or not a usable GGUF model, or a setting is out of range
         */
        public ArgonLocalModel build() {
            if (modelPath == null) {
                throw new ArgonException("modelPath is required: the GGUF file to load");
            }
            LanguageModel m = Models.load(modelPath, new ModelOptions(threads, int8Activations));
            try {
                ChatTemplate t;
                try (GgufFile f = GgufFile.open(modelPath)) {
                    t = ChatTemplate.fromGguf(f, m.tokenizer());
                }
                if (chatTemplate != null) {
                    t = t.withSource(chatTemplate);
                }
                int ctx = contextLength > 0 ? contextLength : Math.min(m.config().contextLength(), 4096);
                String id = modelPath.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
                return new ArgonLocalModel(m, t, ctx, precision, true, id);
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }
    }

    /** @return the model's name (its file name without {@code .gguf}) */
    public String name() {
        return name;
    }

    /** @return tokens each generation may hold, prompt and answer together */
    public int contextLength() {
        return contextLength;
    }

    /** @return the chat template conversations are rendered with */
    public ChatTemplate template() {
        return template;
    }

    /**
     * Generates the assistant's answer to {@code messages}, blocking.
     *
     * @param messages maps with {@code role} ({@code system}, {@code user}, {@code assistant}) and {@code content}
     * @param request sampling, token limit and stop strings (its prompt is ignored); the template's stop strings are added
     * @param onText each piece of the answer as soon as it is safe to emit
     * @param cancelled polled before each token; true ends the answer (finish reason {@code CANCELLED})
     * @throws ArgonException for a template error, a prompt that does not fit the context or a bad setting
     */
    public GenerationResult chat(List<? extends Map<String, ?>> messages, GenerationRequest request, Consumer<String> onText,
                                 BooleanSupplier cancelled) {
        PromptText prompt = ChatPrompts.withoutWrittenBos(template, template.renderPrompt(messages, null, true, Map.of()), addsBos);
        List<String> stops = new ArrayList<>(request.stop());
        stops.addAll(template.stopStrings());
        GenerationRequest req = new GenerationRequest(prompt, request.maxTokens(), request.sampling(), List.copyOf(stops), true, -1);
        Generator generator = new Generator(model, precision);
        int[] ids = generator.tokenizePrompt(req, contextLength);
        return generator.run(req, ids, contextLength, new GenerationListener() {
            @Override
            public void onText(String text) {
                onText.accept(text);
            }
        }, cancelled);
    }

    /** Unmaps the model file if this instance loaded it. */
    @Override
    public void close() {
        if (owned) {
            model.close();
        }
    }
}
