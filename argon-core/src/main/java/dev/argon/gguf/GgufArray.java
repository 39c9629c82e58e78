package dev.argon.gguf;

import java.util.Arrays;

/**
 * An array metadata value. {@code values} holds the elements in a compact Java array chosen by
 * element type: {@code byte[]} (UINT8, INT8, BOOL as 0/1), {@code short[]} (UINT16, INT16),
 * {@code int[]} (INT32), {@code long[]} (UINT32, INT64, UINT64), {@code float[]} (FLOAT32),
 * {@code double[]} (FLOAT64), {@code String[]} (STRING) or {@code GgufArray[]} (nested arrays).
 * Unsigned 8- and 16-bit values are stored raw; {@link #getLong} zero-extends them.
 *
 * @param elementType the GGUF type of every element
 * @param values the elements, see above
 */
public record GgufArray(GgufValueType elementType, Object values) {

    /** @return the number of elements */
    public int size() {
        return java.lang.reflect.Array.getLength(values);
    }

    /** @return element {@code i} as a long (integer and bool types; unsigned types zero-extended) */
    public long getLong(int i) {
        return switch (elementType) {
            case UINT8 -> ((byte[]) values)[i] & 0xFF;
            case INT8, BOOL -> ((byte[]) values)[i];
            case UINT16 -> ((short[]) values)[i] & 0xFFFF;
            case INT16 -> ((short[]) values)[i];
            case INT32 -> ((int[]) values)[i];
            case UINT32, INT64, UINT64 -> ((long[]) values)[i];
            default -> throw new IllegalStateException("not an integer array: " + elementType);
        };
    }

    @Override
    public String toString() {
        int n = size();
        StringBuilder sb = new StringBuilder("[").append(elementType.name().toLowerCase()).append(" x ").append(n);
        if (values instanceof String[] s) {
            sb.append(": ").append(Arrays.stream(s).limit(5).map(v -> '"' + v + '"').toList());
        } else if (n > 0 && elementType != GgufValueType.ARRAY) {
            sb.append(": ");
            StringBuilder items = new StringBuilder();
            for (int i = 0; i < Math.min(n, 5); i++) {
                items.append(i == 0 ? "" : ", ").append(switch (elementType) {
                    case FLOAT32 -> Float.toString(((float[]) values)[i]);
                    case FLOAT64 -> Double.toString(((double[]) values)[i]);
                    default -> Long.toString(getLong(i));
                });
            }
            sb.append('[').append(items).append(n > 5 ? ", ..." : "").append(']');
        }
        return sb.append(']').toString();
    }
}
