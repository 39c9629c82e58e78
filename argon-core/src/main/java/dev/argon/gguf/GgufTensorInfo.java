package dev.argon.gguf;

import dev.argon.tensor.GgmlType;

/**
 * One tensor's entry in a GGUF file's tensor table.
 *
 * @param name tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param shape dimensions in GGML order: {@code shape[0]} is the contiguous (innermost) axis, so a
 *     weight matrix {@code [rows, cols]} in row-major terms is stored with {@code shape = {cols, rows}}
 * @param type element type
 * @param offset byte offset of the data relative to the file's data section
 * @param byteSize bytes of data
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset, long byteSize) {

    /** @return the total number of elements */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** @return the shape written as {@code [d0, d1, ...]} in GGML order */
    public String shapeString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        return sb.append(']').toString();
    }
}
