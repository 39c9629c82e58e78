package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import picocli.CommandLine.Option;

import java.util.Locale;

/**
 * The KV cache policies chosen by name, {@code --kv-policy minicache|kvmerger|sentencekv}, and their parameters
 * (named after the papers'): MiniCache's start layer S, SLERP parameter t and retention threshold γ; KVMerger's
 * similarity threshold ε and kernel width σ; SentenceKV's token budget. Their recent window is {@code --kv-window};
 * SentenceKV's sinks are {@code --kv-sink}.
 */
final class MergePolicyOptions {
    /** The exact window when --kv-window is not given. */
    static final int DEFAULT_WINDOW = 32;
    /** SentenceKV's sinks when --kv-sink is not given (StreamingLLM's four). */
    static final int DEFAULT_SINKS = 4;

    @Option(names = "--kv-policy", paramLabel = "P",
            description = "Merge KV rows older than --kv-window (default " + DEFAULT_WINDOW + "): minicache (adjacent layers' states merged by"
                    + " SLERP, Liu et al. 2024) or kvmerger (similar consecutive keys merged, Wang et al. 2024); or sentencekv (Zhu et al."
                    + " 2025): keep every row, but each query reads only --kv-sink sinks (default " + DEFAULT_SINKS + "), the sentences"
                    + " most similar to it within --sentencekv-budget tokens and the last --kv-window.")
    String policy;

    // null = not given (the default applies), so that a flag given without its policy can be refused
    @Option(names = "--minicache-start", paramLabel = "S",
            description = "MiniCache: first merged layer; pairs (S,S+1), (S+2,S+3)... (default: the middle layer, L/2).")
    Integer start;

    @Option(names = "--minicache-t", paramLabel = "T",
            description = "MiniCache: SLERP interpolation parameter t, 0..1 (default: 0.6).")
    Double t;

    @Option(names = "--minicache-gamma", paramLabel = "G",
            description = "MiniCache: retention threshold γ, 0..1: tokens whose angular distance exceeds d_min + γ(d_max - d_min) stay"
                    + " unmerged (default: 0.05).")
    Double gamma;

    @Option(names = "--kvmerger-epsilon", paramLabel = "E",
            description = "KVMerger: cosine similarity a key needs with its predecessor to join its merging set (default: 0.9).")
    Double epsilon;

    @Option(names = "--kvmerger-sigma", paramLabel = "S",
            description = "KVMerger: Gaussian kernel width σ in key units; 0 = the set's RMS distance to its pivot (default: 0).")
    Double sigma;

    @Option(names = "--sentencekv-budget", paramLabel = "B",
            description = "SentenceKV: token budget of the selected sentences per query, besides sinks and window (default: " + 256 + ").")
    Integer budget;

    @Option(names = "--sentencekv-query", paramLabel = "Q",
            description = "SentenceKV: rank sentences by the current token's query (token, the default) or by the mean query of the"
                    + " current sentence's tokens so far (sentence, the paper's decoding query).")
    String query;

    /** SentenceKV's budget when --sentencekv-budget is not given. */
    static final int DEFAULT_BUDGET = 256;

    /** @return whether --kv-policy is given */
    boolean given() {
        return policy != null;
    }

    /**
     * @throws ArgonException if a policy's flag is given without that policy ({@code --kv-policy minicache}, {@code kvmerger}
     *     or {@code sentencekv}): it would change nothing
     */
    void checkPolicyFlags() {
        String name = policy == null ? null : policy.trim().toLowerCase(Locale.ROOT);
        String miniCache = start != null ? "--minicache-start " + start : t != null ? "--minicache-t " + t
                : gamma != null ? "--minicache-gamma " + gamma : null;
        if (miniCache != null && !"minicache".equals(name)) {
            throw wrongPolicy(miniCache, "minicache");
        }
        String kvMerger = epsilon != null ? "--kvmerger-epsilon " + epsilon : sigma != null ? "--kvmerger-sigma " + sigma : null;
        if (kvMerger != null && !"kvmerger".equals(name)) {
            throw wrongPolicy(kvMerger, "kvmerger");
        }
        if (!selectsSentences() && (budget != null || query != null)) {
            throw wrongPolicy(budget != null ? "--sentencekv-budget " + budget : "--sentencekv-query " + query, "sentencekv");
        }
    }

    /** "FLAG applies to --kv-policy P, which is not given" (or ", not 'OTHER'"). */
    private ArgonException wrongPolicy(String flag, String wanted) {
        return new ArgonException(flag + " applies to --kv-policy " + wanted
                + (policy == null ? ", which is not given" : ", not '" + policy + "'"));
    }

    /** @return whether --kv-policy sentencekv is given (then --kv-sink is its sinks) */
    boolean selectsSentences() {
        return policy != null && policy.trim().equalsIgnoreCase("sentencekv");
    }

    /**
     * The checks that need no model: the policy's name, its flags and {@code --kv-sink} (SentenceKV's only).
     *
     * @param sinks --kv-sink (null: not given)
     * @throws ArgonException naming the flag if a value is out of range or the policy unknown
     */
    void check(Integer sinks) {
        checkPolicyFlags();
        String name = policy.trim().toLowerCase(Locale.ROOT);
        if (!name.equals("minicache") && !name.equals("kvmerger") && !name.equals("sentencekv")) {
            throw new ArgonException("--kv-policy is '" + policy + "'; expected minicache, kvmerger or sentencekv"
                    + " (H2O is --kv-heavy H --kv-window W, StreamingLLM --kv-sink S --kv-window W)");
        }
        if (sinks != null && !selectsSentences()) {
            throw new ArgonException("--kv-policy " + policy + " cannot be combined with --kv-sink; choose one");
        }
        if (sinks != null && sinks < 0) {
            throw new ArgonException("--kv-sink is " + sinks + "; expected >= 0 attention sinks");
        }
        if (budget != null && budget < 0) {
            throw new ArgonException("--sentencekv-budget is " + budget + "; expected >= 0 tokens");
        }
        if (query != null && !query.equals("token") && !query.equals("sentence")) {
            throw new ArgonException("--sentencekv-query is '" + query + "'; expected token or sentence");
        }
    }

    /**
     * @param window --kv-window (null: the default)
     * @param sinks --kv-sink (null: not given)
     * @return the policy the flags ask for
     * @throws ArgonException naming the flag if a value is out of range or the policy unknown
     */
    ContextPolicy policy(Integer window, Integer sinks, int ctx) {
        check(sinks);
        int w = window != null ? window : Math.min(DEFAULT_WINDOW, ctx);
        ContextPolicy p = switch (policy.trim().toLowerCase(Locale.ROOT)) {
            case "minicache" -> ContextPolicy.miniCache(w, new ContextPolicy.Merge(start != null ? start : -1,
                    t != null ? t : 0.6, gamma != null ? gamma : 0.05, 0, 0));
            case "kvmerger" -> ContextPolicy.kvMerger(w, new ContextPolicy.Merge(-1, 0, 0,
                    epsilon != null ? epsilon : 0.9, sigma != null ? sigma : 0));
            case "sentencekv" -> ContextPolicy.sentenceKv(sinks != null ? sinks : Math.min(DEFAULT_SINKS, ctx), w,
                    new ContextPolicy.Select(budget != null ? budget : DEFAULT_BUDGET, "sentence".equals(query)));
            default -> throw new IllegalStateException(policy); // check() names the policies
        };
        p.validate(ctx);
        return p;
    }
}
