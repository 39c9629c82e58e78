package dev.argon.tensor;

/**
 * The lazily built row-group copy of one weight tensor and the loop that runs its decode kernels
 * over whole groups and tokens: what {@link Q4_0Tensor}, {@link Q4_KTensor}, {@link Q6_KTensor}
 * and {@link Q8_0Tensor} share ({@link RowGroups} describes the layout; the per-type kernels
 * stay in each type, where the vector code is inlined).
 *
 * <p>The copy is built once, at the first {@link #group} call with the tensor's row length, by
 * the type's {@link Builder} (under this object's lock, so concurrent first calls build it once);
 * a builder returns a copy with {@code n() < 0} when the tensor is too large for Java arrays, and
 * the type then keeps its one-row kernels.
 *
 * @param <R> the type's group layout
 */
final class GroupedRows<R extends GroupedRows.Layout> {
    /** What the loop needs to know of a type's group copy. */
    interface Layout {
        /** @return row length the copy was built for, or negative when it was not built */
        int n();

        /** @return number of whole groups of {@link RowGroups#G} rows */
        int groups();
    }

    /** Builds a type's copy for rows of {@code cols} elements (the pool splits the work). */
    @FunctionalInterface
    interface Builder<R> {
        R build(int cols, ThreadPool pool);
    }

    /** One group's {@link RowGroups#G} dot products with the activations at {@code xo}, into {@code out[oo ..]}. */
    @FunctionalInterface
    interface OneToken<R> {
        void dot(R groups, int g, Q8Activations x, int xo, float[] out, int oo);
    }

    /** {@link OneToken} for two tokens ({@code xo}, {@code xo + xs}; {@code out[oo ..]}, {@code out[oo + os ..]}), with the same bits per token. */
    @FunctionalInterface
    interface TwoTokens<R> {
        void dot(R groups, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os);
    }

    /** {@link OneToken} for four tokens ({@code xo + k * xs}; {@code out[oo + k * os ..]}, k = 0..3), with the same bits per token. */
    @FunctionalInterface
    interface FourTokens<R> {
        void dot(R groups, int g, Q8Activations x, int xo, int xs, float[] out, int oo, int os);
    }

    private static final int G = RowGroups.G;
    private final int block;
    private final Builder<R> builder;
    private final OneToken<R> one;
    private final TwoTokens<R> two;
    private final FourTokens<R> four;
    private volatile R groups;

    /**
     * @param block   elements per quantization block: a row length must be a multiple of it
     * @param builder builds the copy on first use
     * @param one     the one-token group kernel
     * @param two     the two-token group kernel, or null (then tokens go one at a time)
     */
    GroupedRows(int block, Builder<R> builder, OneToken<R> one, TwoTokens<R> two) {
        this(block, builder, one, two, null);
    }

    /**
     * @param four the four-token group kernel (verification rows of speculative decoding, batched
     *             decode of four or more sequences), or null (then tokens go two at a time)
     */
    GroupedRows(int block, Builder<R> builder, OneToken<R> one, TwoTokens<R> two, FourTokens<R> four) {
        this.block = block;
        this.builder = builder;
        this.one = one;
        this.two = two;
        this.four = four;
    }

    /**
     * {@link Tensor#q8RowGroup}: builds the copy on first use.
     *
     * @return {@link RowGroups#G} when the groups serve rows of {@code cols}, else 1
     */
    int group(int cols, ThreadPool pool) {
        if (!RowGroups.ENABLED || cols <= 0 || cols % block != 0) {
            return 1;
        }
        R g = groups;
        if (g == null) {
            g = build(cols, pool);
        }
        return g.n() == cols ? G : 1;
    }

    private synchronized R build(int cols, ThreadPool pool) {
        R g = groups;
        if (g == null) {
            g = builder.build(cols, pool);
            groups = g;
        }
        return g;
    }

    /**
     * {@link Tensor#dotQ8RowGroups}: the whole groups at the start of rows {@code offset / n ..},
     * each for every token (four, then two at a time where the type has those kernels).
     *
     * @return the number of rows computed (0 when the copy does not serve this call)
     */
    int dot(long offset, int nRows, Q8Activations x, int xOffset, int xStride, int tokens, int n,
            float[] out, int outOffset, int outStride) {
        R gs = groups;
        if (gs == null || gs.n() != n || offset % ((long) n * G) != 0) {
            return 0;
        }
        int first = (int) (offset / n / G);
        int count = Math.min(nRows / G, gs.groups() - first);
        for (int g = first; g < first + count; g++) {
            int oo = outOffset + (g - first) * G;
            int t = 0;
            if (four != null) {
                for (; t + 4 <= tokens; t += 4) {
                    four.dot(gs, g, x, xOffset + t * xStride, xStride, out, oo + t * outStride, outStride);
                }
            }
            if (two != null) {
                for (; t + 2 <= tokens; t += 2) {
                    two.dot(gs, g, x, xOffset + t * xStride, xStride, out, oo + t * outStride, outStride);
                }
            }
            for (; t < tokens; t++) {
                one.dot(gs, g, x, xOffset + t * xStride, out, oo + t * outStride);
            }
        }
        return Math.max(0, count) * G;
    }
}
