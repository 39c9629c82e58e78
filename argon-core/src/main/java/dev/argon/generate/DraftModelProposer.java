package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.kv.KvCache;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * A draft model's proposals (llama.cpp's {@code -md} with {@code --draft-p-min}): a smaller model
 * over the same vocabulary, with its own KV cache per sequence, decodes greedily after the
 * sequence's tokens and stops when its most likely token's probability falls below {@code pMin}.
 * Greedy drafting makes q a point mass, so {@link Speculator}'s verification is exact. Before each
 * draft the draft model's cache keeps the longest prefix it shares with the sequence (drafted
 * tokens that were rejected are overwritten) and computes the rest. One instance per sequence.
 */
public final class DraftModelProposer implements DraftProposer {
    private final LanguageModel draft;
    private final InferenceState state;
    private final float pMin;
    private final int contextLength;
    /** The tokens whose keys and values the draft model's cache holds, positions [0, fed). */
    private int[] cached = new int[256];
    private int fed;

    private DraftModelProposer(LanguageModel draft, int contextLength, KvCache.Precision precision, float pMin) {
        this.draft = draft;
        this.contextLength = contextLength;
        this.state = draft.newState(contextLength, precision);
        this.pMin = pMin;
    }

    /**
     * Proposers for sequences of {@code target}, drafted by {@code draft}.
     *
     * @param contextLength the sequences' context (the draft model's cache is as long)
     * @param pMin stop drafting below this probability of the draft's most likely token (0..1)
     * @throws ArgonException if the vocabularies differ (naming the first difference)
     */
    public static DraftProposer.Factory factory(LanguageModel target, LanguageModel draft, int contextLength,
                                                KvCache.Precision precision, float pMin) {
        checkVocabulary(target, draft);
        return () -> new DraftModelProposer(draft, contextLength, precision, pMin);
    }

    /**
     * @throws ArgonException naming the difference if {@code draft}'s vocabulary (size, token
     *     pieces and bytes, BOS and EOS) is not {@code target}'s: draft token ids would mean other text
     */
    public static void checkVocabulary(LanguageModel target, LanguageModel draft) {
        Tokenizer t = target.tokenizer();
        Tokenizer d = draft.tokenizer();
        if (t.vocabSize() != d.vocabSize() || target.config().vocabSize() != draft.config().vocabSize()) {
            throw new ArgonException("the draft model (-md) has a vocabulary of " + draft.config().vocabSize()
                    + " tokens but the model has " + target.config().vocabSize()
                    + "; speculative decoding needs the same vocabulary (a smaller model of the same family)");
        }
        if (t.bos() != d.bos()) {
            throw new ArgonException("the draft model (-md) has BOS token " + d.bos() + " but the model has " + t.bos()
                    + "; speculative decoding needs the same vocabulary");
        }
        for (int id = 0; id < t.vocabSize(); id++) {
            if (!Arrays.equals(t.tokenBytes(id), d.tokenBytes(id)) || !t.piece(id).equals(d.piece(id))
                    || t.isEndOfGeneration(id) != d.isEndOfGeneration(id)) {
                throw new ArgonException("the draft model (-md) has a different vocabulary: token " + id + " is '" + d.piece(id)
                        + "' there but '" + t.piece(id) + "' in the model; speculative decoding needs the same vocabulary");
            }
        }
    }

    @Override
    public int propose(int[] tokens, int length, int max, int[] out) {
        int common = 0;
        int limit = Math.min(fed, length - 1); // the last token is always run: its logits start the draft
        while (common < limit && cached[common] == tokens[common]) {
            common++;
        }
        fed = common;
        if (length + max > contextLength) {
            max = contextLength - length;
        }
        if (max <= 0) {
            return 0;
        }
        float[] logits = draft.prefill(state, Arrays.copyOfRange(tokens, fed, length), fed);
        remember(tokens, fed, length - fed);
        int n = 0;
        while (true) {
            int best = argmax(logits);
            if (probability(logits, best) < pMin) {
                break;
            }
            out[n++] = best;
            if (n == max) {
                break;
            }
            logits = draft.forward(state, best, fed, true);
            remember(out, n - 1, 1);
        }
        return n;
    }

    /** Records that {@code count} tokens from {@code src[from]} now sit at positions {@code fed...} of the draft's cache. */
    private void remember(int[] src, int from, int count) {
        if (cached.length < fed + count) {
            cached = Arrays.copyOf(cached, Math.max(fed + count, 2 * cached.length));
        }
        System.arraycopy(src, from, cached, fed, count);
        fed += count;
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** softmax(logits)[i]. */
    private static double probability(float[] logits, int i) {
        double max = logits[i]; // i is the argmax
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return 1 / sum;
    }
}
