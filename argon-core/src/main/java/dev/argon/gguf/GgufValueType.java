package dev.argon.gguf;

/**
 * Metadata value types of the GGUF format, with their numeric ids (GGUF specification,
 * {@code gguf_metadata_value_type}).
 */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, -1), ARRAY(9, -1), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private final int id;
    private final int size;

    GgufValueType(int id, int size) {
        this.id = id;
        this.size = size;
    }

    /** @return the id stored in the file */
    public int id() {
        return id;
    }

    /** @return the encoded size in bytes, or -1 for variable-size types (string, array) */
    public int fixedSize() {
        return size;
    }

    /** @return the type with that id, or {@code null} if the id is not defined by the spec */
    public static GgufValueType byId(long id) {
        for (GgufValueType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
