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
 * <p>Each thread takes tiles of weight rows and dequantizes them once into a small F32 buffer (so
 * the cost of unpacking quantized blocks is shared by all {@code n} tokens). The tokens go in the
 * vector lanes ({@link #matmulTokensInLanes}, at every width: 4, 8 or 16 float lanes): no fold at
 * the end, and every output is the same in-order FMA chain whatever the batch size, so a prompt
 * row's result does not depend on how the prompt is chunked. Against the dot form below, JMH
 * {@code GemmBench} (Q4_0 2048x2048, 64 tokens) on an AVX2 Zen 3: 1 thread ~30 -> ~70 GFLOP/s,
 * 2 threads ~58 -> ~100; with 16 lanes ~1.5x at 64-128 tokens.
 * {@code -Dargon.gemm=dot} selects the dot form: 4-row x 4-token register blocks,
 * 16 vector accumulators, 8 vector loads per 16 fused multiply-adds, folded at the end (bit-identical
 * to {@link Ops#dot}); edges fall back to plain dot products.
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
        if (TOKENS_IN_LANES) {
            matmulTokensInLanes(w, x, out, n, rows, cols, pool);
            return;
        }
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

    /** Whether products use {@link #matmulTokensInLanes} (unless {@code -Dargon.gemm=dot}). */
    private static final boolean TOKENS_IN_LANES = Simd.ENABLED && !"dot".equals(System.getProperty("argon.gemm"));
    /** Weight rows per tile of the tokens-in-lanes kernel. */
    private static final int LANE_ROWS = 6;
    private static final ThreadLocal<float[][]> TRANSPOSED = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * Tokens-in-lanes form: the activations are transposed once into blocks of L tokens ({@code xT[block]
     * [c][lane]}, missing tokens zero), and each thread multiplies dequantized tiles of 6 weight
     * rows with two blocks at a time (12 accumulators; per column 2 vector loads and 6 broadcast
     * weights for 12 fused multiply-adds). A lane holds one output, so nothing is folded: every
     * output is the chain {@code acc = fma(w[r, c], x[t, c], acc)} over {@code c} in order, the
     * same for every row, token and batch size.
     */
    private static void matmulTokensInLanes(Tensor w, float[] x, float[] out, int n, int rows, int cols, ThreadPool pool) {
        int blocks = (n + L - 1) / L;
        float[][] holder = TRANSPOSED.get();
        if (holder[0].length < blocks * cols * L) {
            holder[0] = new float[blocks * cols * L];
        }
        float[] xt = holder[0];
        for (int b = 0; b < blocks; b++) {
            int base = b * cols * L;
            for (int lane = 0; lane < L; lane++) {
                int t = b * L + lane;
                if (t < n) {
                    for (int c = 0, xi = t * cols; c < cols; c++, xi++) {
                        xt[base + c * L + lane] = x[xi];
                    }
                } else {
                    for (int c = 0; c < cols; c++) {
                        xt[base + c * L + lane] = 0f;
                    }
                }
            }
        }
        int tiles = (rows + LANE_ROWS - 1) / LANE_ROWS;
        pool.parallelFor(tiles, (start, end) -> {
            float[][] wh = SCRATCH.get();
            if (wh[0].length < LANE_ROWS * cols + L) {
                wh[0] = new float[LANE_ROWS * cols + L];
            }
            float[] wbuf = wh[0];
            float[] lanes = Simd.lanes();
            for (int tile = start; tile < end; tile++) {
                int r0 = tile * LANE_ROWS;
                int nr = Math.min(LANE_ROWS, rows - r0);
                w.dequantize((long) r0 * cols, wbuf, 0, nr * cols);
                for (int r = r0; r < r0 + nr; ) {
                    if (r + LANE_ROWS <= r0 + nr) {
                        int b = 0;
                        for (; b + 2 <= blocks; b += 2) {
                            tile6xTwoBlocks(wbuf, (r - r0) * cols, xt, b, cols, out, r, rows, n, lanes);
                        }
                        if (b < blocks) {
                            tile6xBlock(wbuf, (r - r0) * cols, xt, b, cols, out, r, rows, n, lanes);
                        }
                        r += LANE_ROWS;
                    } else {
                        for (int b = 0; b < blocks; b++) {
                            rowXBlock(wbuf, (r - r0) * cols, xt, b, cols, out, r, rows, n, lanes);
                        }
                        r++;
                    }
                }
            }
        });
    }

    private static void tile6xTwoBlocks(float[] w, int wo, float[] xt, int b, int cols, float[] out, int r, int rows, int n,
                                 float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F), a4 = FloatVector.zero(F), a5 = FloatVector.zero(F);
        FloatVector e0 = FloatVector.zero(F), e1 = FloatVector.zero(F), e2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F), e4 = FloatVector.zero(F), e5 = FloatVector.zero(F);
        int xa = b * cols * L;
        int xb = xa + cols * L;
        for (int c = 0; c < cols; c++) {
            FloatVector u = FloatVector.fromArray(F, xt, xa + c * L);
            FloatVector v = FloatVector.fromArray(F, xt, xb + c * L);
            FloatVector k = FloatVector.broadcast(F, w[wo + c]);
            a0 = k.fma(u, a0);
            e0 = k.fma(v, e0);
            k = FloatVector.broadcast(F, w[wo + cols + c]);
            a1 = k.fma(u, a1);
            e1 = k.fma(v, e1);
            k = FloatVector.broadcast(F, w[wo + 2 * cols + c]);
            a2 = k.fma(u, a2);
            e2 = k.fma(v, e2);
            k = FloatVector.broadcast(F, w[wo + 3 * cols + c]);
            a3 = k.fma(u, a3);
            e3 = k.fma(v, e3);
            k = FloatVector.broadcast(F, w[wo + 4 * cols + c]);
            a4 = k.fma(u, a4);
            e4 = k.fma(v, e4);
            k = FloatVector.broadcast(F, w[wo + 5 * cols + c]);
            a5 = k.fma(u, a5);
            e5 = k.fma(v, e5);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, L);
        a2.intoArray(lanes, 2 * L);
        a3.intoArray(lanes, 3 * L);
        scatter(lanes, 0, 4, out, r, b * L, rows, n);
        a4.intoArray(lanes, 0);
        a5.intoArray(lanes, L);
        e0.intoArray(lanes, 2 * L);
        e1.intoArray(lanes, 3 * L);
        scatter(lanes, 0, 2, out, r + 4, b * L, rows, n);
        scatter(lanes, 2 * L, 2, out, r, (b + 1) * L, rows, n);
        e2.intoArray(lanes, 0);
        e3.intoArray(lanes, L);
        e4.intoArray(lanes, 2 * L);
        e5.intoArray(lanes, 3 * L);
        scatter(lanes, 0, 4, out, r + 2, (b + 1) * L, rows, n);
    }

    /** {@link #tile6xTwoBlocks}'s arithmetic for one block of L tokens (six independent chains). */
    private static void tile6xBlock(float[] w, int wo, float[] xt, int b, int cols, float[] out, int r, int rows, int n,
                                 float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F), a4 = FloatVector.zero(F), a5 = FloatVector.zero(F);
        int xa = b * cols * L;
        for (int c = 0; c < cols; c++) {
            FloatVector u = FloatVector.fromArray(F, xt, xa + c * L);
            a0 = FloatVector.broadcast(F, w[wo + c]).fma(u, a0);
            a1 = FloatVector.broadcast(F, w[wo + cols + c]).fma(u, a1);
            a2 = FloatVector.broadcast(F, w[wo + 2 * cols + c]).fma(u, a2);
            a3 = FloatVector.broadcast(F, w[wo + 3 * cols + c]).fma(u, a3);
            a4 = FloatVector.broadcast(F, w[wo + 4 * cols + c]).fma(u, a4);
            a5 = FloatVector.broadcast(F, w[wo + 5 * cols + c]).fma(u, a5);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, L);
        a2.intoArray(lanes, 2 * L);
        a3.intoArray(lanes, 3 * L);
        scatter(lanes, 0, 4, out, r, b * L, rows, n);
        a4.intoArray(lanes, 0);
        a5.intoArray(lanes, L);
        scatter(lanes, 0, 2, out, r + 4, b * L, rows, n);
    }

    /** {@link #tile6xTwoBlocks}'s arithmetic for one row and one block of L tokens. */
    private static void rowXBlock(float[] w, int wo, float[] xt, int b, int cols, float[] out, int r, int rows, int n,
                                 float[] lanes) {
        FloatVector a = FloatVector.zero(F);
        int xa = b * cols * L;
        for (int c = 0; c < cols; c++) {
            a = FloatVector.broadcast(F, w[wo + c]).fma(FloatVector.fromArray(F, xt, xa + c * L), a);
        }
        a.intoArray(lanes, 0);
        scatter(lanes, 0, 1, out, r, b * L, rows, n);
    }

    /**
     * Writes {@code count} rows of L token lanes from {@code lanes[from + L k + i]} (row r + k,
     * token t0 + i) into {@code out [n, rows]}, skipping the padding lanes past token n.
     */
    private static void scatter(float[] lanes, int from, int count, float[] out, int r, int t0, int rows, int n) {
        int m = Math.min(L, n - t0);
        for (int k = 0; k < count; k++) {
            for (int i = 0; i < m; i++) {
                out[(t0 + i) * rows + r + k] = lanes[from + L * k + i];
            }
        }
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
