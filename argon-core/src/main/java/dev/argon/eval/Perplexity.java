package dev.argon.eval;

import dev.argon.ArgonException;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;

import java.util.Locale;

/**
 * Perplexity of a model on a token sequence with the semantics of llama.cpp's
 * {@code llama-perplexity} (its default, non-strided mode): the tokens are cut into
 * {@code n = tokens / ctx} chunks of {@code ctx} tokens; each chunk is evaluated on its own from
 * an empty KV cache, with its first token replaced by BOS when the vocabulary adds one; only the
 * second half is scored — the logits after positions {@code ctx/2 .. ctx-2} predicting tokens
 * {@code ctx/2+1 .. ctx-1}, so {@code ctx - ctx/2 - 1} tokens per chunk. PPL = exp(mean NLL) and
 * its uncertainty is {@code PPL * sd(NLL) / sqrt(count - 1)}, llama.cpp's estimate.
 *
 * <p>Every scored position can also be handed to a {@link PositionSink} (the log-softmax of its
 * logits and the true next token), which is how {@link KlDivergence} compares two
 * configurations. Results do not depend on the batch size: a row's logits do not depend on the
 * other rows of a {@link Batch}.
 */
public final class Perplexity {
    /** Receives each scored position in order (chunk by chunk, position by position). */
    public interface PositionSink {
        /**
         * @param chunk 0-based chunk index
         * @param logProbs log-softmax of the logits {@code [vocabSize]} (a buffer reused for the
         *     next position: copy what you keep)
         * @param next the true next token
         */
        void accept(int chunk, float[] logProbs, int next);
    }

    /** Progress after each chunk. */
    public interface Listener {
        /** @param chunk 1-based chunks done so far, of {@code chunks}; {@code ppl} the running estimate */
        void chunkDone(int chunk, int chunks, double ppl);
    }

    /**
     * The estimate.
     *
     * @param ppl exp(mean negative log-likelihood)
     * @param pplError llama.cpp's uncertainty of {@code ppl}
     * @param meanNll mean negative log-likelihood in nats per token
     * @param scored number of scored tokens
     * @param chunks chunks evaluated
     * @param runningPpl the estimate after each chunk
     */
    /**
     * @param kvBytesPerToken the KV cache's stored bytes (exact rows in every layer, plus merged rows and
     *     magnitudes) divided by the tokens of context they stand for, averaged over the scored positions
     * @param kvStats what a merging policy did ({@link KvCache#compressionStats}), or ""
     */
    public record Result(double ppl, double pplError, double meanNll, long scored, int chunks, double[] runningPpl,
                         double kvBytesPerToken, String kvStats) {
        /** @return llama.cpp's final line: {@code Final estimate: PPL = X +/- Y} */
        public String finalLine() {
            return String.format(Locale.ROOT, "Final estimate: PPL = %.4f +/- %.5f", ppl, pplError);
        }
    }

    private Perplexity() {
    }

    /**
     * The number of chunks {@code tokens} tokens give at context {@code ctx}, at most
     * {@code maxChunks} (≤ 0: no limit).
     *
     * @throws ArgonException if there are fewer than {@code 2 * ctx} tokens (llama.cpp's rule)
     */
    public static int chunks(int tokens, int ctx, int maxChunks) {
        if (ctx < 4) {
            throw new ArgonException("context (-c) is " + ctx + "; perplexity needs at least 4 tokens per chunk");
        }
        if (tokens < 2 * ctx) {
            throw new ArgonException(String.format(Locale.ROOT,
                    "the text has %d tokens; perplexity with a context of %d needs at least %d (2 chunks); use a smaller -c or a longer text",
                    tokens, ctx, 2 * ctx));
        }
        int n = tokens / ctx;
        return maxChunks > 0 ? Math.min(n, maxChunks) : n;
    }

    /**
     * Evaluates {@code tokens} (as tokenized with BOS, like llama.cpp) in chunks of {@code ctx}.
     *
     * @param batchSize rows per forward pass (≥ 1); does not change the result
     * @param maxChunks at most this many chunks (≤ 0: all)
     * @param sink receives every scored position, or {@code null}
     * @param listener progress, or {@code null}
     * @throws ArgonException if the text is too short for two chunks or {@code ctx} exceeds the model's context
     */
    public static Result evaluate(LanguageModel model, int[] tokens, int ctx, int batchSize, KvCache.Precision precision,
            int maxChunks, PositionSink sink, Listener listener) {
        return evaluate(model, tokens, ctx, batchSize, precision, precision, maxChunks, sink, listener);
    }

    /**
     * {@link #evaluate(LanguageModel, int[], int, int, KvCache.Precision, int, PositionSink, Listener)}
     * with separate encodings of the cached keys and values.
     */
    public static Result evaluate(LanguageModel model, int[] tokens, int ctx, int batchSize, KvCache.Precision keys,
            KvCache.Precision values, int maxChunks, PositionSink sink, Listener listener) {
        return evaluate(model, tokens, ctx, batchSize, keys, values, ContextPolicy.NONE, maxChunks, sink, listener);
    }

    /**
     * {@link #evaluate(LanguageModel, int[], int, int, KvCache.Precision, KvCache.Precision, int, PositionSink, Listener)}
     * with a KV cache that holds only attention sinks and a window of recent tokens
     * ({@link ContextPolicy#streaming}; its cache has {@code sinks + window} rows, so a chunk of
     * {@code ctx} tokens is scored with that fraction of the memory). Once the cache is full, one
     * token is fed per pass, so every position sees exactly the sinks and the window before it.
     *
     * @throws ArgonException if the policy is not {@link ContextPolicy.Kind#NONE} or {@link ContextPolicy.Kind#STREAMING}
     */
    public static Result evaluate(LanguageModel model, int[] tokens, int ctx, int batchSize, KvCache.Precision keys,
            KvCache.Precision values, ContextPolicy policy, int maxChunks, PositionSink sink, Listener listener) {
        if (policy.kind() == ContextPolicy.Kind.SHIFT) {
            throw new ArgonException("perplexity evaluates chunks that fit in the context; a context shift never happens"
                    + " (use --kv-sink/--kv-window for a smaller cache)");
        }
        if (batchSize < 1) {
            throw new ArgonException("batch size (-b) is " + batchSize + "; expected at least 1");
        }
        int nChunks = chunks(tokens.length, ctx, maxChunks);
        int vocab = model.config().vocabSize();
        int bos = model.tokenizer().bos();
        boolean replaceFirst = bos >= 0 && tokens.length > 0 && tokens[0] == bos;
        int first = ctx / 2;
        Batch batch = new Batch(Math.min(batchSize, ctx));
        int cacheRows = policy.unbounded() ? Math.min(ctx, policy.keep() + policy.window()) : ctx;
        InferenceState state = model.newState(cacheRows, keys, values, policy);
        float[] logProbs = new float[vocab];
        double nll = 0;
        double nll2 = 0;
        double kvBytes = 0;
        long count = 0;
        double[] running = new double[nChunks];
        for (int c = 0; c < nChunks; c++) {
            int start = c * ctx;
            int pos = 0;
            state.resetEviction();
            while (pos < ctx) {
                batch.clear();
                int rows = Math.min(batch.capacity(), ctx - pos);
                if (pos + rows > cacheRows) {
                    rows = Math.max(1, cacheRows - pos); // past the cache: one token per pass, evicting one
                }
                for (int r = 0; r < rows; r++) {
                    int p = pos + r;
                    int token = p == 0 && replaceFirst ? bos : tokens[start + p];
                    batch.add(state, token, p, false, p >= first && p < ctx - 1);
                }
                model.forward(batch);
                for (int r = 0; r < rows; r++) {
                    int p = pos + r;
                    if (p < first || p >= ctx - 1) {
                        continue;
                    }
                    int next = tokens[start + p + 1];
                    double lp = logSoftmax(batch.logits(r), logProbs, next);
                    nll -= lp;
                    nll2 += lp * lp;
                    kvBytes += state.kvCache().storedBytes(p + 1 - state.evicted()) / (double) (p + 1);
                    count++;
                    if (sink != null) {
                        sink.accept(c, logProbs, next);
                    }
                }
                pos += rows;
            }
            running[c] = Math.exp(nll / count);
            if (listener != null) {
                listener.chunkDone(c + 1, nChunks, running[c]);
            }
        }
        double mean = nll / count;
        double var = nll2 / count - mean * mean;
        double ppl = Math.exp(mean);
        double err = var > 0 && count > 1 ? Math.sqrt(var / (count - 1)) * ppl : 0;
        return new Result(ppl, err, mean, count, nChunks, running, kvBytes / count, state.kvCache().compressionStats());
    }

    /**
     * Writes the log-softmax of {@code logits} into {@code out} (max subtracted, the sum of
     * exponentials in double) and returns the entry of {@code token}.
     */
    static double logSoftmax(float[] logits, float[] out, int token) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        if (!Float.isFinite(max)) {
            throw new ArgonException("the model produced non-finite logits (max " + max + ")");
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double logSum = Math.log(sum);
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) (logits[i] - max - logSum);
        }
        return logits[token] - max - logSum;
    }
}
