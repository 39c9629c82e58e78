package dev.argon.generate;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** --ban-string by backtracking on stories260K: the string never appears, in the result or the stream. */
class BannedStringsTest {
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

    @Test
    void aBannedStringNeverAppearsWhileItOftenDoesWithoutTheBan() {
        Generator plain = new Generator(model);
        Generator banning = new Generator(model).withBannedStrings(List.of("Lily", " she"));
        int plainHits = 0;
        for (int seed = 0; seed < 30; seed++) {
            GenerationRequest req = GenerationRequest.of("Once upon a time", 60, new SamplingParams(1f, 0, 1f, 0f, 1f, 64, seed));
            String p = plain.generate(req, CTX, s -> { }).text();
            plainHits += p.contains("Lily") || p.contains(" she") ? 1 : 0;
            StringBuilder streamed = new StringBuilder();
            GenerationResult b = banning.generate(req, CTX, streamed::append);
            assertThat(b.text()).as("seed %d", seed).doesNotContain("Lily").doesNotContain(" she");
            assertThat(streamed.toString()).isEqualTo(b.text());
            assertThat(b.generatedTokens()).hasSizeLessThanOrEqualTo(60);
            if (!p.contains("Lily") && !p.contains(" she")) {
                assertThat(b.text()).as("seed %d: no ban needed, same text", seed).isEqualTo(p);
            }
        }
        assertThat(plainHits).as("texts with a banned string without the ban").isGreaterThan(10);
    }

    @Test
    void greedyBacktracksToTheTokenThatStartedTheString() {
        GenerationRequest req = GenerationRequest.of("Once upon a time", 30, SamplingParams.greedy());
        String plain = new Generator(model).generate(req, CTX, s -> { }).text();
        assertThat(plain).startsWith(", there was a little girl named Lily.");
        GenerationResult banned = new Generator(model).withBannedStrings(List.of("Lily")).generate(req, CTX, s -> { });
        assertThat(banned.text()).startsWith(", there was a little girl named ").doesNotContain("Lily");
        assertThatThrownBy(() -> new Generator(model).withBannedStrings(List.of(""))).isInstanceOf(ArgonException.class);
    }
}
