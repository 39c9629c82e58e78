package dev.argon.tensor;

/**
 * The row-group weight layout of the 4-bit decode kernels of 4- and 8-lane machines (128-bit
 * NEON/SSE, AVX2): {@link #G} consecutive rows interleaved so that one float lane holds one row
 * and no lane is ever summed across (the idea of ggml's load-time repacking of Q4_0 into
 * interleaved row groups; this layout is Argon's own, shaped for the Java Vector API).
 *
 * <p>For group {@code g} and 32-element block {@code b} of each row ({@code nb} blocks per row):
 * {@code 16 G} bytes of unsigned nibbles at {@code (g * nb + b) * 16 G} as 8 chunks of {@code 2G}
 * bytes, where byte {@code 2r + j} of chunk {@code k} holds row {@code r}'s elements
 * {@code 4k + j} (low nibble) and {@code 4k + 2 + j} (high nibble); and per row the block's float
 * factors at {@code scales[(g * nb + b) * G + r]} (and {@code mins[..]} for types with a min).
 * Widened to 16-bit lanes, a chunk's low nibbles pair with the activation pair
 * {@code (x_{4k}, x_{4k+1})} broadcast to every 32-bit lane ({@link Q8Activations#pairs}) and its
 * high nibbles with {@code (x_{4k+2}, x_{4k+3})}; 16-bit lanes {@code 2r} and {@code 2r + 1}
 * collect row {@code r}'s products.
 *
 * @param n       the row length in elements
 * @param groups  whole groups held (rows past {@code groups * G} are not grouped)
 * @param nibbles the interleaved nibbles
 * @param scales  per group, block and row: the factor of the block's integer sum
 * @param mins    per group, block and row: the factor of the activations' block sum, or null
 */
record RowGroups(int n, int groups, byte[] nibbles, float[] scales, float[] mins) implements GroupedRows.Layout {
    /** Whether 4-bit decode runs on row groups here; {@code -Dargon.repack=false} turns it off. */
    static final boolean ENABLED = Simd.NARROW_INT16 && !"false".equals(System.getProperty("argon.repack"));
    /** Rows per group: the float lanes. */
    static final int G = Simd.L;
    /** No groups (row length -1 matches no matrix). */
    static final RowGroups NONE = new RowGroups(-1, 0, new byte[0], new float[0], null);

    /**
     * Allocates the layout for {@code groups} groups of rows of {@code n} elements, or returns
     * null when it would not fit Java arrays (heap arrays: the kernels' index checks on them are
     * cheaper than on memory segments, measured: a quarter of the decode time went to segment
     * bounds checks).
     */
    static RowGroups allocate(int n, int groups, boolean withMins) {
        int nb = n / 32;
        long bytes = (long) groups * nb * 16 * G;
        if (bytes > Integer.MAX_VALUE - 64) {
            return null;
        }
        float[] scales = new float[groups * nb * G];
        return new RowGroups(n, groups, new byte[(int) bytes], scales, withMins ? new float[groups * nb * G] : null);
    }

    /**
     * Writes row {@code r} (of its group) of block {@code (g, b)}: {@code nib[e]} is element
     * {@code e}'s unsigned nibble, {@code e < 32}.
     */
    void put(int g, int b, int r, int[] nib) {
        int dst = (g * (n / 32) + b) * 16 * G + 2 * r;
        for (int k = 0; k < 8; k++) {
            for (int j = 0; j < 2; j++) {
                nibbles[dst + 2 * G * k + j] = (byte) (nib[4 * k + j] | nib[4 * k + 2 + j] << 4);
            }
        }
    }

    /** Index of row {@code r}'s factor of block {@code (g, b)} in {@link #scales} and {@link #mins}. */
    int factor(int g, int b, int r) {
        return (g * (n / 32) + b) * G + r;
    }

    /** The bytes held, for reporting. */
    long bytes() {
        return nibbles.length + 4L * scales.length + (mins == null ? 0 : 4L * mins.length);
    }
}
