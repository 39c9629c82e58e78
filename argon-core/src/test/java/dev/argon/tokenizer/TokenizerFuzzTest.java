package dev.argon.tokenizer;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes every tokenizer type on real vocabularies: SentencePiece (Llama 2, Phi-3, Baichuan),
 * byte-level BPE with several pre-tokenizer rule sets (gpt-2, llama-bpe, qwen2, deepseek-coder,
 * falcon, starcoder, mpt) and WordPiece (BERT).
 *
 * <ul>
 *   <li>{@link #encode}: any text, with and without special-token parsing, encodes without an
 *       exception to ids inside the vocabulary; for the lossless tokenizers (byte-level BPE, and
 *       SentencePiece with byte fallback) decoding gives the text back, after the leading space
 *       SentencePiece adds ({@link Tokenizer#addsSpacePrefix()}).
 *   <li>{@link #decode}: any in-range ids decode without an exception, the streaming decoder gives
 *       the same text, and an out-of-range id is an {@link IllegalArgumentException} naming it.
 * </ul>
 *
 * <p>Regression inputs are in {@code TokenizerFuzzTestInputs/{encode,decode}} in the test
 * resources; {@code tools/fuzz.sh tokenize|detokenize SECONDS} fuzzes.
 */
class TokenizerFuzzTest {
    /**
     * A tokenizer under test. {@code lossless}: decode(encode(text)) gives the text back when
     * every byte of the text has a token of its own ({@code byteTokens}); llama.cpp, and Argon
     * with it, drops a byte that has none (Falcon's vocabulary lacks a few control bytes).
     * {@code userDefined}: texts of user-defined tokens, which are matched even as plain text;
     * SentencePiece, as llama.cpp, prefixes the text after one with another space.
     */
    record Subject(String name, Tokenizer tokenizer, boolean lossless, boolean[] byteTokens, List<String> userDefined) {
        Subject(String name, Tokenizer tokenizer, boolean lossless) {
            this(name, tokenizer, lossless, byteTokens(tokenizer), userDefined(tokenizer));
        }

        private static List<String> userDefined(Tokenizer t) {
            List<String> out = new ArrayList<>();
            if (t instanceof VocabularyTokenizer v) {
                for (int id = 0; id < t.vocabSize(); id++) {
                    if (v.vocabulary().tokenType(id) == Vocabulary.USER_DEFINED) {
                        out.add(t.piece(id));
                    }
                }
            }
            return List.copyOf(out);
        }

        boolean mentionsUserDefined(String text) {
            for (String u : userDefined) {
                if (!u.isEmpty() && text.contains(u)) {
                    return true;
                }
            }
            return false;
        }

        private static boolean[] byteTokens(Tokenizer t) {
            boolean[] has = new boolean[256];
            for (int id = 0; id < t.vocabSize(); id++) {
                byte[] b = t.tokenBytes(id);
                if (b.length == 1) {
                    has[b[0] & 0xFF] = true;
                }
            }
            return has;
        }

        boolean coversBytesOf(byte[] text) {
            for (byte b : text) {
                if (!byteTokens[b & 0xFF]) {
                    return false;
                }
            }
            return true;
        }
    }

    private static final List<Subject> SUBJECTS = load();

    private static List<Subject> load() {
        List<Subject> s = new ArrayList<>();
        // SentencePiece: all three have byte fallback tokens <0x00>..<0xFF>, so nothing is lost
        // (measured: every byte has a token)
        s.add(gguf("llama-spm", true));
        s.add(gguf("phi-3", true));
        s.add(gguf("baichuan", true));
        // byte-level BPE: lossless for bytes with a token; gpt-2, llama3.2 and qwen2 have all 256,
        // deepseek-coder and mpt lack only bytes that never occur in UTF-8 (c0 c1 f5..ff),
        // starcoder also f1, falcon also f2 and 14 control bytes (03 04 05 0b 11 ...)
        s.add(gguf("gpt-2", true));
        s.add(gguf("deepseek-coder", true));
        s.add(gguf("falcon", true));
        s.add(gguf("starcoder", true));
        s.add(gguf("mpt", true));
        try {
            s.add(new Subject("llama3.2 (llama-bpe)", BpeTestFiles.llama3(), true));
            s.add(new Subject("qwen2.5 (qwen2)", BpeTestFiles.qwen2(), true));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // WordPiece lower-cases, strips accents and maps unknown words to [UNK]: lossy
        s.add(gguf("bert-bge", false));
        return List.copyOf(s);
    }

    private static Subject gguf(String name, boolean lossless) {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-" + name + ".gguf"))) {
            return new Subject(name, Tokenizers.fromGguf(f), lossless);
        }
    }

    @FuzzTest(maxDuration = "10m")
    void encode(FuzzedDataProvider data) {
        Subject s = SUBJECTS.get(data.consumeInt(0, SUBJECTS.size() - 1));
        boolean parseSpecial = data.consumeBoolean();
        boolean addSpecial = data.consumeBoolean();
        String text = data.consumeRemainingAsString();
        Tokenizer t = s.tokenizer();
        int[] ids = t.encode(text, addSpecial, parseSpecial);
        for (int id : ids) {
            if (id < 0 || id >= t.vocabSize()) {
                throw new AssertionError(s.name() + ": encode gave id " + id + " outside the vocabulary of " + t.vocabSize());
            }
        }
        String decoded = t.decode(ids);
        // Round trip: only for lossless tokenizers, plain text (parsed control tokens render as
        // nothing), well-formed UTF-16 (a lone surrogate cannot be encoded as UTF-8), and, for
        // SentencePiece, without U+2581, its own stand-in for the space.
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        boolean wellFormed = new String(utf8, StandardCharsets.UTF_8).equals(text);
        if (s.lossless() && !parseSpecial && !addSpecial && wellFormed && s.coversBytesOf(utf8)
                && !(t.addsSpacePrefix() && (text.indexOf('\u2581') >= 0 || s.mentionsUserDefined(text)))) {
            String expected = t.addsSpacePrefix() && !text.isEmpty() ? " " + text : text;
            if (!decoded.equals(expected)) {
                throw new AssertionError(s.name() + ": decode(encode(text)) differs from the text:\n  text    "
                        + escape(expected) + "\n  decoded " + escape(decoded) + "\n  ids     " + java.util.Arrays.toString(ids));
            }
        }
    }

    @FuzzTest(maxDuration = "10m")
    void decode(FuzzedDataProvider data) {
        Subject s = SUBJECTS.get(data.consumeInt(0, SUBJECTS.size() - 1));
        Tokenizer t = s.tokenizer();
        int bad = data.consumeInt();
        int[] ids = data.consumeInts(64);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Math.floorMod(ids[i], t.vocabSize());
        }
        String text = t.decode(ids);
        StreamingDecoder stream = new StreamingDecoder(t);
        StringBuilder streamed = new StringBuilder();
        for (int id : ids) {
            streamed.append(stream.append(id));
            t.piece(id);
            t.isControl(id);
            t.isEndOfGeneration(id);
        }
        streamed.append(stream.flush());
        if (!streamed.toString().equals(text)) {
            throw new AssertionError(s.name() + ": streaming decode differs from decode:\n  decode    " + escape(text)
                    + "\n  streaming " + escape(streamed.toString()));
        }
        // an id outside the vocabulary is a clear IllegalArgumentException (or ArgonException)
        if (bad >= 0 && bad < t.vocabSize()) {
            bad = bad % 2 == 0 ? -1 - bad : t.vocabSize() + bad;
        }
        int[] withBad = java.util.Arrays.copyOf(ids, ids.length + 1);
        withBad[ids.length] = bad;
        try {
            t.decode(withBad);
            throw new AssertionError(s.name() + ": decode accepted the out-of-range id " + bad);
        } catch (IllegalArgumentException | ArgonException expected) {
            if (expected.getMessage() == null || !expected.getMessage().contains(Integer.toString(bad))) {
                throw new AssertionError(s.name() + ": the error for id " + bad + " does not name it: " + expected.getMessage());
            }
        }
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(c -> sb.append(c >= 0x20 && c < 0x7f ? Character.toString(c) : String.format("\\u{%x}", c)));
        return sb.append('"').toString();
    }
}
