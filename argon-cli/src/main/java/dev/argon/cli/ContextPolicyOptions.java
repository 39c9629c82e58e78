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

    @Option(names = "--kv-sink", paramLabel = "S",
            description = "Attention sinks: keep the first S tokens and the last --kv-window tokens, evicting the oldest in between (StreamingLLM); generation goes on.")
    Integer sinks;

    @Option(names = "--kv-window", paramLabel = "W",
            description = "Recent tokens kept with --kv-sink, --kv-heavy or --kv-policy (default: the context minus the sinks or heavy"
                    + " hitters; " + MergePolicyOptions.DEFAULT_WINDOW + " with --kv-policy).")
    Integer window;

    @Option(names = "--kv-heavy", paramLabel = "H",
            description = "H2O: keep the H older tokens that received the most attention plus the last --kv-window tokens, evicting the least attended; generation goes on.")
    Integer heavy;

    @picocli.CommandLine.Mixin
    MergePolicyOptions merge = new MergePolicyOptions();

    /** @return whether a flag asks for a policy that evicts tokens from a full cache */
    boolean evicts() {
        return contextShift || sinks != null || heavy != null || window != null || merge.given();
    }

    /**
     * The checks that need no model: ranges, flags that go together, conflicting policies. Commands call it before
     * loading the model ({@link #policy} calls it too).
     *
     * @throws ArgonException naming the flags
     */
    void check() {
        merge.checkPolicyFlags();
        checkValues(sinks, window, heavy);
        if (keep < 0) {
            throw new ArgonException("--keep is " + keep + "; expected >= 0 prompt tokens");
        }
        boolean streaming = !merge.selectsSentences() && sinks != null;
        if ((contextShift ? 1 : 0) + (streaming ? 1 : 0) + (heavy != null ? 1 : 0) + (merge.given() ? 1 : 0) > 1) {
            throw new ArgonException("--context-shift, --kv-sink/--kv-window and --kv-heavy/--kv-window are different ways to handle"
                    + " a full context, and so is --kv-policy; choose one");
        }
        if (keep != 0 && !contextShift) {
            throw new ArgonException("--keep " + keep + " applies to --context-shift, which is not given");
        }
        checkWindowAlone(sinks, window, heavy, merge.given());
        if (merge.given()) {
            merge.check(sinks);
        }
    }

    /**
     * The ranges of {@code --kv-sink}, {@code --kv-window} and {@code --kv-heavy} (null: not given).
     *
     * @throws ArgonException naming the flag and the value
     */
    static void checkValues(Integer sinks, Integer window, Integer heavy) {
        if (sinks != null && sinks < 0) {
            throw new ArgonException("--kv-sink is " + sinks + "; expected >= 0 attention sinks");
        }
        if (window != null && window < 1) {
            throw new ArgonException("--kv-window is " + window + "; expected >= 1 recent tokens");
        }
        if (heavy != null && heavy < 1) {
            throw new ArgonException("--kv-heavy is " + heavy + "; expected at least 1 heavy-hitter token");
        }
    }

    /**
     * A window alone keeps nothing: it is the recent part of StreamingLLM, H2O or a {@code --kv-policy}.
     *
     * @param policyGiven whether {@code --kv-policy} is given
     * @throws ArgonException if {@code --kv-window} is given without a flag that keeps a window
     */
    static void checkWindowAlone(Integer sinks, Integer window, Integer heavy, boolean policyGiven) {
        if (window != null && sinks == null && heavy == null && !policyGiven) {
            throw new ArgonException("--kv-window " + window + " needs --kv-sink S (StreamingLLM: --kv-sink 0 keeps no sinks),"
                    + " --kv-heavy H (H2O) or --kv-policy P; alone it changes nothing");
        }
    }

    /**
     * @param ctx the context size
     * @return the policy the flags ask for
     * @throws ArgonException naming the flags if they conflict or are out of range
     */
    ContextPolicy policy(Tokenizer tokenizer, int ctx) {
        check();
        boolean h2o = heavy != null;
        boolean merging = merge.given();
        boolean streaming = !merge.selectsSentences() && sinks != null;
        ContextPolicy p;
        if (merging) {
            return merge.policy(window, sinks, ctx);
        }
        if (h2o) {
            p = ContextPolicy.heavyHitters(heavy, window != null ? window : Math.max(1, ctx - heavy));
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
            p = ContextPolicy.streaming(sinks, window != null ? window : Math.max(1, ctx - sinks));
        } else {
            return ContextPolicy.NONE;
        }
        p.validate(ctx);
        return p;
    }
}
