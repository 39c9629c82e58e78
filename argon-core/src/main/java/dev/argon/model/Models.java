package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;
import dev.argon.tensor.ThreadPool;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Loads a model from a GGUF file, choosing the implementation from
 * {@code general.architecture}. Each architecture is one small file declaring its blocks for
 * {@link DecoderModel}; adding one means adding that file and one entry to the registry.
 */
public final class Models {
    /** Creates a model from an open file, its config, tokenizer and thread pool. */
    @FunctionalInterface
    interface Factory {
        LanguageModel create(GgufFile file, ModelConfig config, Tokenizer tokenizer, ThreadPool pool, ModelOptions options);
    }

    private static final Map<String, Factory> ARCHITECTURES = new TreeMap<>(Map.of(
            "llama", LlamaModel::load,
            "qwen2", Qwen2Model::load,
            "qwen3", Qwen3Model::load,
            "phi3", Phi3Model::load,
            "gemma2", Gemma2Model::load,
            "gemma3", Gemma3Model::load,
            "gpt2", Gpt2Model::load,
            "bert", BertModel::load));

    /**
     * BERT-family encoders llama.cpp runs but Argon does not, and how each differs from {@code bert}
     * ({@code src/models/*.cpp} of llama.cpp), so that such a file is refused saying why.
     */
    private static final Map<String, String> UNSUPPORTED_ENCODERS = Map.of(
            "nomic-bert", "rotary positions instead of learned ones, a fused attn_qkv and a SwiGLU feed-forward",
            "nomic-bert-moe", "rotary positions and mixture-of-experts feed-forward layers",
            "jina-bert-v2", "ALiBi attention biases instead of position embeddings and a gated (GEGLU) feed-forward",
            "jina-bert-v3", "rotary positions (an XLM-RoBERTa with LoRA task adapters)",
            "modern-bert", "rotary positions, pre-norm blocks, GeGLU and alternating local/global attention",
            "neo-bert", "rotary positions, RMSNorm pre-norm blocks and SwiGLU",
            "eurobert", "a Llama-style decoder stack used bidirectionally (rotary positions, RMSNorm, SwiGLU)");

    private Models() {
    }

    /** @return the names of the supported architectures */
    public static String supportedArchitectures() {
        return String.join(", ", ARCHITECTURES.keySet());
    }

    /**
     * Opens and loads a model with {@link ModelOptions#defaults()} but the given thread count.
     *
     * @see #load(Path, ModelOptions)
     */
    public static LanguageModel load(Path path, int threads) {
        return load(path, ModelOptions.defaults().withThreads(threads));
    }

    /** Most kernel threads a model may use: 4x the cores, at least 64 (more only adds hand-over cost). */
    public static final int MAX_THREADS = Math.max(64, 4 * Runtime.getRuntime().availableProcessors());

    /**
     * Opens and loads a model. The weights stay memory-mapped.
     *
     * @throws ArgonException if the file is missing or invalid, or its architecture, tokenizer or
     *     tensor types are not supported, or the thread count is below 1 or above {@link #MAX_THREADS}
     */
    public static LanguageModel load(Path path, ModelOptions options) {
        int threads = options.threads();
        if (threads < 1) {
            throw new ArgonException("threads (-t) must be at least 1, got " + threads);
        }
        if (threads > MAX_THREADS) {
            throw new ArgonException("threads (-t) is " + threads + "; at most " + MAX_THREADS + " (this machine has "
                    + Runtime.getRuntime().availableProcessors() + " cores)");
        }
        GgufFile file = GgufFile.open(path);
        ThreadPool pool = null;
        try {
            if (file.tensors().isEmpty()) {
                throw new ArgonException(path + ": the file has no tensors (a vocabulary-only GGUF?); it can be used with 'argon tokenize', not as a model (there are no weights)");
            }
            String arch = file.getString("general.architecture");
            Factory factory = ARCHITECTURES.get(arch);
            if (factory == null && UNSUPPORTED_ENCODERS.containsKey(arch)) {
                throw new ArgonException(path + ": architecture '" + arch + "' is a BERT variant that Argon does not run: it has "
                        + UNSUPPORTED_ENCODERS.get(arch) + "; the supported encoder is 'bert' (BERT, MiniLM, bge, e5)");
            }
            if (factory == null) {
                throw new ArgonException(path + ": architecture '" + arch + "' is not supported (supported: " + supportedArchitectures() + ")");
            }
            long[] embd = new WeightLoader(file).shape("token_embd.weight");
            if (embd.length != 2 || embd[1] > Integer.MAX_VALUE || embd[0] > Integer.MAX_VALUE) {
                throw new ArgonException(path + ": tensor 'token_embd.weight' must be 2-dimensional [dim, vocab]");
            }
            ModelConfig config = ModelConfig.fromGguf(file, arch, (int) embd[1]);
            Tokenizer tokenizer = Tokenizers.fromGguf(file);
            if (tokenizer.vocabSize() != config.vocabSize()) {
                throw new ArgonException(path + ": the tokenizer has " + tokenizer.vocabSize() + " tokens but token_embd.weight has "
                        + config.vocabSize() + " rows");
            }
            pool = new ThreadPool(threads);
            return factory.create(file, config, tokenizer, pool, options);
        } catch (RuntimeException e) {
            if (pool != null) {
                pool.close();
            }
            file.close();
            throw e;
        }
    }
}
