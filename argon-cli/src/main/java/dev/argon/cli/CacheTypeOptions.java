package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.kv.KvCache;
import picocli.CommandLine.Option;

/**
 * The KV cache type flags, with llama.cpp's names: {@code -ctk/--cache-type-k} and
 * {@code -ctv/--cache-type-v}, plus {@code --cache-type} for both.
 */
final class CacheTypeOptions {
    static final String TYPES = "f32, f16, bf16, q8_0, q4_0, q4_1, q4_0h, q4_1h";

    @Option(names = "--cache-type", paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache type of keys and values: " + TYPES + " (default: ${DEFAULT-VALUE}; f16 is llama.cpp's).")
    String both;

    @Option(names = {"-ctk", "--cache-type-k"}, paramLabel = "TYPE", description = "KV cache type of the keys (default: --cache-type).")
    String keys;

    @Option(names = {"-ctv", "--cache-type-v"}, paramLabel = "TYPE", description = "KV cache type of the values (default: --cache-type).")
    String values;

    /** @return the keys' encoding */
    KvCache.Precision keys() {
        return keys != null ? KvCache.Precision.parse(keys, "--cache-type-k") : KvCache.Precision.parse(both, "--cache-type");
    }

    /** @return the values' encoding */
    KvCache.Precision values() {
        return values != null ? KvCache.Precision.parse(values, "--cache-type-v") : KvCache.Precision.parse(both, "--cache-type");
    }

    /**
     * @return the one encoding of keys and values, for commands that keep them together
     * @throws ArgonException if {@code -ctk} and {@code -ctv} differ
     */
    KvCache.Precision single() {
        KvCache.Precision k = keys();
        KvCache.Precision v = values();
        if (k != v) {
            throw new ArgonException("-ctk " + k.flagName() + " and -ctv " + v.flagName()
                    + " differ: generate, chat, serve and bench keep keys and values in one type for now (perplexity takes them apart)");
        }
        return k;
    }
}
