package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import picocli.CommandLine.Option;

import java.util.Locale;

/**
 * The merging KV cache policies, {@code --kv-policy minicache|kvmerger}, and their parameters (named after
 * the papers'): MiniCache's start layer S, SLERP parameter t and retention threshold γ; KVMerger's
 * similarity threshold ε and kernel width σ. Their recent exact window is {@code --kv-window}.
 */
final class MergePolicyOptions {
    /** The exact window when --kv-window is not given. */
    static final int DEFAULT_WINDOW = 32;

    @Option(names = "--kv-policy", paramLabel = "P",
            description = "Merge KV rows older than --kv-window (default " + DEFAULT_WINDOW + "): minicache (adjacent layers' states merged by"
                    + " SLERP, Liu et al. 2024) or kvmerger (similar consecutive keys merged, Wang et al. 2024).")
    String policy;

    @Option(names = "--minicache-start", paramLabel = "S", defaultValue = "-1",
            description = "MiniCache: first merged layer; pairs (S,S+1), (S+2,S+3)... (default: the middle layer, L/2).")
    int start;

    @Option(names = "--minicache-t", paramLabel = "T", defaultValue = "0.6",
            description = "MiniCache: SLERP interpolation parameter t, 0..1 (default: ${DEFAULT-VALUE}).")
    double t;

    @Option(names = "--minicache-gamma", paramLabel = "G", defaultValue = "0.05",
            description = "MiniCache: retention threshold γ, 0..1: tokens whose angular distance exceeds d_min + γ(d_max - d_min) stay"
                    + " unmerged (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--kvmerger-epsilon", paramLabel = "E", defaultValue = "0.9",
            description = "KVMerger: cosine similarity a key needs with its predecessor to join its merging set (default: ${DEFAULT-VALUE}).")
    double epsilon;

    @Option(names = "--kvmerger-sigma", paramLabel = "S", defaultValue = "0",
            description = "KVMerger: Gaussian kernel width σ in key units; 0 = the set's RMS distance to its pivot (default: ${DEFAULT-VALUE}).")
    double sigma;

    /** @return whether --kv-policy is given */
    boolean given() {
        return policy != null;
    }

    /**
     * @param window --kv-window (0: the default)
     * @return the policy the flags ask for
     * @throws ArgonException naming the flag if a value is out of range or the policy unknown
     */
    ContextPolicy policy(int window, int ctx) {
        int w = window > 0 ? window : Math.min(DEFAULT_WINDOW, ctx);
        ContextPolicy p = switch (policy.trim().toLowerCase(Locale.ROOT)) {
            case "minicache" -> ContextPolicy.miniCache(w, new ContextPolicy.Merge(start, t, gamma, 0, 0));
            case "kvmerger" -> ContextPolicy.kvMerger(w, new ContextPolicy.Merge(-1, 0, 0, epsilon, sigma));
            default -> throw new ArgonException("--kv-policy is '" + policy + "'; expected minicache or kvmerger"
                    + " (H2O is --kv-heavy H --kv-window W, StreamingLLM --kv-sink S --kv-window W)");
        };
        p.validate(ctx);
        return p;
    }
}
