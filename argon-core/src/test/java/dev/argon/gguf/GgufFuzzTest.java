package dev.argon.gguf;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.argon.ArgonException;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.tokenizer.Tokenizers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Fuzzes the GGUF reader: arbitrary bytes are written to a file and opened; every file must
 * either open with a consistent tensor table and metadata or fail with an {@link ArgonException}.
 * Anything else (an index out of bounds, a negative array size, running out of memory on a huge
 * length field, ...) is a reader bug. When the metadata names a tokenizer it is loaded and used
 * too, since a corrupt vocabulary must also fail with an {@link ArgonException}.
 *
 * <p>Regression inputs (seeds and past crashes) are in {@code GgufFuzzTestInputs/openAndValidate}
 * next to this class in the test resources; {@code tools/fuzz.sh gguf SECONDS} fuzzes.
 */
class GgufFuzzTest {
    private static final Path FILE = tempFile();

    private static Path tempFile() {
        try {
            Path p = Files.createTempFile("argon-fuzz-", ".gguf");
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "10m")
    void openAndValidate(byte[] data) throws IOException {
        Files.write(FILE, data);
        GgufFile f;
        try {
            f = GgufFile.open(FILE);
        } catch (ArgonException expected) {
            return;
        }
        try (f) {
            validate(f, data.length);
            if (f.has("tokenizer.ggml.model")) {
                useTokenizer(f);
            }
        }
    }

    private static void validate(GgufFile f, long size) {
        check(f.version() >= 1 && f.version() <= 3, "version " + f.version());
        check(f.fileSize() == size, "file size");
        check(f.alignment() > 0 && (f.alignment() & (f.alignment() - 1)) == 0, "alignment " + f.alignment());
        check(f.dataOffset() % f.alignment() == 0, "data offset not aligned");
        for (GgufTensorInfo t : f.tensors()) {
            check(f.tensor(t.name()) == t, "tensor lookup " + t.name());
            check(t.shape().length >= 1 && t.shape().length <= 4, "dims of " + t.name());
            for (long d : t.shape()) {
                check(d > 0, "dimension " + d + " of " + t.name());
            }
            check(t.offset() >= 0 && t.offset() % f.alignment() == 0, "offset of " + t.name());
            check(t.byteSize() == t.type().bytesFor(t.elementCount()), "byte size of " + t.name());
            check(f.dataOffset() + t.offset() + t.byteSize() <= size, "data of " + t.name() + " past the end");
            MemorySegment seg = f.tensorData(t);
            check(seg.byteSize() == t.byteSize(), "segment size of " + t.name());
            if (seg.byteSize() > 0) {
                seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, seg.byteSize() - 1);
            }
            t.shapeString();
        }
        for (Map.Entry<String, Object> e : f.metadata().entrySet()) {
            String key = e.getKey();
            GgufValueType type = f.typeOf(key);
            check(type != null, "type of " + key);
            Object v = e.getValue();
            switch (type) {
                case STRING -> f.getString(key);
                case ARRAY -> f.getArray(key).toString();
                case BOOL -> f.getBool(key, false);
                case FLOAT32, FLOAT64 -> f.getFloat(key);
                default -> {
                    f.getLong(key);
                    try {
                        f.getInt(key);
                    } catch (ArgonException outOfIntRange) {
                        // a documented user error for values beyond 32 bits
                    }
                }
            }
            check(v != null, "null value of " + key);
        }
    }

    /** Loads the tokenizer the fuzzed metadata describes and round-trips a little text through it. */
    private static void useTokenizer(GgufFile f) {
        Tokenizer t;
        try {
            t = Tokenizers.fromGguf(f);
        } catch (ArgonException expected) {
            return;
        }
        for (String text : new String[]{"", "Hello world", " a  ab\n\u00e9\u4e2d\uD83D\uDE00", "<s><|im_start|>[CLS]"}) {
            for (boolean special : new boolean[]{false, true}) {
                int[] ids;
                try {
                    ids = t.encode(text, true, special);
                } catch (ArgonException vocabularyCannotEncode) {
                    continue; // e.g. a byte with neither a byte token nor an unknown token
                }
                for (int id : ids) {
                    check(id >= 0 && id < t.vocabSize(), "encode gave id " + id + " outside 0.." + t.vocabSize());
                }
                t.decode(ids);
            }
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("inconsistent GGUF file accepted: " + what);
        }
    }
}
