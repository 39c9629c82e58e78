package dev.argon.bench;

import dev.argon.tensor.GgmlType;
import dev.argon.tensor.Quantizer;
import dev.argon.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * Set-up shared by the benchmarks: random weights in a given {@link GgmlType}, and memory laid out
 * the way the engine reads it (off-heap, or a memory-mapped file as a GGUF model is).
 *
 * <p>Units: 1 GB = 10<sup>9</sup> bytes and 1 GFLOP = 10<sup>9</sup> floating-point operations
 * everywhere, so the GB/s of a kernel and of {@link MemoryBandwidthBench} compare directly.
 */
final class BenchSupport {
    /** Bytes per GB (decimal, as memory bandwidth is usually quoted). */
    static final double GB = 1e9;
    /** Memory kinds understood by {@link #replicate}. */
    static final String OFFHEAP = "offheap";
    static final String MAPPED = "mapped";
    private static final long PAGE = 4096;

    private BenchSupport() {
    }

    /** @return {@code n} values from N(0, scale^2), reproducible from {@code seed} */
    static float[] gaussian(int n, long seed, float scale) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller on the fly: weights' values do not change kernel speed, only their layout does
            double u1 = 1.0 - random.nextDouble();
            double u2 = random.nextDouble();
            v[i] = (float) (Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2)) * scale;
        }
        return v;
    }

    /** @return {@code bytes} rounded up to a whole number of 4 KiB pages */
    static long pageAlign(long bytes) {
        return (bytes + PAGE - 1) / PAGE * PAGE;
    }

    /**
     * Number of copies of a {@code bytes}-byte matrix that together take at least
     * {@code footprintMiB} MiB (at least one copy): cycling through them makes every operation
     * read its weights from main memory instead of a cache, as a decode step does (each layer's
     * weights are read once per token).
     */
    static int copiesFor(long bytes, int footprintMiB) {
        long footprint = (long) footprintMiB << 20;
        long copies = Math.max(1, (footprint + bytes - 1) / bytes);
        if (copies > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("footprint " + footprintMiB + " MiB is too many copies of " + bytes + " bytes");
        }
        return (int) copies;
    }

    /**
     * Lays {@code copies} copies of {@code src} out {@code stride} bytes apart in one segment of
     * {@code copies * stride} bytes owned by {@code arena}.
     *
     * @param kind {@link #OFFHEAP}: native memory of the arena; {@link #MAPPED}: a temporary file
     *     (in {@code java.io.tmpdir}) written, flushed, mapped read-only and deleted (the mapping
     *     stays valid), so the data is read through the page cache like a memory-mapped GGUF file
     */
    static MemorySegment replicate(String kind, Arena arena, MemorySegment src, long stride, int copies) throws IOException {
        if (stride < src.byteSize()) {
            throw new IllegalArgumentException("stride " + stride + " < " + src.byteSize() + " bytes");
        }
        long total = stride * copies;
        switch (kind) {
            case OFFHEAP -> {
                MemorySegment all = arena.allocate(total, PAGE);
                for (int c = 0; c < copies; c++) {
                    MemorySegment.copy(src, 0, all, c * stride, src.byteSize());
                }
                return all;
            }
            case MAPPED -> {
                Path file = Files.createTempFile("argon-bench-", ".bin");
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    // a copy in a byte[]: asByteBuffer() refuses heap segments of other arrays
                    ByteBuffer bytes = ByteBuffer.wrap(src.toArray(ValueLayout.JAVA_BYTE));
                    for (int c = 0; c < copies; c++) {
                        ByteBuffer b = bytes.duplicate();
                        long pos = c * stride;
                        while (b.hasRemaining()) {
                            pos += ch.write(b, pos);
                        }
                    }
                    if (ch.size() < total) {
                        ch.write(ByteBuffer.wrap(new byte[1]), total - 1); // pad the last copy's page
                    }
                    ch.force(false);
                    MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, total, arena);
                    mapped.load(); // fault the pages in, as a warm model is
                    return mapped;
                } finally {
                    Files.deleteIfExists(file);
                }
            }
            default -> throw new IllegalArgumentException("memory must be " + OFFHEAP + " or " + MAPPED + ", got '" + kind + "'");
        }
    }

    /** Weight matrices for a decode benchmark: copies of one random matrix, and the bytes of one. */
    record Weights(Tensor[] matrices, long bytesPerMatrix, String description) {
    }

    /**
     * Builds {@code [rows, cols]} random weights in {@code type} (quantized by Argon's
     * {@link Quantizer}) and replicates them to fill {@code footprintMiB} MiB of {@code memory}.
     */
    static Weights weights(GgmlType type, int rows, int cols, int footprintMiB, String memory, Arena arena) throws IOException {
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + ": cols " + cols + " is not a multiple of the block size " + type.blockSize());
        }
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(rows + " x " + cols + " is too large");
        }
        MemorySegment one = Quantizer.quantize(type, gaussian((int) n, 42, 0.02f));
        long bytes = one.byteSize();
        long stride = pageAlign(bytes);
        int copies = copiesFor(bytes, footprintMiB);
        MemorySegment all = replicate(memory, arena, one, stride, copies);
        Tensor[] matrices = new Tensor[copies];
        for (int c = 0; c < copies; c++) {
            matrices[c] = Tensor.of(type, all.asSlice(c * stride, bytes), n);
        }
        String description = String.format("%s [%d x %d]: %.3f MiB per matrix, %d cop%s (%.0f MiB) in %s memory",
                type, rows, cols, bytes / 1048576.0, copies, copies == 1 ? "y" : "ies", copies * stride / 1048576.0, memory);
        return new Weights(matrices, bytes, description);
    }
}
