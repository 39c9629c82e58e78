package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link StepPlanner}: which rows of which running requests one step runs, under the prompt
 * token budget, with decode rows after every prompt row, guidance rows and draft rows. No forward
 * pass runs: the plan is checked by its row counts and row indices.
 */
class StepPlannerTest {
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

    /** A request on its own slot with its first {@code fed} prompt tokens in the cache. */
    static ScheduledRequest request(GenerationRequest req, int[] prompt, int fed) {
        ScheduledRequest r = new ScheduledRequest(req, prompt, () -> false, new AtomicLong());
        r.seq = new Sequence(model, req, prompt, CTX, r);
        r.slot = new KvSlot(model.newState(CTX, KvCache.Precision.F32));
        r.fed = fed;
        return r;
    }

    static ScheduledRequest prefilling(int promptLength, int fed) {
        int[] prompt = new int[promptLength];
        java.util.Arrays.fill(prompt, 20);
        return request(GenerationRequest.of("x", 32, SamplingParams.greedy()), prompt, fed);
    }

    /** A request whose prompt is in and whose greedy sample from one-hot logits was {@code token}. */
    static ScheduledRequest decoding(GenerationRequest req, int[] prompt, int token) {
        ScheduledRequest r = request(req, prompt, prompt.length);
        float[] logits = new float[model.config().vocabSize()];
        logits[token] = 10;
        r.next = r.seq.next(logits);
        assertThat(r.next).isEqualTo(token);
        return r;
    }

    static int[] repeating(int length) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 10 + i % 3;
        }
        return p;
    }

    @Test
    void promptChunksFillTheTokenBudgetInOrder() {
        List<ScheduledRequest> active = List.of(prefilling(5, 0), prefilling(7, 2), prefilling(4, 0));
        StepPlan plan = new StepPlanner(8, 3).plan(active);
        assertThat(plan.promptRows()).containsExactly(5, 3, 0);
        assertThat(plan.decodeRow()).containsExactly(-1, -1, -1);
        assertThat(plan.batch().size()).isEqualTo(8);
        assertThat(plan.runs(1)).isTrue();
        assertThat(plan.runs(2)).isFalse(); // the budget is spent: it waits for the next step
    }

    @Test
    void decodeRowsComeAfterEveryPromptRow() {
        ScheduledRequest dec = decoding(GenerationRequest.of("x", 32, SamplingParams.greedy()), repeating(6), 30);
        StepPlan plan = new StepPlanner(4, 2).plan(List.of(dec, prefilling(6, 0)));
        assertThat(plan.promptRows()).containsExactly(0, 4);
        assertThat(plan.decodeRow()).containsExactly(4, -1); // first in the list, but its row follows the prompt rows
        assertThat(plan.batch().size()).isEqualTo(5);
    }

    @Test
    void guidedPromptsShareTheBudgetAndDecodeAsTwoRows() {
        GenerationRequest req = GenerationRequest.of("x", 32, SamplingParams.greedy()).withGuidance(new Guidance(1.5f, PromptText.plain("y")));
        ScheduledRequest r = request(req, new int[] {1, 20, 21}, 0);
        r.negative = new int[] {1, 22, 23, 24};
        r.guideSlot = new KvSlot(model.newState(CTX, KvCache.Precision.F32));
        StepPlan plan = new StepPlanner(5, 2).plan(List.of(r));
        assertThat(plan.promptRows()).containsExactly(3);
        assertThat(plan.guideRows()).containsExactly(2);
        assertThat(plan.batch().size()).isEqualTo(5);

        r.guideFed = r.negative.length;
        r.fed = r.prompt.length;
        float[] logits = new float[model.config().vocabSize()];
        logits[30] = 10;
        r.next = r.seq.next(logits);
        StepPlan decode = new StepPlanner(5, 2).plan(List.of(r));
        assertThat(decode.decodeRow()).containsExactly(0);
        assertThat(decode.batch().size()).isEqualTo(2); // the conditional row, then the unconditional one
    }

    @Test
    void draftRowsFollowTheDecodeRowUnlessTooManySequencesDecode() {
        // a repeating prompt: prompt lookup proposes its continuation (the first pass asks for 4 tokens)
        SpeculationParams ngram = new SpeculationParams(SpeculationParams.Mode.NGRAM, 0, 16, 2, 4, 0.75f, 1);
        GenerationRequest req = GenerationRequest.of("x", 32, SamplingParams.greedy()).withSpeculation(ngram);
        ScheduledRequest a = decoding(req, repeating(18), 10);
        a.spec = SpeculativeStep.create(ngram, null, new SpeculationStats(), dev.argon.kv.ContextPolicy.NONE);
        StepPlan alone = new StepPlanner(4, 2).plan(List.of(a));
        assertThat(alone.decodeRow()).containsExactly(0);
        assertThat(alone.batch().size()).isEqualTo(1 + Speculator.START_LENGTH);

        // two sequences decode, more than this request's disableBatchSize (1): no draft rows
        ScheduledRequest b = decoding(GenerationRequest.of("x", 32, SamplingParams.greedy()), repeating(5), 30);
        StepPlan loaded = new StepPlanner(4, 2).plan(List.of(a, b));
        assertThat(loaded.decodeRow()).containsExactly(0, 1);
        assertThat(loaded.batch().size()).isEqualTo(2);
    }

    @Test
    void draftRowsLeaveRoomForTheDecodeRowsStillToCome() {
        SpeculationParams ngram = new SpeculationParams(SpeculationParams.Mode.NGRAM, 0, 16, 2, 4, 0.75f, 4);
        GenerationRequest req = GenerationRequest.of("x", 32, SamplingParams.greedy()).withSpeculation(ngram);
        ScheduledRequest a = decoding(req, repeating(18), 10);
        a.spec = SpeculativeStep.create(ngram, null, new SpeculationStats(), dev.argon.kv.ContextPolicy.NONE);
        ScheduledRequest b = decoding(GenerationRequest.of("x", 32, SamplingParams.greedy()), repeating(5), 30);
        StepPlanner planner = new StepPlanner(1, 2); // batch grows to 1 + 2 * (1 + 16) rows for the drafts
        StepPlan plan = planner.plan(List.of(a, b));
        assertThat(plan.decodeRow()).containsExactly(0, 1 + Speculator.START_LENGTH);
        assertThat(plan.batch().capacity()).isEqualTo(1 + 2 * 17);
        assertThat(plan.batch().size()).isEqualTo(2 + Speculator.START_LENGTH);
    }
}
