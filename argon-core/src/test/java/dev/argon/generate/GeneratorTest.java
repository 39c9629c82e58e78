package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GeneratorTest {
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

    @Test
    void greedyStreamsTheSameTextItReturns() {
        List<String> pieces = new ArrayList<>();
        GenerationResult r = new Generator(model).generate(GenerationRequest.of("Once upon a time", 48, SamplingParams.greedy()), 256, pieces::add);
        assertThat(String.join("", pieces)).isEqualTo(r.text())
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it,");
        assertThat(r.promptTokens()).containsExactly(1, 403, 407, 261, 378);
        assertThat(r.generatedTokens()).hasSize(48);
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.decodeTokensPerSecond()).isPositive();
    }

    @Test
    void endOfSequenceEndsGeneration() {
        GenerationResult r = new Generator(model).generate(GenerationRequest.of("", -1, SamplingParams.greedy()), 512, s -> { });
        assertThat(r.finishReason()).isIn(FinishReason.END_OF_SEQUENCE, FinishReason.CONTEXT_FULL);
        if (r.finishReason() == FinishReason.END_OF_SEQUENCE) {
            assertThat(r.generatedTokens()[r.generatedTokens().length - 1]).isEqualTo(model.tokenizer().eos());
        }
    }

    @Test
    void emptyPromptTextStartsWithoutTheSpacePrefix() {
        GenerationResult r = new Generator(model).generate(GenerationRequest.of("", 20, SamplingParams.greedy()), 64, s -> { });
        assertThat(r.promptTokens()).containsExactly(1);
        assertThat(r.text()).startsWith("Once upon a time, there was a little girl named Lily.");
    }

    @Test
    void contextFullIsAFinishReasonNotAnError() {
        GenerationResult r = new Generator(model).generate(GenerationRequest.of("Once upon a time", 1000, SamplingParams.greedy()), 10, s -> { });
        assertThat(r.finishReason()).isEqualTo(FinishReason.CONTEXT_FULL);
        assertThat(r.promptTokens().length + r.generatedTokens().length).isEqualTo(10); // exactly the context
    }

    @Test
    void zeroTokensGeneratesNothing() {
        GenerationResult r = new Generator(model).generate(GenerationRequest.of("Once", 0, SamplingParams.greedy()), 64, s -> { });
        assertThat(r.generatedTokens()).isEmpty();
        assertThat(r.text()).isEmpty();
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void promptThatFillsTheContextIsRejected() {
        assertThatThrownBy(() -> new Generator(model).generate(GenerationRequest.of("Once upon a time", 5, SamplingParams.greedy()), 5, s -> { }))
                .isInstanceOf(ArgonException.class).hasMessageContaining("5 tokens").hasMessageContaining("context");
    }

    @Test
    void cancellationStopsBeforeTheNextStep() {
        int[] calls = {0};
        GenerationResult r = new Generator(model).generate(GenerationRequest.of("Once", 40, SamplingParams.greedy()), 64, s -> { },
                () -> ++calls[0] > 3);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(r.generatedTokens()).hasSize(3);
    }
}
