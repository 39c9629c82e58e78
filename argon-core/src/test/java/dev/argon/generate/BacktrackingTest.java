package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.Candidates;
import dev.argon.sampling.SamplerStep;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Backtracking ({@link Backtracker}) on stories260K: rollback + regeneration equals a fresh run
 * with the same bans (no rollback at all), the scheduler gives the Generator's output token for
 * token with other requests in the same steps, streams equal final texts, and a backspace token
 * deletes the token before it.
 */
class BacktrackingTest {
    static LanguageModel model;
    static final int CTX = 256;
    static final List<String> BANNED = List.of("Lily", " she");

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

    static GenerationRequest sampled(int seed, int n) {
        return GenerationRequest.of("Once upon a time", n, new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed));
    }

    /** The Generator's loop with a {@link Backtracker}, keeping it to read its bans. */
    static Backtracker runBacktracking(GenerationRequest req, StringBuilder streamed, List<GenerationResult> out) {
        int[] prompt = new Generator(model).tokenizePrompt(req, CTX);
        Backtracker bt = new Backtracker(model, req.backtracking(), streamed::append);
        Sequence seq = new Sequence(model, req, prompt, CTX, bt);
        bt.attach(seq);
        InferenceState state = model.newState(CTX);
        float[] logits = model.prefill(state, prompt, 0);
        int t;
        while ((t = bt.next(logits)) >= 0) {
            logits = model.forward(state, t, seq.position(), true);
        }
        out.add(seq.result(0, 0));
        return bt;
    }

    /** A fresh run that never rolls back: the logits at output index i masked with {@code bans.get(i)}. */
    static GenerationResult freshRun(GenerationRequest req, Map<Integer, Set<Integer>> bans) {
        int[] prompt = new Generator(model).tokenizePrompt(req, CTX);
        Sequence seq = new Sequence(model, req, prompt, CTX, s -> { });
        InferenceState state = model.newState(CTX);
        float[] logits = model.prefill(state, prompt, 0);
        while (true) {
            Set<Integer> b = bans.get(seq.generatedCount());
            if (b != null) {
                logits = logits.clone();
                for (int id : b) {
                    logits[id] = Float.NEGATIVE_INFINITY;
                }
            }
            int t = seq.next(logits);
            if (t < 0) {
                return seq.result(0, 0);
            }
            logits = model.forward(state, t, seq.position(), true);
        }
    }

    @Test
    void rollbackAndRegenerationEqualAFreshRunWithTheSameBans() {
        int retracted = 0;
        for (int seed = 0; seed < 12; seed++) {
            GenerationRequest req = sampled(seed, 60).withBacktracking(Backtracking.banning(BANNED));
            StringBuilder streamed = new StringBuilder();
            List<GenerationResult> out = new ArrayList<>();
            Backtracker bt = runBacktracking(req, streamed, out);
            GenerationResult r = out.getFirst();
            retracted += bt.retractions().size();
            assertThat(r.text()).as("seed %d", seed).doesNotContain("Lily").doesNotContain(" she");
            assertThat(streamed.toString()).as("stream = final text").isEqualTo(r.text());
            GenerationResult fresh = freshRun(sampled(seed, 60), bt.bans());
            assertThat(r.generatedTokens()).as("seed %d: tokens of a fresh run with the bans", seed).containsExactly(fresh.generatedTokens());
            assertThat(r.text()).isEqualTo(fresh.text());
        }
        assertThat(retracted).as("rollbacks over 12 seeds").isGreaterThan(5);
    }

    @Test
    void theSchedulerBacktracksExactlyAsTheGeneratorWithOtherRequestsInTheSameSteps() throws Exception {
        Generator gen = new Generator(model);
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(4, CTX, KvCache.Precision.F32, 32, 16, true))) {
            List<BatchScheduler.Handle> handles = new ArrayList<>();
            List<GenerationRequest> reqs = new ArrayList<>();
            for (int seed = 0; seed < 10; seed++) {
                // every other request plain: banning and plain sequences share steps
                GenerationRequest req = seed % 2 == 0 ? sampled(seed, 60).withBacktracking(Backtracking.banning(BANNED)) : sampled(seed, 60);
                reqs.add(req);
                handles.add(s.submit(req, gen.tokenizePrompt(req, CTX), () -> false));
            }
            int hits = 0;
            for (int i = 0; i < handles.size(); i++) {
                StringBuilder streamed = new StringBuilder();
                List<Integer> tokens = new ArrayList<>();
                GenerationResult r = handles.get(i).await(new GenerationListener() {
                    @Override
                    public void onText(String text) {
                        streamed.append(text);
                    }

                    @Override
                    public void onToken(int token, dev.argon.sampling.TokenLogprobs lp) {
                        tokens.add(token);
                    }
                });
                GenerationResult expected = gen.generate(reqs.get(i), CTX, x -> { });
                assertThat(r.generatedTokens()).as("request %d", i).containsExactly(expected.generatedTokens());
                assertThat(r.text()).isEqualTo(expected.text());
                assertThat(streamed.toString()).as("request %d: stream = final text", i).isEqualTo(r.text());
                assertThat(tokens).as("token events of retracted tokens are dropped").containsExactly(
                        java.util.Arrays.stream(r.generatedTokens()).boxed().toArray(Integer[]::new));
                if (i % 2 == 0) {
                    assertThat(r.text()).doesNotContain("Lily").doesNotContain(" she");
                    String plain = gen.generate(sampled(i, 60), CTX, x -> { }).text();
                    hits += plain.contains("Lily") || plain.contains(" she") ? 1 : 0;
                }
            }
            assertThat(hits).as("banning requests whose plain text has a banned string").isGreaterThanOrEqualTo(2);
            assertThatThrownBy(() -> s.submit(sampled(0, 5).withBacktracking(Backtracking.banning(BANNED))
                            .withGuidance(new Guidance(2f, dev.argon.tokenizer.PromptText.plain(""))), new int[] {1}, () -> false))
                    .isInstanceOf(ArgonException.class).hasMessageContaining("guidance");
        }
    }

    /** Forces {@code id} once, at output index {@code at}: its one-shot flag is shared by every copy (rollback does not re-arm it). */
    static final class ForceOnce implements SamplerStep {
        final int id;
        final int at;
        final int promptLength;
        final AtomicBoolean fired;
        int accepted;

        ForceOnce(int id, int at, int promptLength, AtomicBoolean fired, int accepted) {
            this.id = id;
            this.at = at;
            this.promptLength = promptLength;
            this.fired = fired;
            this.accepted = accepted;
        }

        @Override
        public void apply(Candidates c) {
            if (accepted - promptLength == at && !fired.getAndSet(true)) {
                for (int i = 0; i < c.size(); i++) {
                    if (c.id(i) != id) {
                        c.setLogit(i, Float.NEGATIVE_INFINITY);
                    }
                }
            }
        }

        @Override
        public void accept(int token) {
            accepted++;
        }

        @Override
        public void reset() {
            accepted = 0;
        }

        @Override
        public SamplerStep copy() {
            return new ForceOnce(id, at, promptLength, fired, accepted);
        }

        @Override
        public String name() {
            return "force-once";
        }
    }

    @Test
    void aBackspaceDeletesThePreviousTokenAndGenerationGoesOnFromThere() {
        GenerationRequest greedy = GenerationRequest.of("Once upon a time", 30, SamplingParams.greedy());
        int[] prompt = new Generator(model).tokenizePrompt(greedy, CTX);
        GenerationResult plain = new Generator(model).generate(greedy, CTX, s -> { });
        int backspace = 100; // any id works: the test forces it
        assertThat(plain.generatedTokens()).doesNotContain(backspace);
        // the model "emits" the backspace as its 6th token: the 5th is deleted and banned there
        GenerationRequest req = greedy.withSteps(List.of(new ForceOnce(backspace, 5, prompt.length, new AtomicBoolean(), 0)))
                .withBacktracking(new Backtracking(List.of(), backspace));
        StringBuilder streamed = new StringBuilder();
        List<GenerationResult> out = new ArrayList<>();
        Backtracker bt = runBacktracking(req, streamed, out);
        GenerationResult r = out.getFirst();
        assertThat(bt.retractions()).containsExactly(new Backtracker.Retraction(4, 2, plain.generatedTokens()[4]));
        GenerationResult fresh = freshRun(greedy, Map.of(4, Set.of(plain.generatedTokens()[4])));
        assertThat(r.generatedTokens()).containsExactly(fresh.generatedTokens()).doesNotContain(backspace);
        assertThat(r.text()).isEqualTo(fresh.text()).isNotEqualTo(plain.text());
        assertThat(streamed.toString()).isEqualTo(r.text());
        assertThat(java.util.Arrays.copyOf(r.generatedTokens(), 4)).containsExactly(java.util.Arrays.copyOf(plain.generatedTokens(), 4));
        // through the Generator and the scheduler too
        assertThat(new Generator(model).generate(greedy.withSteps(List.of(
                new ForceOnce(backspace, 5, prompt.length, new AtomicBoolean(), 0))).withBacktracking(req.backtracking()), CTX, s -> { }).text()).isEqualTo(fresh.text());

        // a backspace as the very first token has nothing to delete: it alone goes, and the output is the plain one
        GenerationRequest atStart = greedy.withSteps(List.of(new ForceOnce(backspace, 0, prompt.length, new AtomicBoolean(), 0)))
                .withBacktracking(new Backtracking(List.of(), backspace));
        assertThat(new Generator(model).generate(atStart, CTX, s -> { }).generatedTokens()).containsExactly(plain.generatedTokens());
        assertThatThrownBy(() -> new Generator(model).generate(greedy.withBacktracking(new Backtracking(List.of(), 1 << 20)), CTX, s -> { }))
                .isInstanceOf(ArgonException.class).hasMessageContaining("--backspace-token");
    }

    @Test
    void aBackspaceForcedByLogitBiasEndsAfterTheBudgetWithTheSameTextInTheScheduler() throws Exception {
        int backspace = 100;
        SamplingParams biased = SamplingParams.greedy().withLogitBias(Map.of(backspace, 100f));
        GenerationRequest req = GenerationRequest.of("Once upon a time", 20, biased).withBacktracking(new Backtracking(List.of(), backspace));
        GenerationResult viaGenerator = new Generator(model).generate(req, CTX, s -> { });
        assertThat(viaGenerator.generatedTokens()).hasSize(20).doesNotContain(backspace);
        try (BatchScheduler s = new BatchScheduler(model, new BatchScheduler.Options(2, CTX, KvCache.Precision.F32, 4, 16, true))) {
            GenerationResult viaScheduler = s.submit(req, new Generator(model).tokenizePrompt(req, CTX), () -> false).await(t -> { });
            assertThat(viaScheduler.generatedTokens()).containsExactly(viaGenerator.generatedTokens());
            assertThat(viaScheduler.text()).isEqualTo(viaGenerator.text());
        }
    }
}
