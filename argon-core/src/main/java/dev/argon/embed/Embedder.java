package dev.argon.embed;

import dev.argon.ArgonException;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.ForwardObserver;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;

import java.util.Locale;

/**
 * Text embeddings from a decoder model: the final hidden states (the output norm's result, as
 * llama.cpp's embeddings) of the text's tokens, pooled and L2-normalized (llama.cpp's default
 * {@code --embd-normalize 2}). The text is tokenized with BOS when the vocabulary adds one.
 */
public final class Embedder {
    /** How token vectors become one vector, as llama.cpp's {@code --pooling}. */
    public enum Pooling {
        /** The average over all tokens (BOS included). */
        MEAN,
        /** The first token's vector (BOS for decoders; BERT's [CLS]). */
        CLS,
        /** The last token's vector. */
        LAST;

        /** @return the flag/field name: {@code mean}, {@code cls}, {@code last} */
        public String flagName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * @throws ArgonException naming the accepted values if {@code name} is none of them
         */
        public static Pooling parse(String name) {
            for (Pooling p : values()) {
                if (p.flagName().equals(name)) {
                    return p;
                }
            }
            throw new ArgonException("pooling '" + name + "' is not supported; expected mean, cls or last");
        }
    }

    /**
     * One embedding.
     *
     * @param vector the pooled, L2-normalized vector {@code [dim]}
     * @param tokens how many tokens the text had
     */
    public record Embedding(float[] vector, int tokens) {
    }

    private final LanguageModel model;
    private final Pooling pooling;
    private final int batchSize;

    /** @param batchSize positions per forward pass (does not change the result) */
    public Embedder(LanguageModel model, Pooling pooling, int batchSize) {
        if (batchSize < 1) {
            throw new ArgonException("batch size is " + batchSize + "; expected at least 1");
        }
        this.model = model;
        this.pooling = pooling;
        this.batchSize = batchSize;
    }

    /**
     * @throws ArgonException if the text is empty or longer than the model's context
     */
    public Embedding embed(String text) {
        int[] ids = model.tokenizer().encode(text, true, false);
        if (ids.length == 0) {
            throw new ArgonException("the input is empty; expected text to embed");
        }
        int ctx = model.config().contextLength();
        if (ids.length > ctx) {
            throw new ArgonException("the input has " + ids.length + " tokens; the model's context is " + ctx);
        }
        int dim = model.config().dim();
        double[] sum = new double[dim];
        InferenceState state = model.newState(ids.length, KvCache.Precision.F16);
        state.observe(new ForwardObserver() {
            @Override
            public boolean wantsHidden() {
                return true;
            }

            @Override
            public void hidden(int position, float[] x, int offset, int d) {
                boolean take = switch (pooling) {
                    case MEAN -> true;
                    case CLS -> position == 0;
                    case LAST -> position == ids.length - 1;
                };
                if (take) {
                    for (int i = 0; i < d; i++) {
                        sum[i] += x[offset + i];
                    }
                }
            }
        });
        Batch batch = new Batch(Math.min(batchSize, ids.length));
        for (int i = 0; i < ids.length; i += batch.capacity()) {
            batch.clear();
            int n = Math.min(batch.capacity(), ids.length - i);
            for (int r = 0; r < n; r++) {
                batch.add(state, ids[i + r], i + r, true, false);
            }
            model.forward(batch);
        }
        return new Embedding(normalize(sum), ids.length);
    }

    /** @return {@code v / |v|} as floats (all zeros stay zeros) */
    static float[] normalize(double[] v) {
        double norm = 0;
        for (double x : v) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = norm > 0 ? (float) (v[i] / norm) : 0f;
        }
        return out;
    }
}
