package dev.argon.compress;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.tensor.Simd;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link LmCodec} on stories260K (vocabulary of 512 with byte fallback): byte-exact round trips of
 * text, multilingual text and random bytes, with and without Equal-Info Windows; the same output
 * at 1 and 2 threads and at batch sizes 1 and 64; the code within 1% of the model's cross-entropy;
 * refusal of another model and another SIMD width.
 */
class LmCodecTest {
    private static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";
    private static final String MULTILINGUAL = "Grüße aus Zürich! Ça va? Привет, мир. 日本語のテキスト。 한국어 🙂👍 مرحبا\n\ttabs  and   spaces\r\n";
    private static LanguageModel model;
    private static byte[] id;
    private static byte[] stories;

    @BeforeAll
    static void load() throws IOException {
        Path p = TestFiles.model(STORIES);
        model = Models.load(p, new ModelOptions(2, true));
        id = ModelIdentity.of(p, model.tokenizer());
        stories = Arrays.copyOf(Files.readAllBytes(TestFiles.reference("eval-stories.txt")), 1500);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static LmCodec codec(LanguageModel m) {
        return new LmCodec(m, id, true, KvCache.Precision.F16);
    }

    private static byte[] roundTrip(LmCodec c, byte[] data, int context, int windowBits, int batch) throws IOException {
        byte[] z = c.compress(data, context, windowBits, batch);
        ByteArrayInputStream in = new ByteArrayInputStream(z);
        CompressedHeader h = CompressedHeader.read(in, "test");
        byte[] back = c.decompress(h, in, "test", null);
        assertThat(back).isEqualTo(data);
        return z;
    }

    @Test
    void textRoundTripsAndCostsWithinOnePercentOfTheModelsCrossEntropy() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LmCodec.Stats s = codec(model).compress(stories, out, 128, 0, 64, null);
        assertThat(s.windows()).isGreaterThan(1);
        // the code is within 0.5% of its ideal length under the quantized distribution, and no
        // longer than the model's own cross-entropy plus 1% (rare tokens cost at most 24 bits)
        assertThat((double) s.codeBits()).isBetween(s.quantizedBits(), s.quantizedBits() * 1.005 + 32);
        assertThat((double) s.codeBits()).isLessThan(s.modelBits() * 1.01);
        // stories260K compresses its own kind of text to well under 2 bits per byte
        assertThat(s.modelBits() / s.bytes()).isLessThan(2.5);
        byte[] z = out.toByteArray();
        assertThat((long) z.length).isEqualTo(s.fileBytes());
        CompressedHeader h = CompressedHeader.read(new ByteArrayInputStream(z), "t");
        assertThat(h.tokens()).isEqualTo(s.tokens());
        assertThat(h.vectorBits()).isEqualTo(Simd.vectorBits());
        ByteArrayInputStream in = new ByteArrayInputStream(z);
        CompressedHeader.read(in, "t");
        assertThat(codec(model).decompress(h, in, "t", null)).isEqualTo(stories);
    }

    @Test
    void multilingualTextAndRandomBytesRoundTrip() throws IOException {
        roundTrip(codec(model), MULTILINGUAL.getBytes(StandardCharsets.UTF_8), 64, 0, 16);
        byte[] random = new byte[300];
        new SplittableRandom(3).nextBytes(random);
        byte[] z = roundTrip(codec(model), random, 64, 0, 64);
        // stories260K gives byte tokens less than 2^-24, so each random byte costs about 24 bits, not more
        assertThat(z.length).isLessThan(300 * 3 + 100);
        roundTrip(codec(model), new byte[0], 64, 0, 64);
        roundTrip(codec(model), new byte[] {(byte) 0xC3}, 64, 0, 64); // a truncated UTF-8 character
    }

    @Test
    void equalInfoWindowsHoldExactlyTheirBitsAndRoundTrip() throws IOException {
        byte[] data = Arrays.copyOf(stories, 600);
        int bits = 64;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LmCodec.Stats s = codec(model).compress(data, out, 256, bits, 64, null);
        byte[] z = out.toByteArray();
        assertThat(s.windows()).isGreaterThan(5);
        ByteArrayInputStream in = new ByteArrayInputStream(z);
        CompressedHeader h = CompressedHeader.read(in, "t");
        assertThat(h.windowBits()).isEqualTo(bits);
        // every window: a one-byte token count (< 128 tokens here) and exactly 8 bytes of code
        assertThat((long) in.available()).isEqualTo(s.windows() * (1 + bits / 8));
        assertThat(codec(model).decompress(h, in, "t", null)).isEqualTo(data);
        byte[] multi = MULTILINGUAL.getBytes(StandardCharsets.UTF_8);
        roundTrip(codec(model), multi, 256, 32, 8);
    }

    @Test
    void outputIsTheSameAtOneAndTwoThreadsAndAnyBatchSize() throws IOException {
        byte[] data = Arrays.copyOf(stories, 700);
        byte[] ref = codec(model).compress(data, 96, 0, 64);
        byte[] batch1 = codec(model).compress(data, 96, 0, 1);
        byte[] batch7 = codec(model).compress(data, 96, 0, 7);
        assertThat(batch1).isEqualTo(ref);
        assertThat(batch7).isEqualTo(ref);
        try (LanguageModel one = Models.load(TestFiles.model(STORIES), new ModelOptions(1, true))) {
            byte[] t1 = codec(one).compress(data, 96, 0, 64);
            assertThat(t1).isEqualTo(ref);
            ByteArrayInputStream in = new ByteArrayInputStream(ref);
            CompressedHeader h = CompressedHeader.read(in, "t");
            assertThat(codec(one).decompress(h, in, "t", null)).isEqualTo(data);
        }
        byte[] eiw1 = codec(model).compress(data, 96, 48, 1);
        byte[] eiw64 = codec(model).compress(data, 96, 48, 64);
        assertThat(eiw1).isEqualTo(eiw64);
    }

    @Test
    void refusesAnotherModelAnotherSimdWidthAndCorruptData() throws IOException {
        byte[] data = "Once upon a time".getBytes(StandardCharsets.UTF_8);
        byte[] z = codec(model).compress(data, 64, 0, 64);
        CompressedHeader h = CompressedHeader.read(new ByteArrayInputStream(z), "x.argz");
        byte[] otherId = id.clone();
        otherId[0] ^= 1;
        LmCodec other = new LmCodec(model, otherId, true, KvCache.Precision.F16);
        assertThatThrownBy(() -> other.check(h, "x.argz")).isInstanceOf(ArgonException.class)
                .hasMessageContaining("x.argz: compressed with another model");
        CompressedHeader wider = new CompressedHeader(h.windowBits(), h.context(), Simd.vectorBits() == 512 ? 256 : 512, h.mode(),
                h.model(), h.bytes(), h.tokens(), h.crc32());
        assertThatThrownBy(() -> codec(model).check(wider, "x.argz")).isInstanceOf(ArgonException.class)
                .hasMessageContaining("SIMD kernels");
        LmCodec f32 = new LmCodec(model, id, false, KvCache.Precision.F16);
        assertThatThrownBy(() -> f32.check(h, "x.argz")).hasMessageContaining("arithmetic mode q8/f16");
        byte[] bad = z.clone();
        ByteArrayInputStream afterHeader = new ByteArrayInputStream(z);
        CompressedHeader.read(afterHeader, "x.argz");
        bad[z.length - afterHeader.available()] ^= (byte) 0x80; // the code's first bit
        ByteArrayInputStream in = new ByteArrayInputStream(bad);
        CompressedHeader hb = CompressedHeader.read(in, "x.argz");
        assertThatThrownBy(() -> codec(model).decompress(hb, in, "x.argz", null)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("does not match the original");
        assertThatThrownBy(() -> CompressedHeader.read(new ByteArrayInputStream(data), "x.txt"))
                .hasMessage("x.txt: not an Argon compressed file (expected the magic bytes \"ARGZ\")");
        assertThatThrownBy(() -> CompressedHeader.read(new ByteArrayInputStream(Arrays.copyOf(z, 20)), "x.argz"))
                .hasMessage("x.argz: truncated header");
    }

    @Test
    void modelIdentityDependsOnWeightsNotOnTheFileName() throws IOException {
        Path tiny = TestFiles.model("tinyllama-v0/TinyLLama-v0.Q4_0.gguf");
        Tokenizer tok;
        try (GgufFile f = GgufFile.open(tiny)) {
            tok = Tokenizers.fromGguf(f);
        }
        assertThat(ModelIdentity.of(tiny, tok)).isNotEqualTo(id).hasSize(32);
        assertThat(ModelIdentity.of(TestFiles.model(STORIES), model.tokenizer())).isEqualTo(id);
    }

    @Test
    void losslessTokensCoverAnyBytesWithByteLevelAndByteFallbackVocabulariesAndRefuseOthers() throws IOException {
        byte[] random = new byte[2000];
        new SplittableRandom(5).nextBytes(random);
        byte[] mixed = (MULTILINGUAL + new String(random, StandardCharsets.ISO_8859_1)).getBytes(StandardCharsets.UTF_8);
        for (String vocab : new String[] {"llama-cpp-vocab/ggml-vocab-gpt-2.gguf", "llama-cpp-vocab/ggml-vocab-llama-spm.gguf"}) {
            try (GgufFile f = GgufFile.open(TestFiles.model(vocab))) {
                LosslessTokens lt = new LosslessTokens(Tokenizers.fromGguf(f));
                for (byte[] d : new byte[][] {random, mixed, MULTILINGUAL.getBytes(StandardCharsets.UTF_8), " leading space".getBytes(StandardCharsets.UTF_8)}) {
                    assertThat(lt.decode(lt.encode(d))).as(vocab).isEqualTo(d);
                }
                // text is tokenized as the tokenizer does (not byte by byte)
                byte[] text = "Once upon a time there was a little girl".getBytes(StandardCharsets.UTF_8);
                assertThat(lt.encode(text).length).isLessThan(text.length / 3);
            }
        }
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-bert-bge.gguf"))) {
            Tokenizer bert = Tokenizers.fromGguf(f);
            assertThatThrownBy(() -> new LosslessTokens(bert)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("has no token for the byte 0x");
        }
    }
}
