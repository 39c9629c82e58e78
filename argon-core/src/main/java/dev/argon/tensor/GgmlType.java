package dev.argon.tensor;

import dev.argon.ArgonException;

/**
 * Tensor element types of the GGML/GGUF format, with their numeric ids as stored in a GGUF tensor
 * info, their block size (elements per block) and block size in bytes.
 *
 * <p>Source: ggml's {@code enum ggml_type} and the block layouts documented in the GGUF
 * specification (github.com/ggml-org/ggml, docs/gguf.md). Types that Argon can read but not
 * compute with are listed so that errors can name them; {@link #supported()} says which can be
 * dequantized and multiplied.
 */
public enum GgmlType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    Q4_0(2, 32, 18, true),
    Q4_1(3, 32, 20, true),
    Q5_0(6, 32, 22, true),
    Q5_1(7, 32, 24, true),
    Q8_0(8, 32, 34, true),
    Q8_1(9, 32, 36, false),
    Q2_K(10, 256, 84, false),
    Q3_K(11, 256, 110, false),
    Q4_K(12, 256, 144, true),
    Q5_K(13, 256, 176, true),
    Q6_K(14, 256, 210, true),
    Q8_K(15, 256, 292, true),
    IQ2_XXS(16, 256, 66, false),
    IQ2_XS(17, 256, 74, false),
    IQ3_XXS(18, 256, 98, false),
    IQ1_S(19, 256, 50, false),
    IQ4_NL(20, 32, 18, false),
    IQ3_S(21, 256, 110, false),
    IQ2_S(22, 256, 82, false),
    IQ4_XS(23, 256, 136, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    IQ1_M(29, 256, 56, false),
    BF16(30, 1, 2, true),
    TQ1_0(34, 256, 54, false),
    TQ2_0(35, 256, 66, false);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final boolean supported;

    GgmlType(int id, int blockSize, int blockBytes, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.supported = supported;
    }

    /** @return the numeric id stored in GGUF files */
    public int id() {
        return id;
    }

    /** @return elements per quantization block (1 for plain float types) */
    public int blockSize() {
        return blockSize;
    }

    /** @return bytes per block */
    public int blockBytes() {
        return blockBytes;
    }

    /** @return whether Argon can dequantize this type and use it in matrix products */
    public boolean supported() {
        return supported;
    }

    /** @return whether this is a block-quantized type (block size above 1) */
    public boolean quantized() {
        return blockSize > 1;
    }

    /**
     * Bytes taken by {@code nElements} elements of this type.
     *
     * @throws IllegalArgumentException if {@code nElements} is not a multiple of the block size
     */
    public long bytesFor(long nElements) {
        if (nElements % blockSize != 0) {
            throw new IllegalArgumentException(nElements + " elements is not a multiple of " + name() + "'s block size " + blockSize);
        }
        return nElements / blockSize * blockBytes;
    }

    /**
     * Looks a type up by its GGUF id.
     *
     * @return the type, or {@code null} if the id is unknown
     */
    public static GgmlType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /** @return the names of all types Argon can compute with, for error messages */
    public static String supportedNames() {
        StringBuilder sb = new StringBuilder();
        for (GgmlType t : values()) {
            if (t.supported) {
                if (!sb.isEmpty()) {
                    sb.append(", ");
                }
                sb.append(t.name());
            }
        }
        return sb.toString();
    }

    /**
     * Like {@link #byId} but for types that must be computable.
     *
     * @param where a description of the tensor, for the error message
     * @throws ArgonException if the id is unknown or the type is not supported
     */
    public static GgmlType requireSupported(long id, String where) {
        GgmlType t = byId(id);
        if (t == null) {
            throw new ArgonException(where + ": unknown tensor type id " + id + " (supported: " + supportedNames() + ")");
        }
        if (!t.supported) {
            throw new ArgonException(where + ": tensor type " + t.name() + " (id " + id + ") is not supported yet (supported: " + supportedNames() + ")");
        }
        return t;
    }
}
