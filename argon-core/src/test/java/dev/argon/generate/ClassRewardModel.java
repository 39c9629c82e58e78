package dev.argon.generate;

import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelConfig;
import dev.argon.tokenizer.Tokenizer;

/**
 * A synthetic reward model for tests: logits {@code bonus} on a class of tokens and 0 elsewhere
 * (it runs the wrapped model only to have a state), so {@code pi_r} prefers that class by a known
 * margin and nothing else. Closing it leaves the wrapped model open.
 */
final class ClassRewardModel implements LanguageModel {
    private final LanguageModel inner;
    private final boolean[] preferred;
    private final float bonus;

    ClassRewardModel(LanguageModel inner, boolean[] preferred, float bonus) {
        this.inner = inner;
        this.preferred = preferred;
        this.bonus = bonus;
    }

    private float[] reward(float[] logits) {
        float[] out = new float[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = preferred[i] ? bonus : 0f;
        }
        return out;
    }

    @Override
    public ModelConfig config() {
        return inner.config();
    }

    @Override
    public Tokenizer tokenizer() {
        return inner.tokenizer();
    }

    @Override
    public InferenceState newState(int contextLength, KvCache.Precision precision) {
        return inner.newState(contextLength, precision);
    }

    @Override
    public float[] forward(InferenceState state, int token, int pos, boolean wantLogits) {
        float[] l = inner.forward(state, token, pos, wantLogits);
        return l == null ? null : reward(l);
    }

    @Override
    public float[] prefill(InferenceState state, int[] tokens, int startPos) {
        return reward(inner.prefill(state, tokens, startPos));
    }

    @Override
    public void forward(Batch batch) {
        throw new UnsupportedOperationException("not used by reward-guided decoding");
    }

    @Override
    public long parameterCount() {
        return inner.parameterCount();
    }

    @Override
    public long weightBytes() {
        return inner.weightBytes();
    }

    @Override
    public void close() {
    }
}
