package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link StepUpdater} after a real forward pass of stories260K: prompt progress, and a request
 * whose prompt is in samples from its last prompt row (greedy: that row's argmax), the same token
 * the one-request {@link Generator} starts with.
 */
class StepUpdaterTest {
    static final int CTX = 64;
    static LanguageModel model;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 1);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void promptsAdvanceAndAFinishedPromptSamplesFromItsLastRow() {
        List<ScheduledRequest> running = new ArrayList<>();
        SlotAdmission admission = new SlotAdmission(model, 2, CTX, KvCache.Precision.F32, ContextPolicy.NONE, 0, 0, false, 6,
                running);
        GenerationRequest req = GenerationRequest.of("Once upon a time", 8, SamplingParams.greedy());
        int[] shortPrompt = model.tokenizer().encode(req.prompt(), req.addSpecial());
        int[] longPrompt = model.tokenizer().encode(GenerationRequest.of("The little dog ran to the park and", 8,
                SamplingParams.greedy()).prompt(), true);
        assertThat(shortPrompt.length).isLessThan(6);
        assertThat(shortPrompt.length + longPrompt.length).isGreaterThan(6);
        List<ScheduledRequest> rs = new ArrayList<>();
        for (int[] p : List.of(shortPrompt, longPrompt)) {
            ScheduledRequest r = new ScheduledRequest(req, p, () -> false, new AtomicLong());
            r.seq = new Sequence(model, req, p, CTX, r);
            r.next = -7; // untouched until it samples
            admission.admit(r);
            running.add(r);
            rs.add(r);
        }
        StepPlan plan = new StepPlanner(6, 2).plan(running);
        model.forward(plan.batch());
        int expected = argmax(plan.batch().logits(shortPrompt.length - 1));
        new StepUpdater(model.pool(), CTX, admission, 2).update(plan, running);

        ScheduledRequest done = rs.get(0);
        ScheduledRequest partial = rs.get(1);
        assertThat(done.fed).isEqualTo(shortPrompt.length);
        assertThat(done.next).isEqualTo(expected);
        assertThat(done.seq.generatedCount()).isEqualTo(1);
        assertThat(done.firstLogits).isPositive();
        assertThat(partial.fed).isEqualTo(6 - shortPrompt.length);
        assertThat(partial.next).isEqualTo(-7);
        assertThat(StepUpdater.kvTokensUsed(running)).isEqualTo(shortPrompt.length + 1 + partial.fed);

        GenerationResult alone = new Generator(model).generate(req, shortPrompt, CTX, s -> { }, () -> false);
        assertThat(alone.generatedTokens()[0]).isEqualTo(expected);
    }
}
