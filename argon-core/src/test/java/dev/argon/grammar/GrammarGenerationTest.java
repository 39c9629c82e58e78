package dev.argon.grammar;

import dev.argon.TestFiles;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.generate.TokenConstraint;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Generation under a grammar on stories260K (SentencePiece, 512 tokens with byte fallback). */
class GrammarGenerationTest {
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

    private static GenerationResult run(String gbnf, String prompt, int n, SamplingParams p) {
        GenerationRequest req = GenerationRequest.of(prompt, n, p).withConstraint(GrammarConstraint.factory(Grammar.parse(gbnf)));
        return new Generator(model).generate(req, 256, s -> { });
    }

    @Test
    void greedyOutputIsAStringOfTheGrammarAndEndsWithEos() {
        String gbnf = "root ::= \" \" (\"Lily\" | \"Tom\") \" was \" [a-z]{1,12} (\" \" [a-z]{1,12}){0,3} \".\"\n";
        GenerationResult r = run(gbnf, "Once upon a time", 100, SamplingParams.greedy());
        assertThat(r.finishReason()).isEqualTo(FinishReason.END_OF_SEQUENCE);
        assertThat(r.generatedTokens()[r.generatedTokens().length - 1]).isEqualTo(model.tokenizer().eos());
        assertThat(Grammar.parse(gbnf).matches(r.text())).as(r.text()).isTrue();
        // unconstrained, greedy continues with ", there was a little girl named Lily." (GeneratorTest)
        assertThat(r.text()).isEqualTo(" Tom was a little girl whosed.");
    }

    @Test
    void sampledJsonObjectsAllParse() {
        String gbnf = "root ::= \"{\\\"name\\\": \\\"\" [a-zA-Z ]{1,20} \"\\\", \\\"age\\\": \" [1-9] [0-9]? \", \\\"happy\\\": \" (\"true\" | \"false\") \"}\"\n";
        Grammar g = Grammar.parse(gbnf);
        for (int seed = 1; seed <= 20; seed++) {
            GenerationResult r = run(gbnf, "Lily", 120, new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed));
            assertThat(r.finishReason()).as("seed %d: %s", seed, r.text()).isEqualTo(FinishReason.END_OF_SEQUENCE);
            assertThat(g.matches(r.text())).as("seed %d: %s", seed, r.text()).isTrue();
        }
    }

    @Test
    void aConstraintThatAllowsNothingEndsTheSequence() {
        TokenConstraint.Factory none = tok -> new TokenConstraint() {
            @Override
            public boolean mask(float[] logits) {
                java.util.Arrays.fill(logits, Float.NEGATIVE_INFINITY);
                return false;
            }

            @Override
            public void accept(int token) {
                throw new AssertionError("no token may be accepted");
            }
        };
        GenerationRequest req = GenerationRequest.of("Once", 10, SamplingParams.greedy()).withConstraint(none);
        GenerationResult r = new Generator(model).generate(req, 64, s -> { });
        assertThat(r.finishReason()).isEqualTo(FinishReason.CONSTRAINT_DEAD_END);
        assertThat(r.generatedTokens()).isEmpty();
        assertThat(r.text()).isEmpty();
    }
}
