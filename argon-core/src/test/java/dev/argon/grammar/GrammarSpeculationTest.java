package dev.argon.grammar;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.generate.Sequence;
import dev.argon.generate.SpeculationParams;
import dev.argon.generate.SpeculationStats;
import dev.argon.generate.Speculator;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.model.ModelOptions;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;
import dev.argon.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Speculative decoding under a grammar (issue 17, item 4): draft tokens are checked against the
 * grammar before verification (a draft is cut before its first rejected token), and greedy output
 * with prompt-lookup speculation is token for token the output without it, valid under the schema.
 */
class GrammarSpeculationTest {
    static LanguageModel stories;
    static LanguageModel tiny;

    @BeforeAll
    static void load() {
        stories = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2);
        tiny = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), new ModelOptions(2, true));
    }

    @AfterAll
    static void close() {
        for (LanguageModel m : new LanguageModel[] {stories, tiny}) {
            if (m != null) {
                m.close();
            }
        }
    }

    /** Tokens whose bytes are exactly {@code text} (which starts with a space: SentencePiece's word prefix). */
    private static int[] tokens(Tokenizer tok, String text) {
        int[] t = tok.encode(text.substring(1), false, false);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int id : t) {
            bytes.writeBytes(tok.tokenBytes(id));
        }
        assertThat(bytes.toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(text);
        return t;
    }

    @Test
    void allowedPrefixStopsAtTheFirstRejectedTokenAndKeepsTheState() {
        Tokenizer tok = stories.tokenizer();
        GrammarConstraint c = new GrammarConstraint(Grammar.parseFresh("root ::= \" Sue and Ben\" [a-z ]* \".\""), tok);
        int[] ok = tokens(tok, " Sue and Ben ran.");
        int[] withEnd = Arrays.copyOf(ok, ok.length + 1);
        withEnd[ok.length] = tok.eos();
        long[] before = c.allowed().clone();
        assertThat(c.allowedPrefix(withEnd, withEnd.length)).as("a complete string then end of text").isEqualTo(withEnd.length);
        assertThat(c.allowedPrefix(ok, ok.length - 1)).isEqualTo(ok.length - 1);
        // end of text before the string is complete, and an upper-case word, are rejected where they come
        int[] early = Arrays.copyOf(ok, 3);
        early[2] = tok.eos();
        assertThat(c.allowedPrefix(early, 3)).isEqualTo(2);
        int[] bad = tokens(tok, " Sue and Ben met Tom.");
        int firstBad = -1;
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < bad.length && firstBad < 0; i++) {
            text.append(new String(tok.tokenBytes(bad[i]), java.nio.charset.StandardCharsets.UTF_8));
            if (text.indexOf("T") >= 0) {
                firstBad = i;
            }
        }
        assertThat(firstBad).as("the draft has a token with 'T'").isPositive();
        assertThat(c.allowedPrefix(bad, bad.length)).isEqualTo(firstBad);
        // the state did not move: the mask is the start state's and the first token is still accepted
        assertThat(c.allowed()).isEqualTo(before);
        c.accept(ok[0]);
        assertThat(c.allowedPrefix(Arrays.copyOfRange(bad, 1, bad.length), bad.length - 1)).isEqualTo(firstBad - 1);
    }

    @Test
    void aSpeculatorCutsItsDraftWhereTheGrammarRejectsIt() {
        Tokenizer tok = stories.tokenizer();
        String gbnf = "root ::= \" Sue and Ben\" [a-z ]* \".\"";
        GenerationRequest req = GenerationRequest.of("Once upon a time", 40, SamplingParams.greedy())
                .withConstraint(GrammarConstraint.factory(Grammar.parse(gbnf)));
        int[] prompt = tok.encode(PromptText.plain("Once upon a time"), true);
        Sequence seq = new Sequence(stories, req, prompt, 128, s -> { });
        int[] story = tokens(tok, " Sue and Ben met Tom.");
        // the sequence generates the tokens up to " Sue and Ben" (each forced by its logits) ...
        int p = 0;
        StringBuilder done = new StringBuilder();
        while (!done.toString().equals(" Sue and Ben")) {
            assertThat(done.length()).as("a token boundary after ' Ben'").isLessThan(" Sue and Ben".length());
            float[] logits = new float[stories.config().vocabSize()];
            logits[story[p]] = 10f;
            assertThat(seq.next(logits)).isEqualTo(story[p]);
            done.append(new String(tok.tokenBytes(story[p++]), java.nio.charset.StandardCharsets.UTF_8));
        }
        // ... then the proposer offers " met Tom.": the grammar allows the tokens of " met" only (no upper case)
        int[] draft = Arrays.copyOfRange(story, p, story.length);
        int allowed = 0;
        StringBuilder d = new StringBuilder();
        while (d.indexOf("T") < 0) {
            d.append(new String(tok.tokenBytes(draft[allowed++]), java.nio.charset.StandardCharsets.UTF_8));
        }
        allowed--;
        assertThat(allowed).as("the draft's tokens before the one with 'T'").isBetween(1, 3);
        Speculator sp = new Speculator(SpeculationParams.ngram().withDraft(0, 8), (history, length, max, out) -> {
            int n = Math.min(max, draft.length);
            System.arraycopy(draft, 0, out, 0, n);
            return n;
        }, new SpeculationStats());
        int k = sp.draft(seq, 8);
        assertThat(k).as("without the check the first pass would ask for 4").isEqualTo(allowed);
        for (int i = 0; i < k; i++) {
            assertThat(sp.draftToken(i)).isEqualTo(draft[i]);
        }
    }

    @Test
    void greedyJsonUnderASchemaIsTheSameWithPromptLookupSpeculation() throws Exception {
        ObjectMapper json = new ObjectMapper();
        String schema = SchemaValidityTest.SCHEMAS[0][1];
        SchemaCheck check = new SchemaCheck(json.readTree(schema));
        // the prompt holds JSON-like text (so prompt lookup proposes drafts), some of it invalid here
        String prompt = "Lily said {\"name\": \"Lily\", \"age\": 3, \"ok\": true}. Tom said {\"name\": \"Tom\", \"age\": \"three\"}. Ben said ";
        Generator g = new Generator(tiny, KvCache.Precision.F16);
        GenerationRequest req = GenerationRequest.of(prompt, 120, SamplingParams.greedy())
                .withConstraint(GrammarConstraint.factory(JsonSchemaGrammar.compile(json.readValue(schema, Object.class))));
        GenerationResult a = g.generate(req, 512, s -> { });
        GenerationResult b = g.generate(req.withSpeculation(SpeculationParams.ngram().withDraft(0, 8)), 512, s -> { });
        assertThat(b.generatedTokens()).as(b.text()).containsExactly(a.generatedTokens());
        assertThat(b.text()).isEqualTo(a.text());
        assertThat(a.finishReason()).as(a.text()).isEqualTo(FinishReason.END_OF_SEQUENCE);
        assertThat(check.validate(json.readTree(a.text()))).as(a.text()).isEmpty();
        SpeculationStats st = g.speculationStats();
        assertThat(st.verifyPasses()).as("drafts were verified").isPositive();
        assertThat(st.accepted()).as("some drafts were accepted").isPositive();
    }
}
