package dev.argon.tensor;

import dev.argon.ArgonException;

import java.lang.foreign.MemorySegment;

/**
 * A flat, read-only sequence of {@link #size()} elements stored in one {@link GgmlType} in a
 * memory segment (usually a slice of a memory-mapped GGUF file). A weight matrix
 * {@code [rows, cols]} is a tensor whose row {@code r} starts at element {@code r * cols}.
 *
 * <p>Each type implements a scalar reference ({@link #dotReference}, {@link #dequantize}) written
 * for clarity, and a fast {@link #dot} (Vector API where it pays); tests check that the two agree.
 * Offsets and lengths of quantized types must fall on block boundaries.
 */
public abstract class Tensor {
    protected final MemorySegment data;
    protected final long size;

    protected Tensor(MemorySegment data, long size) {
        this.data = data;
        this.size = size;
    }

    /** @return the element type */
    public abstract GgmlType type();

    /** @return the number of elements */
    public final long size() {
        return size;
    }

    /** @return the raw bytes */
    public final MemorySegment data() {
        return data;
    }

    /** @return element {@code index} converted to float (slow; for tests and odd cases) */
    public abstract float getFloat(long index);

    /**
     * Dot product of elements {@code [offset, offset + n)} with {@code x[xOffset .. xOffset + n)}.
     * The fast kernel used by matrix products.
     */
    public abstract float dot(long offset, float[] x, int xOffset, int n);

    /** Scalar reference of {@link #dot}: dequantize, multiply, accumulate in order. */
    public float dotReference(long offset, float[] x, int xOffset, int n) {
        float[] tmp = new float[n];
        dequantize(offset, tmp, 0, n);
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += tmp[i] * x[xOffset + i];
        }
        return sum;
    }

    /**
     * {@link #dot} of {@code nRows} consecutive weight rows of {@code n} elements starting at
     * {@code offset} with {@code tokens} activation rows: {@code out[outOffset + r + t * outStride]
     * = dot(offset + r * n, x, xOffset + t * xStride, n)} for {@code r < nRows}, {@code t < tokens}.
     * Results are bit-identical to one {@link #dot} per row and token; types override it to prepare
     * the activations once for all rows and to share weight loads between rows and tokens (F16 and
     * BF16). The F32-activation path of {@link Ops#matmul} calls it.
     */
    public void dotRows(long offset, int nRows, float[] x, int xOffset, int xStride, int tokens, int n,
                        float[] out, int outOffset, int outStride) {
        for (int r = 0; r < nRows; r++) {
            long o = offset + (long) r * n;
            for (int t = 0; t < tokens; t++) {
                out[outOffset + r + t * outStride] = dot(o, x, xOffset + t * xStride, n);
            }
        }
    }

    /**
     * @return whether {@link #dotQ8} is implemented: types whose ggml dot product runs on
     *     8-bit (Q8_0) activations
     */
    public boolean supportsQ8Activations() {
        return false;
    }

    /**
     * Dot product of elements {@code [offset, offset + n)} with the 8-bit activations
     * {@code x[xOffset .. xOffset + n)}, as ggml computes it: per 32-element block
     * {@code d_w * d_x * sum(q_w * q_x)}. Offsets and {@code n} are multiples of 32.
     *
     * @throws UnsupportedOperationException unless {@link #supportsQ8Activations()}
     */
    public float dotQ8(long offset, Q8Activations x, int xOffset, int n) {
        throw new UnsupportedOperationException(type() + " has no 8-bit activation dot product");
    }

    /**
     * {@link #dotQ8} of one weight range with {@code tokens} activation rows:
     * {@code out[outOffset + t * outStride] = dotQ8(offset, x, xOffset + t * xStride, n)} for
     * {@code t < tokens}. Results are bit-identical to calling {@link #dotQ8} once per token (so a
     * token's result never depends on which other tokens share the call); types with a
     * {@link #dotQ8x4} kernel unpack each weight block once for four tokens.
     *
     * @throws UnsupportedOperationException unless {@link #supportsQ8Activations()}
     */
    public final void dotQ8Tokens(long offset, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                  float[] out, int outOffset, int outStride) {
        int t = 0;
        if (tokens >= 4 && hasDotQ8x4()) {
            checkBlockAligned(offset, n);
            MemorySegment lanes = Simd.laneSegment();
            for (; t + 4 <= tokens; t += 4) {
                dotQ8x4(offset, x, xOffset + t * xStride, xStride, n, out, outOffset + t * outStride, outStride, lanes);
            }
        }
        for (; t < tokens; t++) {
            out[outOffset + t * outStride] = dotQ8(offset, x, xOffset + t * xStride, n);
        }
    }

    /**
     * {@link #dotQ8Tokens} for {@code nRows} consecutive weight rows of {@code n} elements starting
     * at {@code offset}: {@code out[outOffset + r + t * outStride] = dotQ8(offset + r * n, x,
     * xOffset + t * xStride, n)} for {@code r < nRows}, {@code t < tokens}. Bit-identical to one
     * {@link #dotQ8} per row and token; types with a {@link #dotQ8x4x2} kernel handle two rows and
     * four tokens per pass, with a {@link #dotQ8x2x2} kernel two rows and two tokens.
     *
     * @throws UnsupportedOperationException unless {@link #supportsQ8Activations()}
     */
    public final void dotQ8Rows(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                float[] out, int outOffset, int outStride) {
        int r = dotQ8RowGroups(offset, nRows, x, xOffset, xStride, tokens, n, out, outOffset, outStride);
        boolean x4 = tokens >= 4 && hasDotQ8x4x2();
        boolean x2 = tokens >= 2 && hasDotQ8x2x2();
        if (x4 || x2) {
            checkBlockAligned(offset, n);
            MemorySegment lanes = Simd.laneSegment();
            for (; r + 2 <= nRows; r += 2) {
                long o0 = offset + (long) r * n;
                int t = 0;
                if (x4) {
                    for (; t + 4 <= tokens; t += 4) {
                        dotQ8x4x2(o0, o0 + n, x, xOffset + t * xStride, xStride, n, out, outOffset + r + t * outStride, outStride, lanes);
                    }
                }
                if (x2) {
                    for (; t + 2 <= tokens; t += 2) {
                        dotQ8x2x2(o0, o0 + n, x, xOffset + t * xStride, xStride, n, out, outOffset + r + t * outStride, outStride, lanes);
                    }
                }
                for (; t < tokens; t++) {
                    out[outOffset + r + t * outStride] = dotQ8(o0, x, xOffset + t * xStride, n);
                    out[outOffset + r + 1 + t * outStride] = dotQ8(o0 + n, x, xOffset + t * xStride, n);
                }
            }
        }
        if (tokens >= 4) {
            for (; r < nRows; r++) {
                dotQ8Tokens(offset + (long) r * n, x, xOffset, xStride, tokens, n, out, outOffset + r, outStride);
            }
            return;
        }
        for (; r < nRows; r++) {
            long o = offset + (long) r * n;
            for (int t = 0; t < tokens; t++) {
                out[outOffset + r + t * outStride] = dotQ8(o, x, xOffset + t * xStride, n);
            }
        }
    }

    /**
     * The number of rows per group of this type's row-group kernel for rows of {@code cols}
     * elements, building its weight layout on the first call (split over {@code pool}); 1 when it
     * has none. {@link Ops#matmul} splits rows between threads at multiples of it, so that which
     * kernel computes a row (and so its bits) never depends on the thread count.
     */
    public int q8RowGroup(int cols, ThreadPool pool) {
        return 1;
    }

    /**
     * The row-group part of {@link #dotQ8Rows}: computes the whole groups at the start of the
     * range when {@code offset} starts a group and the layout for {@code n} is built, and returns
     * how many rows it did (0 by default); {@link #dotQ8Rows} does the rest row by row. Results
     * must be bit-identical to {@link #dotQ8} per row and token.
     */
    protected int dotQ8RowGroups(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
                                 float[] out, int outOffset, int outStride) {
        return 0;
    }

    /** @return whether this type implements {@link #dotQ8x2x2} (two weight rows by two tokens) */
    protected boolean hasDotQ8x2x2() {
        return false;
    }

    /**
     * {@link #dotQ8x4x2} for two tokens (a batch of two sequences, or what is left of a larger
     * one): row 0's results go to {@code out[oo]}, {@code out[oo + os]}, row 1's to
     * {@code out[oo + 1]}, {@code out[oo + 1 + os]}; must be bit-identical to {@link #dotQ8} per row
     * and token. Only called when {@link #hasDotQ8x2x2()}.
     */
    protected void dotQ8x2x2(long offset0, long offset1, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os,
                             MemorySegment lanes) {
        throw new UnsupportedOperationException(type() + " has no two-row, two-token kernel");
    }

    /** @return whether this type implements {@link #dotQ8x4x2} (two weight rows by four tokens) */
    protected boolean hasDotQ8x4x2() {
        return false;
    }

    /**
     * {@link #dotQ8x4} for two weight rows at {@code offset0} and {@code offset1}: row 0's results
     * go to {@code out[oo + t * os]}, row 1's to {@code out[oo + 1 + t * os]}; must be bit-identical
     * to {@link #dotQ8} per row and token. {@code lanes} is this thread's fold buffer
     * ({@code Simd.laneSegment()}). Only called when {@link #hasDotQ8x4x2()}.
     */
    protected void dotQ8x4x2(long offset0, long offset1, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os,
                             MemorySegment lanes) {
        throw new UnsupportedOperationException(type() + " has no two-row kernel");
    }

    /** @return whether this type implements {@link #dotQ8x4} (a kernel for four tokens at once) */
    protected boolean hasDotQ8x4() {
        return false;
    }

    /**
     * {@link #dotQ8} of one weight range with four activation rows ({@code x0}, {@code x0 + xs},
     * ...), results to {@code out[oo]}, {@code out[oo + os]}, ...; must be bit-identical to four
     * {@link #dotQ8} calls. {@code lanes} is this thread's fold buffer ({@code Simd.laneSegment()}).
     * Only called when {@link #hasDotQ8x4()}.
     */
    protected void dotQ8x4(long offset, Q8Activations x, int x0, int xs, int n, float[] out, int oo, int os,
                           MemorySegment lanes) {
        throw new UnsupportedOperationException(type() + " has no four-token kernel");
    }

    /**
     * Scalar reference of {@link #dotQ8}: dequantized weights times the 8-bit activation values,
     * scaled per block ({@code sum_b d_x * sum_i w_i * q_x,i}, equal to ggml's
     * {@code d_w * d_x * sum q_w * q_x} up to float rounding).
     */
    public float dotQ8Reference(long offset, Q8Activations x, int xOffset, int n) {
        checkBlockAligned(offset, n);
        float[] w = new float[n];
        dequantize(offset, w, 0, n);
        float sum = 0f;
        for (int b = 0; b < n / Q8Activations.BLOCK; b++) {
            float s = 0f;
            for (int i = 0; i < Q8Activations.BLOCK; i++) {
                int j = b * Q8Activations.BLOCK + i;
                s += w[j] * x.q[xOffset + j];
            }
            sum += s * x.d[(xOffset + b * Q8Activations.BLOCK) / Q8Activations.BLOCK];
        }
        return sum;
    }

    /** Converts elements {@code [offset, offset + n)} to floats in {@code out[outOffset ..]}. */
    public abstract void dequantize(long offset, float[] out, int outOffset, int n);

    /**
     * Wraps raw data as a tensor of the given type.
     *
     * @param size number of elements; {@code data} must hold exactly {@code type.bytesFor(size)} bytes
     * @throws ArgonException if the type is not supported
     */
    public static Tensor of(GgmlType type, MemorySegment data, long size) {
        if (data.byteSize() != type.bytesFor(size)) {
            throw new IllegalArgumentException(type + " tensor of " + size + " elements needs " + type.bytesFor(size)
                    + " bytes, got " + data.byteSize());
        }
        return switch (type) {
            case F32 -> new F32Tensor(data, size);
            case F16 -> new F16Tensor(data, size);
            case BF16 -> new BF16Tensor(data, size);
            case Q8_0 -> new Q8_0Tensor(data, size);
            case Q4_0 -> new Q4_0Tensor(data, size);
            case Q4_1 -> new Q4_1Tensor(data, size);
            case Q5_0 -> new Q5_0Tensor(data, size);
            case Q5_1 -> new Q5_1Tensor(data, size);
            case Q4_K -> new Q4_KTensor(data, size);
            case Q5_K -> new Q5_KTensor(data, size);
            case Q6_K -> new Q6_KTensor(data, size);
            case Q8_K -> new Q8_KTensor(data, size);
            default -> throw new ArgonException("tensor type " + type + " is not supported yet (supported: " + GgmlType.supportedNames() + ")");
        };
    }

    /** Checks that a range lies on block boundaries of this tensor's type. */
    protected final void checkBlockAligned(long offset, int n) {
        int bs = type().blockSize();
        if (offset % bs != 0 || n % bs != 0) {
            throw new IllegalArgumentException(type() + ": range [" + offset + ", +" + n + ") is not aligned to " + bs + "-element blocks");
        }
    }
}
