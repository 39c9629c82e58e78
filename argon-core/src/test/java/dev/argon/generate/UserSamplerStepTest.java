package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.Candidates;
import dev.argon.sampling.SamplerStep;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A library user's own sampler step, carried by the request into every sequence's chain. */
class UserSamplerStepTest {
    static LanguageModel model;

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

    /** Bans one token id. */
    record Ban(int token) implements SamplerStep {
        @Override
        public void apply(Candidates c) {
            for (int i = 0; i < c.size(); i++) {
                if (c.id(i) == token) {
                    c.setLogit(i, Float.NEGATIVE_INFINITY);
                }
            }
        }
    }

    @Test
    void aRequestsOwnStepSteersGeneration() {
        GenerationRequest plain = GenerationRequest.of("Once upon a time", 40, SamplingParams.greedy());
        GenerationResult a = new Generator(model).generate(plain, 128, s -> { });
        int banned = a.generatedTokens()[1];
        GenerationResult b = new Generator(model).generate(plain.withSteps(List.of(new Ban(banned))), 128, s -> { });
        assertThat(a.generatedTokens()).contains(banned);
        assertThat(b.generatedTokens()).doesNotContain(banned);
        assertThat(b.generatedTokens()[0]).isEqualTo(a.generatedTokens()[0]);
        assertThat(b.text()).isNotEqualTo(a.text());
        // a step that changes nothing leaves the output identical, token for token
        GenerationResult c = new Generator(model).generate(plain.withSteps(List.of(x -> { })), 128, s -> { });
        assertThat(c.generatedTokens()).containsExactly(a.generatedTokens());
        assertThat(Arrays.equals(c.generatedTokens(), b.generatedTokens())).isFalse();
    }
}
