package dev.argon.gguf;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufFileTest {
    @TempDir
    Path tmp;

    @Test
    void readsRealModelMetadataAndTensors() {
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.getString("general.architecture")).isEqualTo("llama");
            assertThat(f.getInt("llama.embedding_length")).isEqualTo(64);
            assertThat(f.getInt("llama.block_count")).isEqualTo(5);
            assertThat(f.getInt("llama.attention.head_count")).isEqualTo(8);
            assertThat(f.getInt("llama.attention.head_count_kv")).isEqualTo(4);
            assertThat(f.getArray("tokenizer.ggml.tokens").size()).isEqualTo(512);
            GgufTensorInfo embd = f.tensor("token_embd.weight");
            assertThat(embd.shape()).containsExactly(64, 512);
            assertThat(embd.type()).isEqualTo(GgmlType.F32);
            assertThat(f.tensorData(embd).byteSize()).isEqualTo(64L * 512 * 4);
        }
    }

    @Test
    void readsVersion1AndVersion2Files() {
        try (GgufFile v1 = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K-f32.ggufv1.gguf"));
             GgufFile v3 = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            assertThat(v1.version()).isEqualTo(1);
            GgufTensorInfo a = v1.tensor("token_embd.weight");
            GgufTensorInfo b = v3.tensor("token_embd.weight");
            assertThat(a.shape()).containsExactly(b.shape());
            assertThat(v1.tensorData(a).mismatch(v3.tensorData(b))).isEqualTo(-1);
        }
        try (GgufFile v2 = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K-q8_0.ggufv2.gguf"))) {
            assertThat(v2.version()).isEqualTo(2);
            assertThat(v2.tensor("blk.0.ffn_down.weight").type()).isEqualTo(GgmlType.Q8_0);
        }
    }

    @Test
    void readsVocabularyOnlyFile() {
        try (GgufFile f = GgufFile.open(TestFiles.model("llama-cpp-vocab/ggml-vocab-llama-spm.gguf"))) {
            assertThat(f.tensors()).isEmpty();
            assertThat(f.getString("tokenizer.ggml.model")).isEqualTo("llama");
            assertThat(((String[]) f.getArray("tokenizer.ggml.tokens").values())[1]).isEqualTo("<s>");
        }
    }

    @Test
    void roundTripsEveryValueTypeIncludingNestedArrays() {
        Path p = tmp.resolve("all.gguf");
        GgufArray nested = new GgufArray(GgufValueType.ARRAY, new GgufArray[]{
                new GgufArray(GgufValueType.INT32, new int[]{1, -2}),
                new GgufArray(GgufValueType.STRING, new String[]{"a", "é"})});
        new GgufWriter()
                .put("u8", GgufValueType.UINT8, 200L).put("i8", GgufValueType.INT8, -5L)
                .put("u16", GgufValueType.UINT16, 65000L).put("i16", GgufValueType.INT16, -300L)
                .putUInt32("u32", 4_000_000_000L).putInt32("i32", -7)
                .put("u64", GgufValueType.UINT64, 1L << 40).put("i64", GgufValueType.INT64, -(1L << 40))
                .putFloat32("f32", 1.5f).put("f64", GgufValueType.FLOAT64, 2.25).putBool("b", true)
                .putString("s", "héllo").putArray("nested", nested)
                .putArray("floats", new GgufArray(GgufValueType.FLOAT32, new float[]{0.5f, -1f}))
                .addTensor("t", GgmlType.F32, new long[]{3}, MemorySegment.ofArray(new float[]{1, 2, 3}))
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.getLong("u8")).isEqualTo(200);
            assertThat(f.getLong("i8")).isEqualTo(-5);
            assertThat(f.getLong("u16")).isEqualTo(65000);
            assertThat(f.getLong("i16")).isEqualTo(-300);
            assertThat(f.getLong("u32")).isEqualTo(4_000_000_000L);
            assertThat(f.getInt("i32")).isEqualTo(-7);
            assertThat(f.getLong("u64")).isEqualTo(1L << 40);
            assertThat(f.getLong("i64")).isEqualTo(-(1L << 40));
            assertThat(f.getFloat("f32")).isEqualTo(1.5f);
            assertThat(f.metadata().get("f64")).isEqualTo(2.25);
            assertThat(f.getBool("b", false)).isTrue();
            assertThat(f.getString("s")).isEqualTo("héllo");
            GgufArray[] inner = (GgufArray[]) f.getArray("nested").values();
            assertThat((int[]) inner[0].values()).containsExactly(1, -2);
            assertThat((String[]) inner[1].values()).containsExactly("a", "é");
            assertThat((float[]) f.getArray("floats").values()).containsExactly(0.5f, -1f);
            assertThat(f.tensorData(f.tensor("t")).toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)).containsExactly(1f, 2f, 3f);
            assertThat(f.dataOffset() % 32).isZero();
        }
    }

    @Test
    void rejectsEmptyFile() throws IOException {
        Path p = Files.createFile(tmp.resolve("empty.gguf"));
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("empty.gguf").hasMessageContaining("empty");
    }

    @Test
    void aFileCutInsideTheMagicIsTruncatedNotForeign() throws IOException {
        Path p = Files.writeString(tmp.resolve("cut.gguf"), "GG");
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("cut.gguf").hasMessageContaining("truncated file: 2 byte(s)");
        Path q = Files.writeString(tmp.resolve("gx.gguf"), "GX");
        assertThatThrownBy(() -> GgufFile.open(q)).isInstanceOf(ArgonException.class).hasMessageContaining("not a GGUF file");
    }

    @Test
    void rejectsPipesAndDevices() throws Exception {
        Path fifo = tmp.resolve("fifo.gguf");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo is available");
        assertThatThrownBy(() -> GgufFile.open(fifo)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("fifo.gguf").hasMessageContaining("not a regular file");
        Path zero = Path.of("/dev/zero");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(zero));
        assertThatThrownBy(() -> GgufFile.open(zero)).isInstanceOf(ArgonException.class).hasMessageContaining("not a regular file");
    }

    @Test
    void rejectsTextFileWithNamedMagic() throws IOException {
        Path p = Files.writeString(tmp.resolve("notes.gguf"), "hello, this is text\n");
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("notes.gguf").hasMessageContaining("not a GGUF file").hasMessageContaining("'hell'");
    }

    @Test
    void rejectsMissingFileAndDirectory() {
        assertThatThrownBy(() -> GgufFile.open(tmp.resolve("nope.gguf"))).isInstanceOf(ArgonException.class)
                .hasMessageContaining("no such file");
        assertThatThrownBy(() -> GgufFile.open(tmp)).isInstanceOf(ArgonException.class).hasMessageContaining("directory");
    }

    @Test
    void rejectsUnsupportedVersion() throws IOException {
        byte[] b = Arrays.copyOf(Files.readAllBytes(TestFiles.model("tinyllamas/stories260K/stories260K.gguf")), 64);
        b[4] = 9;
        Path p = Files.write(tmp.resolve("v9.gguf"), b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("offset 4").hasMessageContaining("unsupported GGUF version 9");
    }

    @Test
    void everyTruncationOfARealFileFailsCleanly() throws IOException {
        byte[] all = Files.readAllBytes(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"));
        int headerEnd;
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            headerEnd = (int) f.dataOffset();
        }
        // Every cut inside the header (sampled) and a cut inside the tensor data.
        for (int cut = 1; cut < headerEnd + 100; cut += cut < 64 ? 1 : 97) {
            Path p = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(all, cut));
            int c = cut;
            assertThatThrownBy(() -> GgufFile.open(p).close()).as("cut at %d", c).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("cut.gguf");
        }
        Path p = Files.write(tmp.resolve("half.gguf"), Arrays.copyOf(all, all.length / 2));
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("end of the file");
    }

    @Test
    void rejectsQuantizedRowsThatAreNotWholeBlocks() {
        // 256 elements of Q4_K (one block) on rows of 64; 96 elements of Q4_0 (three blocks) on rows of 48
        Path k = tmp.resolve("q4k-rows.gguf");
        new GgufWriter().addTensor("blk.0.ffn_down.weight", GgmlType.Q4_K, new long[]{64, 4},
                MemorySegment.ofArray(new byte[(int) GgmlType.Q4_K.bytesFor(256)])).write(k);
        // header 24, name 8 + 21, n_dims 4, dims 2 x 8: the type field is at byte 73
        assertThatThrownBy(() -> GgufFile.open(k)).isInstanceOf(ArgonException.class)
                .hasMessage(k + " (offset 73): tensor 'blk.0.ffn_down.weight': row length 64 (dimension 0) is not a multiple"
                        + " of the Q4_K block size 256");
        Path q = tmp.resolve("q40-rows.gguf");
        new GgufWriter().addTensor("w", GgmlType.Q4_0, new long[]{48, 2},
                MemorySegment.ofArray(new byte[(int) GgmlType.Q4_0.bytesFor(96)])).write(q);
        assertThatThrownBy(() -> GgufFile.open(q)).isInstanceOf(ArgonException.class)
                .hasMessage(q + " (offset 53): tensor 'w': row length 48 (dimension 0) is not a multiple of the Q4_0 block size 32");
        // whole blocks per row load
        Path ok = tmp.resolve("q40-ok.gguf");
        new GgufWriter().addTensor("w", GgmlType.Q4_0, new long[]{32, 3},
                MemorySegment.ofArray(new byte[(int) GgmlType.Q4_0.bytesFor(96)])).write(ok);
        try (GgufFile f = GgufFile.open(ok)) {
            assertThat(f.tensor("w").shape()).containsExactly(32, 3);
        }
    }

    @Test
    void rejectsUnknownTensorTypeNamingIt() {
        Path p = tmp.resolve("weird.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensorRaw("blk.0.attn_q.weight", 99, new long[]{4}, MemorySegment.ofArray(new byte[16])).write(p);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("blk.0.attn_q.weight").hasMessageContaining("unknown tensor type id 99");
    }

    @Test
    void rejectsHugeCountsWithoutAllocating() throws IOException {
        GgufWriter w = new GgufWriter().putString("k", "v");
        Path p = tmp.resolve("ok.gguf");
        w.write(p);
        byte[] b = Files.readAllBytes(p);
        // metadata_kv_count (offset 16) set to 2^40
        b[16 + 5] = 1;
        Path bad = Files.write(tmp.resolve("count.gguf"), b);
        assertThatThrownBy(() -> GgufFile.open(bad)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("metadata_kv_count").hasMessageContaining("offset 16");
        // string length of the first key (offset 24) set to 2^50
        byte[] c = Files.readAllBytes(p);
        c[24 + 6] = 4;
        Path bad2 = Files.write(tmp.resolve("strlen.gguf"), c);
        assertThatThrownBy(() -> GgufFile.open(bad2)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("string length").hasMessageContaining("offset 24");
    }

    /** Writes a one-tensor file, then overwrites the bytes of its first dimension or offset. */
    private Path patchedTensorFile(String name, int field, long value) throws IOException {
        Path p = tmp.resolve(name);
        new GgufWriter().addTensor("t", GgmlType.F32, new long[]{4, 2}, MemorySegment.ofArray(new float[8])).write(p);
        byte[] b = Files.readAllBytes(p);
        // header 24 bytes, then name (8 + 1), n_dims (4), dims (2 x 8), type (4), offset (8)
        int at = switch (field) {
            case 0 -> 24 + 9 + 4;         // dimension 0
            case 1 -> 24 + 9 + 4 + 8;     // dimension 1
            default -> 24 + 9 + 4 + 16 + 4; // offset
        };
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(at, value);
        return Files.write(p, b);
    }

    @Test
    void rejectsOverflowingShapesAndOffsetsOutsideTheFile() throws IOException {
        Path dims = patchedTensorFile("dims.gguf", 0, 1L << 32);
        Files.write(dims, patch(Files.readAllBytes(dims), 24 + 9 + 4 + 8, 1L << 32));
        assertThatThrownBy(() -> GgufFile.open(dims)).isInstanceOf(ArgonException.class).hasMessageContaining("implausibly large");
        for (long offset : new long[]{Long.MIN_VALUE, -32L, 1L << 40}) {
            Path p = patchedTensorFile("off.gguf", 2, offset);
            assertThatThrownBy(() -> GgufFile.open(p)).as("offset %s", Long.toUnsignedString(offset)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("tensor 't'").hasMessageContaining("beyond the end of the file");
        }
        Path p = patchedTensorFile("end.gguf", 2, 32);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ArgonException.class).hasMessageContaining("runs past the end");
    }

    private static byte[] patch(byte[] b, int at, long value) {
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(at, value);
        return b;
    }

    @Test
    void typedGettersNameKeyAndTypes() {
        try (GgufFile f = GgufFile.open(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"))) {
            assertThatThrownBy(() -> f.getInt("general.architecture")).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("'general.architecture'").hasMessageContaining("expected integer, found string");
            assertThatThrownBy(() -> f.getString("no.such.key")).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("'no.such.key' is missing");
        }
    }

    @Test
    void writerLeavesNoFileWhenItFails() {
        Path p = tmp.resolve("sub").resolve("x.gguf");
        GgufWriter w = new GgufWriter().addTensorRaw("t", 0, new long[]{4}, MemorySegment.ofArray(new float[4]));
        w.write(p);
        assertThat(p).exists();
        assertThat(tmp.resolve("sub")).isDirectoryContaining(path -> path.getFileName().toString().equals("x.gguf"));
        try (var s = Files.list(tmp.resolve("sub"))) {
            assertThat(s.filter(f -> f.toString().endsWith(".tmp"))).isEmpty();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
