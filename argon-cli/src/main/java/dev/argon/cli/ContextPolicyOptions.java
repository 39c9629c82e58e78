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
            description = "Recent tokens kept with --kv-sink or --kv-heavy (default: the context minus the sinks or heavy hitters).")
    int window;

    @Option(names = "--kv-heavy", paramLabel = "H", defaultValue = "-1",
            description = "H2O: keep the H older tokens that received the most attention plus the last --kv-window tokens, evicting the least attended; generation goes on.")
    int heavy;

    @picocli.CommandLine.Mixin
    MergePolicyOptions merge = new MergePolicyOptions();

    /** @return whether a flag asks for a policy that evicts tokens from a full cache */
    boolean evicts() {
        return contextShift || sinks >= 0 || heavy >= 0 || window > 0 || merge.given();
    }

    /**
     * @param ctx the context size
     * @return the policy the flags ask for
     * @throws ArgonException naming the flags if they conflict or are out of range
     */
    ContextPolicy policy(Tokenizer tokenizer, int ctx) {
        merge.checkSentenceFlags();
        boolean h2o = heavy >= 0;
        boolean merging = merge.given();
        boolean streaming = !merge.selectsSentences() && (sinks >= 0 || (window > 0 && !h2o && !merging));
        if ((contextShift ? 1 : 0) + (streaming ? 1 : 0) + (h2o ? 1 : 0) + (merging ? 1 : 0) > 1) {
            throw new ArgonException("--context-shift, --kv-sink/--kv-window and --kv-heavy/--kv-window are different ways to handle"
                    + " a full context, and so is --kv-policy; choose one");
        }
        if (keep < 0 || window < 0 || sinks < -1 || heavy < -1) {
            throw new ArgonException("--keep, --kv-sink, --kv-heavy and --kv-window must be >= 0; got " + keep + ", " + sinks + ", "
                    + heavy + ", " + window);
        }
        if (keep != 0 && !contextShift) {
            throw new ArgonException("--keep " + keep + " applies to --context-shift, which is not given");
        }
        ContextPolicy p;
        if (merging) {
            return merge.policy(window, sinks, ctx);
        }
        if (h2o) {
            p = ContextPolicy.heavyHitters(heavy, window > 0 ? window : Math.max(1, ctx - heavy));
        } else if (contextShift) {
            int[] empty = tokenizer.encode("", true, false);
            boolean bos = empty.length > 0 && empty[0] == tokenizer.bos();
            int most = ctx - 2 - (bos ? 1 : 0); // the policy keeps BOS too and needs 2 rows to evict
            if (keep > most) {
                throw new ArgonException("--keep " + keep + " leaves no room to evict in a context of " + ctx + " tokens (-c); it must be at most "
                        + most + (bos ? " (BOS is kept as well)" : ""));
            }
            p = ContextPolicy.shift(keep + (bos ? 1 : 0));
        } else if (streaming) {
            int s = Math.max(0, sinks);
            p = ContextPolicy.streaming(s, window > 0 ? window : Math.max(1, ctx - s));
        } else {
            return ContextPolicy.NONE;
        }
        p.validate(ctx);
        return p;
    }
}
