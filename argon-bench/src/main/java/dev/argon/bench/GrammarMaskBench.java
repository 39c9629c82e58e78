package dev.argon.bench;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.grammar.Grammar;
import dev.argon.grammar.GrammarConstraint;
import dev.argon.grammar.JsonGrammar;
import dev.argon.grammar.JsonSchemaGrammar;
import dev.argon.grammar.TokenTrie;
import dev.argon.tokenizer.BpeFiles;
import dev.argon.tokenizer.Tokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Grammar-constrained decoding cost per token on large real vocabularies (Llama 3's 128,256
 * tokens, Qwen2's 151,665), single thread: each operation advances a {@link GrammarConstraint}
 * by one token of a fixed JSON document (tokenized by the vocabulary itself) and computes the
 * allowed set for the next token. Each document starts a new constraint; with {@code cache=cold}
 * also a newly compiled grammar (compiled outside the timed calls and measured by {@code compile}),
 * so the percentiles include every parser state and mask met for the first time (a grammar's
 * first request). JMH's sample mode reports p50, p99 and max per token.
 *
 * <ul>
 *   <li>{@code mask}: the allowed-token bit set ({@link GrammarConstraint#allowed}) and the token's
 *       {@code accept};</li>
 *   <li>{@code maskLogits}: what {@code Sequence} does per token: copy the logits
 *       ({@code [vocab]} floats), set the disallowed ones to -inf, accept the token;</li>
 *   <li>{@code compile}: GBNF / JSON-schema compile, the precomputed per-stack masks for the
 *       vocabulary, plus the first mask (trie built once per vocabulary beforehand).</li>
 * </ul>
 *
 * <p>Grammars: {@code json} = any JSON object ({@link JsonGrammar#OBJECT}); {@code schema} = a
 * JSON schema with nested objects, arrays, enums and bounded strings; {@code gbnf} = llama.cpp's
 * {@code grammars/json.gbnf}, read from {@code -Dargon.jsonGbnf=FILE} or
 * {@code ~/.cache/llama.cpp-native/grammars/json.gbnf} (where {@code ../shared/tools/build-llama-cpp.sh}
 * puts llama.cpp). Vocabularies come from {@code ../shared/models/tokenizers} (or
 * {@code -Dargon.shared=DIR}).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class GrammarMaskBench {
    /** A JSON schema of the kind structured-output requests send. */
    public static final String SCHEMA = """
            {"type": "object", "properties": {
              "name": {"type": "string", "maxLength": 40},
              "age": {"type": "integer", "minimum": 0},
              "email": {"type": "string"},
              "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
              "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}, "required": ["street", "city"]},
              "status": {"enum": ["active", "inactive", "banned"]},
              "score": {"type": "number"}},
             "required": ["name", "age", "tags", "address", "status"]}""";
    /** A document valid under both grammars, in the schema's property order. */
    public static final String DOCUMENT = "{\"name\": \"Ada Lovelace\", \"age\": 36, \"tags\": [\"mathematics\", \"poetry\","
            + " \"engines\"], \"address\": {\"street\": \"12 St James's Square\", \"city\": \"London\", \"zip\": \"12345\"},"
            + " \"status\": \"active\", \"email\": \"ada@example.org\", \"score\": 98.5}";

    @Param({"llama3", "qwen2"})
    public String vocab;

    @Param({"json", "schema", "gbnf"})
    public String grammar;

    /**
     * {@code cold}: every document starts with a newly compiled grammar, so no parser state or
     * mask is known (a grammar's first request); {@code warm}: documents share them (a server
     * seeing the same schema again).
     */
    @Param({"cold", "warm"})
    public String cache;

    private Tokenizer tokenizer;
    private Grammar compiled;
    private String gbnf;
    private int[] tokens;
    private float[] logits;
    private float[] work;
    private GrammarConstraint constraint;
    private int pos;

    @Setup
    public void setUp() throws IOException {
        tokenizer = tokenizer(vocab);
        gbnf = grammarText(grammar);
        compiled = Grammar.parse(gbnf);
        tokens = tokenizer.encode(DOCUMENT, false, false);
        TokenTrie.of(tokenizer);
        logits = BenchSupport.gaussian(tokenizer.vocabSize(), 7, 1f);
        work = new float[logits.length];
        // the document must be a string of the grammar, token by token
        GrammarConstraint c = new GrammarConstraint(compiled, tokenizer);
        for (int t : tokens) {
            c.allowed();
            c.accept(t);
        }
        if (!c.complete()) {
            throw new IllegalStateException("the benchmark document is not complete under the " + grammar + " grammar");
        }
    }

    /** Starts the next document when the last one is done, outside the timed call. */
    @Setup(Level.Invocation)
    public void next() {
        if (pos == tokens.length || constraint == null) {
            constraint = new GrammarConstraint(cache.equals("cold") ? Grammar.parseFresh(gbnf) : compiled, tokenizer);
            pos = 0;
        }
    }

    @Benchmark
    public long[] mask() {
        long[] m = constraint.allowed();
        constraint.accept(tokens[pos++]);
        return m;
    }

    @Benchmark
    public float[] maskLogits() {
        System.arraycopy(logits, 0, work, 0, work.length);
        constraint.mask(work);
        constraint.accept(tokens[pos++]);
        return work;
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long[] compile() throws IOException {
        return new GrammarConstraint(Grammar.parseFresh(grammarText(grammar)), tokenizer).allowed();
    }

    /** @return the GBNF of grammar {@code name} ({@code json}, {@code schema} or {@code gbnf}) */
    static String grammarText(String name) throws IOException {
        return switch (name) {
            case "json" -> JsonGrammar.OBJECT;
            case "schema" -> JsonSchemaGrammar.toGbnf(new ObjectMapper().readValue(SCHEMA, Object.class));
            case "gbnf" -> {
                String p = System.getProperty("argon.jsonGbnf");
                Path f = p != null ? Path.of(p)
                        : Path.of(System.getProperty("user.home"), ".cache/llama.cpp-native/grammars/json.gbnf");
                if (!Files.isRegularFile(f)) {
                    throw new IllegalStateException(f + " not found: run ../shared/tools/build-llama-cpp.sh or pass"
                            + " -Dargon.jsonGbnf=FILE (llama.cpp's grammars/json.gbnf)");
                }
                yield Files.readString(f);
            }
            default -> throw new IllegalArgumentException("grammar " + name + " (expected json, schema or gbnf)");
        };
    }

    /**
     * Prints the benchmark's inputs for other engines (tools/llama-cpp/grammar-mask.sh):
     * {@code document} = {@link #DOCUMENT}; {@code schema} = {@link #SCHEMA}; {@code grammar NAME} =
     * the GBNF of {@code json}, {@code schema} or {@code gbnf}; {@code allowed VOCAB FILE} = the
     * allowed-token count summed over the document's positions under the GBNF in FILE.
     */
    public static void main(String[] args) throws IOException {
        if (args.length == 1 && args[0].equals("document")) {
            System.out.print(DOCUMENT);
        } else if (args.length == 1 && args[0].equals("schema")) {
            System.out.print(SCHEMA);
        } else if (args.length == 3 && args[0].equals("allowed")) {
            // allowed tokens before each token of the document, summed: a cross-check with another engine's mask
            Tokenizer t = tokenizer(args[1]);
            GrammarConstraint c = new GrammarConstraint(Grammar.parseFresh(Files.readString(Path.of(args[2]))), t);
            int[] doc = t.encode(DOCUMENT, false, false);
            long total = 0;
            String dump = System.getenv("GRAMMAR_MASK_DUMP"); // "position token" per allowed token, as grammar-mask.cpp writes
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < doc.length; i++) {
                long[] m = c.allowed();
                for (int w = 0; w < m.length; w++) {
                    total += Long.bitCount(m[w]);
                    for (long b = m[w]; dump != null && b != 0; b &= b - 1) {
                        out.append(i).append(' ').append((w << 6) + Long.numberOfTrailingZeros(b)).append('\n');
                    }
                }
                c.accept(doc[i]);
            }
            if (dump != null) {
                Files.writeString(Path.of(dump), out);
            }
            System.out.println("vocab " + t.vocabSize() + ", document " + doc.length + " tokens, allowed tokens summed over the document "
                    + total + " (mean " + Math.round((double) total / doc.length) + ")");
        } else if (args.length == 2 && args[0].equals("grammar")) {
            System.out.print(grammarText(args[1]));
        } else {
            System.err.println("usage: GrammarMaskBench document | schema | grammar json|schema|gbnf | allowed llama3|qwen2 GBNF_FILE");
            System.exit(2);
        }
    }

    /** @return the document's token count under {@code vocab} (for the report) */
    public int documentTokens() {
        return tokens.length;
    }

    static Path shared() {
        String p = System.getProperty("argon.shared");
        for (Path c : new Path[]{p == null ? null : Path.of(p), Path.of("../shared"), Path.of("../../shared")}) {
            if (c != null && Files.isDirectory(c.resolve("models/tokenizers"))) {
                return c;
            }
        }
        throw new IllegalStateException("../shared/models/tokenizers not found; pass -Dargon.shared=DIR");
    }

    /** Builds Llama 3.2's or Qwen2.5's byte-level BPE tokenizer from its files, with the models' special tokens. */
    static Tokenizer tokenizer(String name) throws IOException {
        Path dir = shared().resolve("models/tokenizers");
        if (name.equals("llama3")) {
            Path d = dir.resolve("llama3.2");
            var b = BpeFiles.builder(vocabJson(d.resolve("encoder.json")), BpeFiles.readMerges(d.resolve("vocab.bpe")))
                    .source(d.toString()).preTokenizer("llama-bpe");
            String[] named = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"};
            for (int i = 0; i < 256; i++) {
                b.addedToken(128000 + i, i < named.length ? named[i] : "<|reserved_special_token_" + (i - named.length + 3) + "|>", true);
            }
            return b.bos(128000).eos(128009).build();
        }
        if (name.equals("qwen2")) {
            Path d = dir.resolve("qwen2");
            var b = BpeFiles.builder(vocabJson(d.resolve("vocab.json")), BpeFiles.readMerges(d.resolve("merges.txt")))
                    .source(d.toString()).preTokenizer("qwen2");
            List<String> added = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
                    "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>");
            for (int i = 0; i < added.size(); i++) {
                b.addedToken(151643 + i, added.get(i), !added.get(i).contains("tool_call"));
            }
            return b.bos(151643).eos(151645).build();
        }
        throw new IllegalArgumentException("vocab " + name + " (expected llama3 or qwen2)");
    }

    private static Map<String, Integer> vocabJson(Path p) throws IOException {
        Map<String, Integer> out = new HashMap<>(200_000);
        try (JsonParser in = new ObjectMapper().getFactory().createParser(p.toFile())) {
            if (in.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(p + ": expected a JSON object");
            }
            while (in.nextToken() == JsonToken.FIELD_NAME) {
                String token = in.currentName();
                in.nextToken();
                out.put(token, in.getIntValue());
            }
        }
        return out;
    }
}
