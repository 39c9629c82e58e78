package dev.argon.eval;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link Perplexity} against llama.cpp's {@code llama-perplexity} on {@code eval-stories.txt}
 * ({@code ../shared/reference/README.md}: TinyLLama-v0 Q4_0 at {@code -c 128} 22.2735, F16 KV
 * cache; a current native AVX2 build gives 22.2707 without and 22.2741 with flash attention),
 * and {@link KlDivergence} on the same runs.
 */
class PerplexityTest {
    private static LanguageModel tiny;
    private static int[] tokens;
    private static String text;

    @BeforeAll
    static void load() throws Exception {
        tiny = Models.load(TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf"), 2);
        text = Files.readString(TestFiles.reference("eval-stories.txt"));
        tokens = tiny.tokenizer().encode(text, true, false);
    }

    @AfterAll
    static void close() {
        if (tiny != null) {
            tiny.close();
        }
    }

    @Test
    void tinyLlamaMatchesLlamaCppWithinATenthOfAPercent() {
        Perplexity.Result r = Perplexity.evaluate(tiny, tokens, 128, 64, KvCache.Precision.F16, -1, null, null);
        assertThat(r.chunks()).isEqualTo(9);
        assertThat(r.scored()).isEqualTo(9 * 63);
        assertThat(r.ppl()).isCloseTo(22.2735, within(22.2735 * 0.001));
        assertThat(r.pplError()).isCloseTo(2.43, within(0.02));
        // the first running estimate is chunk 1 alone: llama.cpp printed 13.9051 (13.8779 / 13.9745 now)
        assertThat(r.runningPpl()[0]).isCloseTo(13.9051, within(0.1));
        assertThat(r.finalLine()).startsWith("Final estimate: PPL = 22.2").contains(" +/- 2.4");
    }

    @Test
    void stories260KMatchesLlamaCpp() {
        try (LanguageModel m = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 2)) {
            int[] ids = m.tokenizer().encode(text, true, false);
            Perplexity.Result r = Perplexity.evaluate(m, ids, 128, 64, KvCache.Precision.F16, -1, null, null);
            assertThat(r.chunks()).isEqualTo(17);
            assertThat(r.ppl()).isCloseTo(5.5026, within(5.5026 * 0.001));
        }
    }

    @Test
    void theBatchSizeDoesNotChangeTheResult() {
        Perplexity.Result a = Perplexity.evaluate(tiny, tokens, 128, 64, KvCache.Precision.F16, 2, null, null);
        Perplexity.Result b = Perplexity.evaluate(tiny, tokens, 128, 5, KvCache.Precision.F16, 2, null, null);
        assertThat(b.ppl()).isEqualTo(a.ppl());
        assertThat(b.runningPpl()).containsExactly(a.runningPpl());
    }

    @Test
    void aTextShorterThanTwoChunksIsRefusedWithTheNumbers() {
        assertThatThrownBy(() -> Perplexity.evaluate(tiny, java.util.Arrays.copyOf(tokens, 200), 128, 64, KvCache.Precision.F16, -1, null, null))
                .isInstanceOf(ArgonException.class)
                .hasMessageContaining("200 tokens").hasMessageContaining("at least 256");
    }

    @Test
    void klDivergenceOfARunWithItselfIsZeroAndOfAnF32CacheSmall(@TempDir Path dir) {
        Path base = dir.resolve("base.kld");
        int chunks = 2;
        Perplexity.Result ref;
        try (KlDivergence.Writer w = KlDivergence.writer(base, tiny.config().vocabSize(), 128, chunks, tokens)) {
            ref = Perplexity.evaluate(tiny, tokens, 128, 64, KvCache.Precision.F32, chunks, w, null);
        }
        assertThat(base).hasSize(24 + 4L * 128 * chunks + 4L * 32000 * 63 * chunks);
        assertThat(dir).isDirectoryNotContaining("glob:**.tmp");

        KlDivergence.Stats same;
        try (KlDivergence.Comparison c = KlDivergence.reader(base, tiny.config().vocabSize(), 128, chunks, tokens)) {
            Perplexity.evaluate(tiny, tokens, 128, 16, KvCache.Precision.F32, chunks, c, null);
            same = c.stats();
        }
        assertThat(same.positions()).isEqualTo(63L * chunks);
        assertThat(same.meanKld()).isZero();
        assertThat(same.top1Agreement()).isEqualTo(1.0);
        // the file holds float log-probabilities, the estimate sums doubles: equal to ~1e-8 relative
        assertThat(same.ppl()).isCloseTo(ref.ppl(), within(1e-6));
        assertThat(same.pplBase()).isEqualTo(same.ppl());

        KlDivergence.Stats f16;
        Perplexity.Result r16;
        try (KlDivergence.Comparison c = KlDivergence.reader(base, tiny.config().vocabSize(), 128, chunks, tokens)) {
            r16 = Perplexity.evaluate(tiny, tokens, 128, 64, KvCache.Precision.F16, chunks, c, null);
            f16 = c.stats();
        }
        // rounding keys and values to F16 moves this small model's distribution a little
        assertThat(f16.meanKld()).isGreaterThan(1e-6).isLessThan(0.05);
        assertThat(f16.top1Agreement()).isGreaterThan(0.8).isLessThanOrEqualTo(1.0);
        assertThat(f16.ppl()).isCloseTo(r16.ppl(), within(1e-6 * r16.ppl()));
        assertThat(Math.exp(f16.meanLnRatio())).isCloseTo(r16.ppl() / ref.ppl(), within(1e-6));
        assertThat(f16.report()).contains("Mean    KLD").contains("Same top p");
    }

    @Test
    void aBaseFileFromAnotherRunIsRefusedNamingTheDifference(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base.kld");
        try (KlDivergence.Writer w = KlDivergence.writer(base, tiny.config().vocabSize(), 128, 2, tokens)) {
            Perplexity.evaluate(tiny, tokens, 128, 64, KvCache.Precision.F16, 2, w, null);
        }
        assertThatThrownBy(() -> KlDivergence.reader(base, tiny.config().vocabSize(), 64, 2, tokens))
                .isInstanceOf(ArgonException.class).hasMessageContaining("context (-c) 128, this run has 64");
        int[] other = tokens.clone();
        other[200] = 5;
        assertThatThrownBy(() -> KlDivergence.reader(base, tiny.config().vocabSize(), 128, 2, other))
                .isInstanceOf(ArgonException.class).hasMessageContaining("token 200");
        Path cut = dir.resolve("cut.kld");
        Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(base), 100_000));
        assertThatThrownBy(() -> KlDivergence.reader(cut, tiny.config().vocabSize(), 128, 2, tokens))
                .isInstanceOf(ArgonException.class).hasMessageContaining("truncated");
        Path junk = dir.resolve("junk.kld");
        Files.writeString(junk, "hello, this is not a base file at all");
        assertThatThrownBy(() -> KlDivergence.reader(junk, tiny.config().vocabSize(), 128, 2, tokens))
                .isInstanceOf(ArgonException.class).hasMessageContaining("magic");
    }
}
