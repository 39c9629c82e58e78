package dev.argon.grammar;

import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.Qwen2VocabGguf;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trie-walk mask against brute force (every token's bytes fed one by one) on real
 * vocabularies: SentencePiece with byte fallback (Llama 2), byte-level BPE (GPT-2, Qwen2 at 151k
 * tokens), at states inside keys, numbers, literals and a partial UTF-8 character.
 */
class GrammarMaskTest {
    private static final String[] PREFIXES = {"", "{", "{\"na", "{\"a\": 1", "{\"a\": -",
            "{\"a\": [tr", "{\"a\": \"x\\", "{\"a\": \"\u00e9\u20ac", "{\"b\": {}", "{}",
            // deeper than the stack tops the precomputed masks are keyed by
            "{\"a\": [[{\"b\": [\"x", "{\"a\": {\"b\": {\"c\": 12", "{\"a\": [{}, [1, {\"q\": \"\"}"};

    @Test
    void sentencePieceByteFallback() {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-llama-spm.gguf"))) {
            check(Tokenizers.fromGguf(f));
        }
    }

    @Test
    void gpt2ByteLevel() {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-gpt-2.gguf"))) {
            check(Tokenizers.fromGguf(f));
        }
    }

    @Test
    void qwen2ByteLevel151k(@TempDir Path dir) {
        Path p = Qwen2VocabGguf.write(dir.resolve("qwen2.gguf"), Map.of("tokenizer.ggml.eos_token_id", 151645L));
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer t = Tokenizers.fromGguf(f);
            assertThat(t.vocabSize()).isGreaterThan(150_000);
            check(t);
        }
    }

    private static void check(Tokenizer tok) {
        Grammar g = JsonGrammar.object();
        for (String prefix : PREFIXES) {
            GrammarConstraint c = new GrammarConstraint(g, tok);
            c.feed(prefix.getBytes(StandardCharsets.UTF_8));
            long[] mask = c.allowed();
            int allowed = 0;
            java.util.List<String> wrong = new java.util.ArrayList<>();
            for (int id = 0; id < tok.vocabSize(); id++) {
                boolean expected = bruteForce(c, tok, id);
                boolean got = (mask[id >>> 6] & (1L << id)) != 0;
                if (got != expected) {
                    wrong.add(id + " (" + tok.piece(id) + ") mask " + got + ", brute force " + expected);
                }
                if (got) {
                    allowed++;
                }
            }
            assertThat(wrong).as("tokens the mask gets wrong after %s", prefix).isEmpty();
            assertThat(allowed).as("tokens allowed after %s", prefix).isPositive();
            if (prefix.equals("{}")) {
                assertThat(allowed).as("only end-of-generation after a complete object").isEqualTo(eogCount(tok));
            }
        }
        // a partial UTF-8 character: after the first byte of 'é' only continuation bytes may follow
        GrammarConstraint c = new GrammarConstraint(g, tok);
        c.feed(new byte[]{'{', '"', (byte) 0xC3});
        long[] mask = c.allowed();
        int n = 0;
        for (int id = 0; id < tok.vocabSize(); id++) {
            boolean got = (mask[id >>> 6] & (1L << id)) != 0;
            if (got && (tok.tokenBytes(id)[0] & 0xC0) != 0x80) {
                throw new AssertionError("token " + id + " allowed after a UTF-8 lead byte");
            }
            if (got != bruteForce(c, tok, id)) {
                throw new AssertionError("token " + id + " mask " + got + " after a UTF-8 lead byte");
            }
            n += got ? 1 : 0;
        }
        assertThat(n).as("continuation-byte tokens").isPositive();
    }

    /**
     * Along a document of a JSON schema with bounded strings, an enum, anyOf and nested arrays,
     * the masks assembled from precomputed per-stack masks equal a full walk of the trie at
     * every token, and no stack top is met that the grammar's enumeration missed.
     */
    @Test
    void precomputedMasksEqualTheWalkOnASchema() throws Exception {
        String schema = """
                {"type": "object", "properties": {
                  "name": {"type": "string", "maxLength": 12},
                  "kind": {"enum": ["a", "bc", "def"]},
                  "v": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}]}},
                 "required": ["name", "kind", "v"]}""";
        Grammar g = Grammar.parseFresh(JsonSchemaGrammar.toGbnf(
                new com.fasterxml.jackson.databind.ObjectMapper().readValue(schema, Object.class)));
        String doc = "{\"name\": \"Zo\u00eb \\\"Q\\\"\", \"kind\": \"bc\", \"v\": [[\"x\", \"\"], [], [\"\u20ac1\"]]}";
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-gpt-2.gguf"))) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            GrammarConstraint c = new GrammarConstraint(g, tok);
            int keys = c.stackMasks().size();
            assertThat(keys).isPositive();
            int steps = 0;
            for (int t : tok.encode(doc, false, false)) {
                assertThat(c.allowed()).as("mask after %d tokens", steps).isEqualTo(c.walkAllowed());
                c.accept(t);
                steps++;
            }
            assertThat(c.complete()).isTrue();
            assertThat(c.allowed()).isEqualTo(c.walkAllowed());
            assertThat(c.stackMasks().size()).as("keys computed at run time").isEqualTo(keys);
        }
    }

    private static int eogCount(Tokenizer tok) {
        int n = 0;
        for (int id = 0; id < tok.vocabSize(); id++) {
            n += tok.isEndOfGeneration(id) ? 1 : 0;
        }
        return n;
    }

    /** Feeds the token's bytes one by one from the constraint's state. */
    private static boolean bruteForce(GrammarConstraint c, Tokenizer tok, int id) {
        GrammarAutomaton a = c.automaton();
        if (tok.isEndOfGeneration(id)) {
            return a.accepting(c.state());
        }
        byte[] b = tok.tokenBytes(id);
        if (tok.isControl(id) || b.length == 0) {
            return false;
        }
        int s = c.state();
        for (byte x : b) {
            s = a.step(s, x & 0xFF);
            if (s == GrammarAutomaton.DEAD) {
                return false;
            }
        }
        return true;
    }
}
