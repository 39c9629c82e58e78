package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import dev.argon.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

/**
 * What a full KV cache does, with llama.cpp's flags ({@code --context-shift}, {@code --keep}) and
 * StreamingLLM's attention sinks plus window ({@code --kv-sink}, {@code --kv-window}).
 */
final class ContextPolicyOptions {
    @Option(names = "--context-shift",
            description = "When the context is full, keep the first --keep tokens (and BOS) and drop half of the rest, as llama.cpp does; generation goes on.")
    boolean contextShift;

    @Option(names = "--keep", paramLabel = "N", defaultValue = "0",
            description = "Prompt tokens kept by --context-shift, after BOS (default: ${DEFAULT-VALUE}).")
    int keep;

    @Option(names = "--kv-sink", paramLabel = "S", defaultValue = "-1",
            description = "Attention sinks: keep the first S tokens and the last --kv-window tokens, evicting the oldest in between (StreamingLLM); generation goes on.")
    int sinks;

    @Option(names = "--kv-window", paramLabel = "W", defaultValue = "0",
            description = "Recent tokens kept with --kv-sink (default: the context minus the sinks).")
    int window;

    /**
     * @param ctx the context size
     * @return the policy the flags ask for
     * @throws ArgonException naming the flags if they conflict or are out of range
     */
    ContextPolicy policy(Tokenizer tokenizer, int ctx) {
        boolean streaming = sinks >= 0 || window > 0;
        if (contextShift && streaming) {
            throw new ArgonException("--context-shift and --kv-sink/--kv-window are two ways to handle a full context; choose one");
        }
        if (keep < 0 || window < 0 || sinks < -1) {
            throw new ArgonException("--keep, --kv-sink and --kv-window must be >= 0; got " + keep + ", " + sinks + ", " + window);
        }
        ContextPolicy p;
        if (contextShift) {
            int[] empty = tokenizer.encode("", true, false);
            boolean bos = empty.length > 0 && empty[0] == tokenizer.bos();
            p = ContextPolicy.shift(keep + (bos ? 1 : 0));
        } else if (streaming) {
            int s = Math.max(0, sinks);
            p = ContextPolicy.streaming(s, window > 0 ? window : ctx - s);
        } else {
            return ContextPolicy.NONE;
        }
        p.validate(ctx);
        return p;
    }
}
