package dev.argon.grammar;

import dev.argon.TestFiles;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.gguf.GgufFile;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Lazy grammars: free text until a trigger word or token, then the grammar (tool_choice auto). */
class LazyGrammarConstraintTest {

    @Test
    void freeUntilTheTriggerThenTheGrammarFromTheWordsFirstByte() throws Exception {
        try (LanguageModel model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 1)) {
            Generator gen = new Generator(model);
            GenerationResult free = gen.generate(GenerationRequest.of("Once upon a time", 40, SamplingParams.greedy()), 128, s -> { });
            assertThat(free.text()).startsWith(", there was a little girl named Lily.");
            // the trigger spans two tokens (" little", " girl"); the grammar then overrides " named"
            String gbnf = "root ::= \"le girl who \" [a-z]{1,12} (\" \" [a-z]{1,12}){0,3} \".\"\n";
            GenerationRequest req = GenerationRequest.of("Once upon a time", 60, SamplingParams.greedy())
                    .withConstraint(LazyGrammarConstraint.factory(Grammar.parse(gbnf), List.of("le gi"), List.of()));
            GenerationResult r = gen.generate(req, 128, s -> { });
            assertThat(r.text()).startsWith(", there was a little girl who ");
            assertThat(r.finishReason()).as(r.text()).isEqualTo(FinishReason.END_OF_SEQUENCE);
            assertThat(Grammar.parse(gbnf).matches(r.text().substring(r.text().indexOf("le gi")))).as(r.text()).isTrue();
            // a trigger the model never writes leaves generation exactly as without a grammar
            GenerationRequest never = GenerationRequest.of("Once upon a time", 40, SamplingParams.greedy())
                    .withConstraint(LazyGrammarConstraint.factory(Grammar.parse(gbnf), List.of("zebra"), List.of()));
            assertThat(gen.generate(never, 128, s -> { }).generatedTokens()).isEqualTo(free.generatedTokens());
        }
    }

    @Test
    void aTriggerWhoseContinuationTheGrammarRejectsIsIgnored() {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-gpt-2.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            Grammar g = Grammar.parse("root ::= \"<c\" [0-9]+ \">\"\n");
            LazyGrammarConstraint c = new LazyGrammarConstraint(g, tok, List.of("<c"), List.of());
            float[] logits = new float[tok.vocabSize()];
            for (int t : tok.encode("Hi <call> and", false, false)) {
                assertThat(c.mask(logits)).isTrue();
                assertThat(logits).as("free text is not masked").containsOnly(0f);
                c.accept(t);
            }
            assertThat(c.triggered()).as("the token after '<' makes '<call', which the grammar rejects").isFalse();
            for (int t : tok.encode(" <c4", false, false)) {
                c.accept(t);
            }
            assertThat(c.triggered()).isTrue();
            assertThat(c.mask(logits)).isTrue();
            int digit = tok.encode("7", false, false)[0];
            int letter = tok.encode("x", false, false)[0];
            assertThat(logits[digit]).isZero();
            assertThat(logits[letter]).isEqualTo(Float.NEGATIVE_INFINITY);
            for (int t : tok.encode("2>", false, false)) {
                c.accept(t);
            }
            Arrays.fill(logits, 0f);
            c.mask(logits);
            for (int id = 0; id < tok.vocabSize(); id++) {
                assertThat(logits[id] == 0f).as("token %d after a complete call", id).isEqualTo(tok.isEndOfGeneration(id));
            }
        }
    }

    /** Feeds {@code text}'s GPT-2 tokens to {@code c}, each one allowed by its mask. */
    private static void feed(LazyGrammarConstraint c, Tokenizer tok, String text) {
        float[] logits = new float[tok.vocabSize()];
        for (int t : tok.encode(text, false, false)) {
            Arrays.fill(logits, 0f);
            assertThat(c.mask(logits)).isTrue();
            assertThat(logits[t]).as("token %d of %s", t, text).isZero();
            c.accept(t);
        }
    }

    @Test
    void triggerPatternsStartTheGrammarAtTheirFirstGroupOrAtTheWholeOutput() {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-gpt-2.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            Grammar g = Grammar.parse("root ::= \"{\" [a-z]+ \"}\"\n");
            int space = tok.encode(" the", false, false)[0];
            // searched anywhere; the grammar starts at group 1 (the brace), not at "result="
            LazyGrammarConstraint c = new LazyGrammarConstraint(g, tok, List.of(), List.of(),
                    List.of(java.util.regex.Pattern.compile("result *= *(\\{)")));
            feed(c, tok, "So the result is");
            assertThat(c.triggered()).isFalse();
            feed(c, tok, " result = {ab");
            assertThat(c.triggered()).isTrue();
            float[] logits = new float[tok.vocabSize()];
            c.mask(logits);
            assertThat(logits[space]).as("inside the grammar: no space").isEqualTo(Float.NEGATIVE_INFINITY);
            feed(c, tok, "c}");
            assertThat(c.allowedPrefix(new int[] {tok.eos()}, 1)).as("complete: end of text allowed").isEqualTo(1);

            // ^...$: the whole output must match, so a brace after other text does not trigger
            LazyGrammarConstraint full = new LazyGrammarConstraint(g, tok, List.of(), List.of(),
                    List.of(java.util.regex.Pattern.compile("^\\s*(\\{)[\\s\\S]*$")));
            feed(full, tok, "x {a");
            assertThat(full.triggered()).isFalse();
            LazyGrammarConstraint full2 = new LazyGrammarConstraint(g, tok, List.of(), List.of(),
                    List.of(java.util.regex.Pattern.compile("^\\s*(\\{)[\\s\\S]*$")));
            feed(full2, tok, "{a");
            assertThat(full2.triggered()).isTrue();

            // a match the grammar cannot continue is ignored; a catastrophic pattern is cut off, not hung on
            LazyGrammarConstraint rejected = new LazyGrammarConstraint(g, tok, List.of(), List.of(),
                    List.of(java.util.regex.Pattern.compile("(\\{1)")));
            feed(rejected, tok, "a {1");
            assertThat(rejected.triggered()).isFalse();
            LazyGrammarConstraint slow = new LazyGrammarConstraint(g, tok, List.of(), List.of(),
                    List.of(java.util.regex.Pattern.compile("^(a|a)*b$")));
            feed(slow, tok, "a".repeat(60));
            assertThat(slow.triggered()).isFalse();
        }
    }
}
