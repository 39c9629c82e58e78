package dev.argon.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;

/**
 * Manual micro-benchmark of the matrix-vector hot path (not a unit test): for each type, a
 * {@code rows x cols} matrix of random weights in native memory (like a memory-mapped GGUF) is
 * multiplied by a vector with {@link Tensor#dot}, the scalar fallback and {@link Tensor#dotReference}.
 * Prints GB/s of weights read, and bytes allocated per {@code dot} call after warm-up.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes
 * dev.argon.tensor.DotBench [rows] [cols] [type ...]}; {@code -Dargon.simd=256} etc. picks the width.
 */
public final class DotBench {
    private DotBench() {
    }

    /** Entry point; see the class comment for arguments. */
    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
        java.util.List<GgmlType> types = new java.util.ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            types.add(GgmlType.valueOf(args[i]));
        }
        if (types.isEmpty()) {
            types.add(GgmlType.F32);
            types.addAll(TensorTestSupport.TYPES);
        }
        System.out.printf("float lanes %d, vector kernels %s, matrix %d x %d%n", Simd.L, Simd.ENABLED, rows, cols);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        float[] x = TensorTestSupport.uniform(1, cols, -1f, 1f);
        for (GgmlType type : types) {
            float[] w = TensorTestSupport.varied(2, cols * 4);
            MemorySegment row4 = Quantizer.quantize(type, w); // 4 distinct rows, repeated
            long rowBytes = type.bytesFor(cols);
            MemorySegment seg = Arena.global().allocate(rowBytes * rows, 64);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(row4, (r % 4) * rowBytes, seg, r * rowBytes, rowBytes);
            }
            Tensor t = Tensor.of(type, seg, (long) rows * cols);
            ScalarDot s = t instanceof ScalarDot sd ? sd : t::dotReference;
            float[] out = new float[rows];
            double fast = time(() -> {
                for (int r = 0; r < rows; r++) {
                    out[r] = t.dot((long) r * cols, x, 0, cols);
                }
            });
            long a0 = mx.getCurrentThreadAllocatedBytes();
            for (int r = 0; r < rows; r++) {
                out[r] = t.dot((long) r * cols, x, 0, cols);
            }
            long alloc = mx.getCurrentThreadAllocatedBytes() - a0;
            double scalar = time(() -> {
                for (int r = 0; r < rows; r++) {
                    out[r] = s.dotScalar((long) r * cols, x, 0, cols);
                }
            });
            double ref = time(() -> {
                for (int r = 0; r < Math.min(rows, 256); r++) {
                    out[r] = t.dotReference((long) r * cols, x, 0, cols);
                }
            }) * rows / Math.min(rows, 256);
            double gb = rowBytes * (double) rows / 1e9;
            System.out.printf("%-5s dot %6.2f GB/s  scalar %6.2f GB/s  reference %6.2f GB/s  dot alloc %.2f B/call%n",
                    type, gb / fast, gb / scalar, gb / ref, alloc / (double) rows);
        }
    }

    /** Best of several timed runs after warm-up, in seconds. */
    private static double time(Runnable r) {
        for (int i = 0; i < 15; i++) {
            r.run();
        }
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
