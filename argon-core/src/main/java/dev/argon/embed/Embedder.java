package dev.argon.embed;

import dev.argon.ArgonException;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.ForwardObserver;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.TextEncoder;

import java.util.Locale;

/**
 * Text embeddings: the final hidden states of the text's tokens, pooled and L2-normalized
 * (llama.cpp's default {@code --embd-normalize 2}). For a decoder these are the output norm's
 * result (as llama.cpp's embeddings), the text tokenized with BOS when the vocabulary adds one; for a
 * {@link TextEncoder} (BERT) the encoder's output over {@code [CLS] text [SEP]}, all tokens at once.
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

    /**
     * @param pooling how token vectors become one, or null for the model's own ({@link #defaultPooling})
     * @param batchSize positions per forward pass of a decoder (does not change the result)
     * @throws ArgonException if the pooling is null and the model's is not supported
     */
    public Embedder(LanguageModel model, Pooling pooling, int batchSize) {
        if (batchSize < 1) {
            throw new ArgonException("batch size is " + batchSize + "; expected at least 1");
        }
        this.model = model;
        this.pooling = pooling != null ? pooling : defaultPooling(model);
        this.batchSize = batchSize;
    }

    /** @return the pooling in use */
    public Pooling pooling() {
        return pooling;
    }

    /**
     * The pooling a model asks for, as llama.cpp chooses it when {@code --pooling} is not given: an
     * encoder's {@code <arch>.pooling_type} (mean, cls or last; mean when absent or "none"), mean for
     * a decoder.
     *
     * @throws ArgonException for {@code pooling_type} 4 (rank: a re-ranking classifier head) or an unknown number
     */
    public static Pooling defaultPooling(LanguageModel model) {
        if (!(model instanceof TextEncoder enc)) {
            return Pooling.MEAN;
        }
        return switch (enc.poolingType()) {
            case TextEncoder.POOLING_UNSPECIFIED, TextEncoder.POOLING_NONE, TextEncoder.POOLING_MEAN -> Pooling.MEAN;
            case TextEncoder.POOLING_CLS -> Pooling.CLS;
            case TextEncoder.POOLING_LAST -> Pooling.LAST;
            case TextEncoder.POOLING_RANK -> throw new ArgonException("the model's pooling_type is 4 (rank): it is a re-ranking"
                    + " classifier, which Argon does not run; use an embedding model");
            default -> throw new ArgonException("the model's pooling_type is " + enc.poolingType()
                    + "; expected 0 (none), 1 (mean), 2 (cls) or 3 (last)");
        };
    }

    /**
     * @throws ArgonException if the text is empty or longer than the model's context
     */
    public Embedding embed(String text) {
        int[] ids = model.tokenizer().encode(text, true, false);
        if (ids.length == 0) {
            throw new ArgonException("the input is empty; expected text to embed");
        }
        if (model instanceof TextEncoder enc) {
            return encode(enc, ids);
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

    private Embedding encode(TextEncoder enc, int[] ids) {
        int n = ids.length;
        if (n > enc.maxTokens()) {
            throw new ArgonException("the input has " + n + " tokens; the model takes at most " + enc.maxTokens());
        }
        int dim = enc.config().dim();
        float[] h = enc.encode(ids);
        double[] sum = new double[dim];
        int from = pooling == Pooling.LAST ? n - 1 : 0;
        int to = pooling == Pooling.CLS ? 1 : n;
        for (int t = from; t < to; t++) {
            for (int i = 0; i < dim; i++) {
                sum[i] += h[t * dim + i];
            }
        }
        return new Embedding(normalize(sum), n);
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
