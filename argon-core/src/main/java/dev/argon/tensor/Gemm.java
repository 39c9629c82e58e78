package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Matrix-matrix product for batches of tokens (prefill): {@code out[t, r] = sum_c w[r, c] * x[t, c]}
 * with {@code w [rows, cols]} in any tensor type, {@code x [n, cols]} and {@code out [n, rows]}
 * row-major floats.
 *
 * <p>Each thread takes tiles of 4 weight rows, dequantizes them once into a small F32 buffer
 * (so the cost of unpacking quantized blocks is shared by all {@code n} tokens) and multiplies
 * them with the activations in 4-row x 4-token register blocks: 16 vector accumulators, 8 vector
 * loads per 16 fused multiply-adds. Edges (fewer than 4 rows or tokens, or a row length that is not
 * a multiple of the vector width) fall back to plain dot products.
 */
final class Gemm {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = Simd.L;
    /** Weight rows per tile. */
    static final int ROWS = 4;
    /** Tokens per register block. */
    static final int TOKENS = 4;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private Gemm() {
    }

    static void matmul(Tensor w, float[] x, float[] out, int n, int rows, int cols, ThreadPool pool) {
        int tiles = (rows + ROWS - 1) / ROWS;
        boolean vectorCols = Simd.ENABLED && cols % L == 0;
        pool.parallelFor(tiles, (start, end) -> {
            float[][] holder = SCRATCH.get();
            if (holder[0].length < ROWS * cols) {
                holder[0] = new float[ROWS * cols];
            }
            float[] wbuf = holder[0];
            MemorySegment lanes = vectorCols && L == 16 ? Simd.laneSegment() : null;
            for (int tile = start; tile < end; tile++) {
                int r0 = tile * ROWS;
                int nr = Math.min(ROWS, rows - r0);
                w.dequantize((long) r0 * cols, wbuf, 0, nr * cols);
                int t0 = 0;
                if (nr == ROWS && vectorCols) {
                    for (; t0 + TOKENS <= n; t0 += TOKENS) {
                        block4x4(wbuf, x, out, r0, t0, rows, cols, lanes);
                    }
                }
                for (int t = t0; t < n; t++) {
                    for (int i = 0; i < nr; i++) {
                        out[t * rows + r0 + i] = Ops.dot(wbuf, i * cols, x, t * cols, cols);
                    }
                }
            }
        });
    }

    private static void block4x4(float[] w, float[] x, float[] out, int r0, int t0, int rows, int cols, MemorySegment lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        int x0 = t0 * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        for (int c = 0; c < cols; c += L) {
            FloatVector w0 = FloatVector.fromArray(F, w, c);
            FloatVector w1 = FloatVector.fromArray(F, w, cols + c);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * cols + c);
            FloatVector w3 = FloatVector.fromArray(F, w, 3 * cols + c);
            FloatVector v = FloatVector.fromArray(F, x, x0 + c);
            a00 = w0.fma(v, a00);
            a10 = w1.fma(v, a10);
            a20 = w2.fma(v, a20);
            a30 = w3.fma(v, a30);
            v = FloatVector.fromArray(F, x, x1 + c);
            a01 = w0.fma(v, a01);
            a11 = w1.fma(v, a11);
            a21 = w2.fma(v, a21);
            a31 = w3.fma(v, a31);
            v = FloatVector.fromArray(F, x, x2 + c);
            a02 = w0.fma(v, a02);
            a12 = w1.fma(v, a12);
            a22 = w2.fma(v, a22);
            a32 = w3.fma(v, a32);
            v = FloatVector.fromArray(F, x, x3 + c);
            a03 = w0.fma(v, a03);
            a13 = w1.fma(v, a13);
            a23 = w2.fma(v, a23);
            a33 = w3.fma(v, a33);
        }
        int o0 = t0 * rows + r0;
        if (L != 16) {
            int o1 = o0 + rows;
            int o2 = o1 + rows;
            int o3 = o2 + rows;
            out[o0] = Simd.sum(a00);
            out[o0 + 1] = Simd.sum(a10);
            out[o0 + 2] = Simd.sum(a20);
            out[o0 + 3] = Simd.sum(a30);
            out[o1] = Simd.sum(a01);
            out[o1 + 1] = Simd.sum(a11);
            out[o1 + 2] = Simd.sum(a21);
            out[o1 + 3] = Simd.sum(a31);
            out[o2] = Simd.sum(a02);
            out[o2 + 1] = Simd.sum(a12);
            out[o2 + 2] = Simd.sum(a22);
            out[o2 + 3] = Simd.sum(a32);
            out[o3] = Simd.sum(a03);
            out[o3 + 1] = Simd.sum(a13);
            out[o3 + 2] = Simd.sum(a23);
            out[o3 + 3] = Simd.sum(a33);
            return;
        }
        // Folded four at a time by Simd.sumLanes16x4 (the same additions as Simd.sum, with shared
        // shuffles) through the thread's aligned lane buffer: sixteen Simd.sum calls in a method
        // this large are not all inlined, and each one that is not boxes its vector.
        ByteOrder no = ByteOrder.nativeOrder();
        a00.intoMemorySegment(lanes, 0, no);
        a10.intoMemorySegment(lanes, 64, no);
        a20.intoMemorySegment(lanes, 128, no);
        a30.intoMemorySegment(lanes, 192, no);
        a01.intoMemorySegment(lanes, 256, no);
        a11.intoMemorySegment(lanes, 320, no);
        a21.intoMemorySegment(lanes, 384, no);
        a31.intoMemorySegment(lanes, 448, no);
        Simd.sumLanes16x4(lanes, 0, out, o0, 1);
        Simd.sumLanes16x4(lanes, 256, out, o0 + rows, 1);
        a02.intoMemorySegment(lanes, 0, no);
        a12.intoMemorySegment(lanes, 64, no);
        a22.intoMemorySegment(lanes, 128, no);
        a32.intoMemorySegment(lanes, 192, no);
        a03.intoMemorySegment(lanes, 256, no);
        a13.intoMemorySegment(lanes, 320, no);
        a23.intoMemorySegment(lanes, 384, no);
        a33.intoMemorySegment(lanes, 448, no);
        Simd.sumLanes16x4(lanes, 0, out, o0 + 2 * rows, 1);
        Simd.sumLanes16x4(lanes, 256, out, o0 + 3 * rows, 1);
    }
}
