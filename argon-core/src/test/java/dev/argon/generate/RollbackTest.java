package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.watermark.Watermark;
import dev.argon.watermark.WatermarkScheme;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Rolling a sequence back k tokens and regenerating gives the first run's tokens and text. */
class RollbackTest {
    static LanguageModel model;
    static final int CTX = 256;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    /** Sampling with every kind of sampler state: penalties, a watermark's context and the random draws. */
    static GenerationRequest request(int n) {
        var p = new SamplingParams(0.9f, 40, 0.95f, 0.05f, 1.2f, 32, 77).withPenalties(0.3f, 0.2f);
        return GenerationRequest.of("Once upon a time", n, p).withSteps(List.of(new Watermark(WatermarkScheme.of("k"))));
    }

    /** Runs {@code seq} from {@code logits} until it has {@code until} tokens or finishes; returns the logits to continue with. */
    static float[] run(Sequence seq, InferenceState state, float[] logits, int until) {
        while (seq.generatedCount() < until) {
            int t = seq.next(logits);
            if (t < 0) {
                return null;
            }
            logits = model.forward(state, t, seq.position(), true);
        }
        return logits;
    }

    @Test
    void rollingBackAndRegeneratingGivesTheSameTokensAndText() {
        GenerationRequest req = request(60);
        int[] prompt = new Generator(model).tokenizePrompt(req, CTX);
        Sequence first = new Sequence(model, req, prompt, CTX, s -> { });
        InferenceState s1 = model.newState(CTX);
        run(first, s1, model.prefill(s1, prompt, 0), 100);
        GenerationResult expected = first.result(0, 0);
        assertThat(expected.generatedTokens()).hasSize(60);

        StringBuilder streamed = new StringBuilder();
        Sequence seq = new Sequence(model, req, prompt, CTX, streamed::append);
        seq.keepCheckpoints(16);
        InferenceState s2 = model.newState(CTX);
        float[] logits = run(seq, s2, model.prefill(s2, prompt, 0), 45);
        int feed = seq.rollback(12); // back to 33 tokens
        assertThat(seq.generatedCount()).isEqualTo(33);
        assertThat(feed).isEqualTo(expected.generatedTokens()[32]);
        logits = model.forward(s2, feed, seq.position(), true);
        feed = seq.rollback(3); // twice in a row: back to 30
        logits = model.forward(s2, feed, seq.position(), true);
        run(seq, s2, logits, 100);
        GenerationResult again = seq.result(0, 0);
        assertThat(again.generatedTokens()).containsExactly(expected.generatedTokens());
        assertThat(again.text()).isEqualTo(expected.text());
        assertThat(again.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(streamed.toString()).isNotEqualTo(again.text()); // the listener saw the removed tokens' text too
    }

    @Test
    void aFinishedSequenceRunsAgainAfterRollback() {
        GenerationRequest req = request(20);
        int[] prompt = new Generator(model).tokenizePrompt(req, CTX);
        Sequence seq = new Sequence(model, req, prompt, CTX, s -> { });
        seq.keepCheckpoints(5);
        InferenceState st = model.newState(CTX);
        run(seq, st, model.prefill(st, prompt, 0), 100);
        assertThat(seq.finished()).isTrue();
        int[] before = seq.result(0, 0).generatedTokens();
        int feed = seq.rollback(5);
        assertThat(seq.finished()).isFalse();
        run(seq, st, model.forward(st, feed, seq.position(), true), 100);
        assertThat(seq.result(0, 0).generatedTokens()).containsExactly(before);
        assertThatThrownBy(() -> seq.rollback(6)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("checkpoints");
        Sequence none = new Sequence(model, req, prompt, CTX, s -> { });
        InferenceState s3 = model.newState(CTX);
        run(none, s3, model.prefill(s3, prompt, 0), 3);
        assertThatThrownBy(() -> none.rollback(1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Arrays.stream(before).distinct().count()).isGreaterThan(5);
    }
}
