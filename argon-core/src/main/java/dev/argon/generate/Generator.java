package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The autoregressive generation loop: tokenize the prompt, prefill it into the KV cache, then
 * decode one token at a time (sample from the logits, feed the token back) until an
 * end-of-generation token, a stop string, the token limit or the end of the context.
 * Text is streamed as complete UTF-8 characters.
 */
public final class Generator {
    private final LanguageModel model;
    private final KvCache.Precision cachePrecision;
    private final ContextPolicy policy;

    /** A generator with an exact (F32) KV cache. */
    public Generator(LanguageModel model) {
        this(model, KvCache.Precision.F32);
    }

    /** @param cachePrecision precision of the KV cache of each generation */
    public Generator(LanguageModel model, KvCache.Precision cachePrecision) {
        this(model, cachePrecision, ContextPolicy.NONE);
    }

    /**
     * @param cachePrecision precision of the KV cache of each generation
     * @param policy what a full KV cache does: stop, shift the context, or keep sinks + a window
     *     (the last two generate without bound)
     */
    public Generator(LanguageModel model, KvCache.Precision cachePrecision, ContextPolicy policy) {
        this.model = model;
        this.cachePrecision = cachePrecision;
        this.policy = policy;
    }

    /**
     * Generates text.
     *
     * @param contextLength KV cache size in tokens
     * @param onText receives each piece of generated text as soon as it is safe to emit
     * @throws ArgonException if the prompt does not fit in the context or a parameter is invalid
     */
    public GenerationResult generate(GenerationRequest req, int contextLength, Consumer<String> onText) {
        return generate(req, contextLength, onText, () -> false);
    }

    /**
     * Generates text, checking {@code cancelled} before each decode step.
     *
     * @see #generate(GenerationRequest, int, Consumer)
     */
    public GenerationResult generate(GenerationRequest req, int contextLength, Consumer<String> onText, BooleanSupplier cancelled) {
        return generate(req, tokenizePrompt(req, contextLength), contextLength, onText, cancelled);
    }

    /**
     * Validates the request and tokenizes its prompt, so callers can reject a bad request before
     * they start anything else.
     *
     * @return the prompt token ids
     * @throws ArgonException if a parameter is invalid or the prompt does not fit in the context
     */
    public int[] tokenizePrompt(GenerationRequest req, int contextLength) {
        req.validate();
        int[] prompt = model.tokenizer().encode(req.prompt(), req.addSpecial());
        if (prompt.length == 0) {
            throw new ArgonException("the prompt is empty and the model adds no BOS token: nothing to start generating from");
        }
        if (prompt.length >= contextLength) {
            throw new ArgonException("the prompt is " + prompt.length + " tokens but the context holds " + contextLength
                    + " (-c), which leaves no room to generate; the context must be larger than the prompt");
        }
        return prompt;
    }

    /**
     * Generates text from an already tokenized prompt (see {@link #tokenizePrompt}).
     *
     * @param prompt prompt token ids, fewer than {@code contextLength}
     */
    public GenerationResult generate(GenerationRequest req, int[] prompt, int contextLength, Consumer<String> onText,
                                     BooleanSupplier cancelled) {
        return run(req, prompt, contextLength, onText::accept, cancelled);
    }

    /**
     * Generates text from an already tokenized prompt, reporting every token (and its
     * log-probabilities when the request asks for them) to {@code listener}.
     *
     * @param prompt prompt token ids, fewer than {@code contextLength}
     */
    public GenerationResult run(GenerationRequest req, int[] prompt, int contextLength, GenerationListener listener,
                                     BooleanSupplier cancelled) {
        InferenceState state = model.newState(contextLength, cachePrecision, cachePrecision, policy);
        Sequence seq = new Sequence(model, req, prompt, contextLength, policy.unbounded(), listener);
        long t0 = System.nanoTime();
        float[] logits = model.prefill(state, prompt, 0);
        long t1 = System.nanoTime();
        while (true) {
            if (cancelled.getAsBoolean()) {
                seq.cancel();
                break;
            }
            int token = seq.next(logits);
            if (token < 0) {
                break;
            }
            logits = model.forward(state, token, seq.position(), true);
        }
        long t2 = System.nanoTime();
        return seq.result((t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }
}
