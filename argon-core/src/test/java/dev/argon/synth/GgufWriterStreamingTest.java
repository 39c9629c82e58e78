package dev.argon.synth;

import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufWriter;
import dev.argon.tensor.GgmlType;
import dev.argon.tensor.Quantizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The lazy and streamed tensors added to {@link GgufWriter} for {@link ModelSynthesizer}. */
class GgufWriterStreamingTest {
    @TempDir
    Path tmp;

    private static float[] values(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.sin(i * 0.37);
        }
        return v;
    }

    @Test
    void lazyAndStreamedTensorsGiveTheSameFileAsEagerOnes() throws IOException {
        float[] v = values(64 * 8);
        MemorySegment q = Quantizer.quantize(GgmlType.Q8_0, v);
        Path eager = tmp.resolve("eager.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("a", GgmlType.Q8_0, new long[]{64, 8}, q)
                .addTensor("b", GgmlType.F32, new long[]{3}, Quantizer.quantize(GgmlType.F32, new float[]{1, 2, 3}))
                .write(eager);

        AtomicInteger calls = new AtomicInteger();
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama")
                .addStreamedTensor("a", GgmlType.Q8_0, new long[]{64, 8}, sink -> {
                    calls.incrementAndGet();
                    for (int r = 0; r < 8; r++) { // one row at a time
                        sink.accept(q.asSlice(r * 68L, 68));
                    }
                })
                .addTensor("b", GgmlType.F32, new long[]{3}, () -> {
                    calls.incrementAndGet();
                    return Quantizer.quantize(GgmlType.F32, new float[]{1, 2, 3});
                });
        assertThat(calls).hasValue(0); // nothing produced before writing
        assertThat(w.tensorCount()).isEqualTo(2);
        Path lazy = tmp.resolve("lazy.gguf");
        List<Long> progress = new ArrayList<>();
        w.write(lazy, progress::add);
        assertThat(calls).hasValue(2);
        assertThat(Files.mismatch(eager, lazy)).isEqualTo(-1L);
        assertThat(w.fileSize()).isEqualTo(Files.size(lazy));
        assertThat(progress.getLast()).isEqualTo(Files.size(lazy));
        assertThat(progress).isSorted();
        try (GgufFile f = GgufFile.open(lazy)) {
            assertThat(f.tensorData(f.tensor("b")).get(ValueLayout.JAVA_FLOAT_UNALIGNED, 8)).isEqualTo(3f);
        }
    }

    @Test
    void aSourceOfTheWrongSizeLeavesNoFile() throws IOException {
        Path p = tmp.resolve("bad.gguf");
        GgufWriter w = new GgufWriter().addTensor("a", GgmlType.F32, new long[]{4}, () -> MemorySegment.ofArray(new byte[12]));
        assertThatThrownBy(() -> w.write(p)).isInstanceOf(IllegalStateException.class).hasMessageContaining("a: 12 bytes produced, 16 expected");
        assertThat(p).doesNotExist();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).isEmpty();
        }
        GgufWriter failing = new GgufWriter().addStreamedTensor("a", GgmlType.F32, new long[]{4}, sink -> {
            throw new IllegalArgumentException("boom");
        });
        assertThatThrownBy(() -> failing.write(p)).hasMessage("boom");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).isEmpty();
        }
    }

    @Test
    void fileSizeOfAnEmptyWriterAndOfUnalignedTensors() throws IOException {
        GgufWriter w = new GgufWriter().putUInt32("general.alignment", 64).putString("k", "v");
        Path p = tmp.resolve("e.gguf");
        w.write(p);
        assertThat(w.fileSize()).isEqualTo(Files.size(p));
        w.addTensor("x", GgmlType.F32, new long[]{3}, () -> MemorySegment.ofArray(new byte[12]))
                .addTensor("y", GgmlType.F16, new long[]{5}, () -> MemorySegment.ofArray(new byte[10]));
        w.write(p);
        assertThat(w.fileSize()).isEqualTo(Files.size(p));
    }
}
