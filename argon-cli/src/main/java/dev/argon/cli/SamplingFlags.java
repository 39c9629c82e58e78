package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;

import java.util.Map;

/** Checks shared by the commands that generate: parameter errors in terms of the CLI's flag names, memory. */
final class SamplingFlags {
    /** Library parameter names and the flags that set them. */
    private static final Map<String, String> FLAGS = Map.of(
            "temperature", "--temp", "topK", "--top-k", "topP", "--top-p", "minP", "--min-p",
            "repeatPenalty", "--repeat-penalty", "repeatLastN", "--repeat-last-n", "seed", "--seed");

    private SamplingFlags() {
    }

    /** Validates a request, naming flags rather than library fields in the error. */
    static void validate(GenerationRequest request) {
        try {
            request.validate();
        } catch (ArgonException e) {
            String message = e.getMessage();
            for (Map.Entry<String, String> f : FLAGS.entrySet()) {
                message = message.replaceAll("\\b" + f.getKey() + "\\b", f.getValue());
            }
            throw new ArgonException(message);
        }
    }

    /**
     * Refuses a context whose KV cache cannot fit in the heap, before trying to allocate it.
     *
     * @throws ArgonException naming the sizes and what to do
     */
    static void checkContextFits(LanguageModel model, int ctx) {
        long need = KvCache.bytesFor(model.config().nLayers(), ctx, model.config().kvDim());
        long max = Runtime.getRuntime().maxMemory();
        if (need > max * 3 / 4) {
            throw new ArgonException(String.format(java.util.Locale.ROOT,
                    "a context of %d tokens needs %.1f GiB of KV cache but the Java heap allows %.1f GiB; use a smaller -c or a larger heap (ARGON_JAVA_OPTS=-Xmx...)",
                    ctx, need / 1073741824.0, max / 1073741824.0));
        }
    }
}
