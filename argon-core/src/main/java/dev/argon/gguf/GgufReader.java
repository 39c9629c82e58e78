package dev.argon.gguf;

import dev.argon.ArgonException;
import dev.argon.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the header, metadata and tensor table of a GGUF file held in a memory segment. Every
 * count, length, offset and size read from the file is checked against the file's size before it
 * is used, so a truncated or corrupt file fails with an {@link ArgonException} naming the file,
 * the field and the byte offset instead of reading out of bounds or allocating without limit.
 *
 * <p>Format: GGUF specification (ggml docs/gguf.md), versions 1 to 3, little-endian. Version 1
 * stores counts and string lengths as uint32; versions 2 and 3 as uint64.
 */
final class GgufReader {
    /** "GGUF" read as a little-endian uint32. */
    static final int MAGIC = 0x46554747;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAX_DIMS = 4;
    private static final int MAX_NESTING = 8;

    private final String file;
    private final MemorySegment seg;
    private final long size;
    private long pos;
    private int version;

    /** Result of parsing: everything but the mapping itself. */
    record Parsed(int version, Map<String, Object> metadata, Map<String, GgufValueType> types,
                  List<GgufTensorInfo> tensors, long alignment, long dataOffset) {
    }

    GgufReader(String file, MemorySegment seg) {
        this.file = file;
        this.seg = seg;
        this.size = seg.byteSize();
    }

    Parsed parse() {
        if (size == 0) {
            throw error(0, "file is empty (0 bytes); expected a GGUF file starting with the magic 'GGUF'");
        }
        if (size < 4 || seg.get(INT, 0) != MAGIC) {
            byte[] head = new byte[(int) Math.min(4, size)];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, 0, head, 0, head.length);
            if (size < 4 && "GGUF".startsWith(new String(head, java.nio.charset.StandardCharsets.ISO_8859_1))) {
                throw error(size, "truncated file: " + size + " byte(s), the start of the magic 'GGUF'; a GGUF header needs at least 24 bytes");
            }
            throw error(0, "not a GGUF file: expected magic 'GGUF' (47 47 55 46), found " + hex(head));
        }
        pos = 4;
        long v = u32("version");
        if (v > 0xFFFF && Integer.reverseBytes((int) v) >= 1 && Integer.reverseBytes((int) v) <= 3) {
            throw error(4, "big-endian GGUF files are not supported (version field reads " + Integer.reverseBytes((int) v) + " byte-swapped)");
        }
        if (v < 1 || v > 3) {
            throw error(4, "unsupported GGUF version " + v + " (supported: 1, 2, 3)");
        }
        version = (int) v;
        long nTensors = count("tensor_count", 8 + 4 + 4 + 8);
        long nKv = count("metadata_kv_count", 8 + 4);

        Map<String, Object> metadata = new LinkedHashMap<>();
        Map<String, GgufValueType> types = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            long keyAt = pos;
            String key = string("key of metadata entry " + i);
            if (metadata.containsKey(key)) {
                throw error(keyAt, "duplicate metadata key '" + key + "'");
            }
            long typeAt = pos;
            long typeId = u32("value type of '" + key + "'");
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) {
                throw error(typeAt, "metadata '" + key + "': unknown value type id " + typeId + " (expected 0..12)");
            }
            metadata.put(key, value(type, key, 0));
            types.put(key, type);
        }

        long alignment = 32;
        Object a = metadata.get("general.alignment");
        if (a != null) {
            if (!(a instanceof Long al) || types.get("general.alignment") != GgufValueType.UINT32) {
                throw error(-1, "metadata 'general.alignment': expected uint32, found " + types.get("general.alignment"));
            }
            if (al == 0 || (al & (al - 1)) != 0) {
                throw error(-1, "metadata 'general.alignment': expected a power of two, found " + al);
            }
            alignment = al;
        }

        List<GgufTensorInfo> tensors = new ArrayList<>((int) nTensors);
        Set<String> names = new HashSet<>();
        long[] rawOffsets = new long[(int) nTensors];
        for (int i = 0; i < nTensors; i++) {
            long infoAt = pos;
            String name = string("name of tensor " + i);
            if (!names.add(name)) {
                throw error(infoAt, "duplicate tensor name '" + name + "'");
            }
            String where = "tensor '" + name + "'";
            long nDims = u32("n_dimensions of " + where);
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw error(pos - 4, where + ": n_dimensions is " + nDims + ", expected 1.." + MAX_DIMS);
            }
            long[] shape = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                shape[d] = version == 1 ? u32("dimension " + d + " of " + where) : u64("dimension " + d + " of " + where);
                if (shape[d] <= 0 || shape[d] > (1L << 40)) {
                    throw error(pos - 8, where + ": dimension " + d + " is " + shape[d] + ", expected 1.." + (1L << 40));
                }
                if (elements > (1L << 46) / shape[d]) {
                    throw error(pos - 8, where + ": more than 2^46 elements (shape so far " + elements + " x " + shape[d]
                            + ") is implausibly large; the file is corrupt");
                }
                elements *= shape[d];
            }
            long typeAt = pos;
            long typeId = u32("type of " + where);
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw error(typeAt, where + ": unknown tensor type id " + typeId + " (supported: " + GgmlType.supportedNames() + ")");
            }
            long offsetAt = pos;
            long offset = u64("offset of " + where);
            if (offset < 0 || offset > size) {
                throw error(offsetAt, where + ": data offset " + Long.toUnsignedString(offset) + " lies beyond the end of the file ("
                        + size + " bytes); the file is truncated or corrupt");
            }
            if (offset % alignment != 0) {
                throw error(offsetAt, where + ": data offset " + offset + " is not a multiple of the alignment " + alignment);
            }
            if (elements % type.blockSize() != 0) {
                throw error(typeAt, where + ": " + elements + " elements of type " + type + " is not a whole number of "
                        + type.blockSize() + "-element blocks");
            }
            // Kernels and row lookups assume every row starts on a block boundary (ggml refuses such
            // tensors too). Version 1 and 2 files, written before that rule, may quantize across
            // rows ("flat" quantization); WeightLoader dequantizes those to F32.
            if (version >= 3 && shape[0] % type.blockSize() != 0) {
                throw error(typeAt, where + ": row length " + shape[0] + " (dimension 0) is not a multiple of the " + type
                        + " block size " + type.blockSize());
            }
            rawOffsets[i] = offsetAt;
            tensors.add(new GgufTensorInfo(name, shape, type, offset, type.bytesFor(elements)));
        }
        long dataOffset = alignUp(pos, alignment);
        if (nTensors > 0) {
            for (int i = 0; i < nTensors; i++) {
                GgufTensorInfo t = tensors.get(i);
                long end = dataOffset + t.offset() + t.byteSize();
                if (t.offset() > size - dataOffset || t.byteSize() > size - dataOffset - t.offset()) {
                    throw error(rawOffsets[i], "tensor '" + t.name() + "': data [" + (dataOffset + t.offset()) + ", " + end
                            + ") runs past the end of the file (" + size + " bytes); the file is truncated or corrupt");
                }
            }
        }
        return new Parsed(version, metadata, types, List.copyOf(tensors), alignment, dataOffset);
    }

    private Object value(GgufValueType type, String key, int depth) {
        String field = "value of '" + key + "'";
        return switch (type) {
            case UINT8 -> need(1, field) ? (long) (seg.get(ValueLayout.JAVA_BYTE, advance(1)) & 0xFF) : null;
            case INT8 -> need(1, field) ? (long) seg.get(ValueLayout.JAVA_BYTE, advance(1)) : null;
            case UINT16 -> need(2, field) ? (long) (seg.get(SHORT, advance(2)) & 0xFFFF) : null;
            case INT16 -> need(2, field) ? (long) seg.get(SHORT, advance(2)) : null;
            case UINT32 -> u32(field);
            case INT32 -> need(4, field) ? (long) seg.get(INT, advance(4)) : null;
            case UINT64 -> u64(field);
            case INT64 -> need(8, field) ? seg.get(LONG, advance(8)) : null;
            case FLOAT32 -> need(4, field) ? seg.get(FLOAT, advance(4)) : null;
            case FLOAT64 -> need(8, field) ? seg.get(DOUBLE, advance(8)) : null;
            case BOOL -> {
                need(1, field);
                byte b = seg.get(ValueLayout.JAVA_BYTE, pos);
                if (b != 0 && b != 1) {
                    throw error(pos, field + ": bool must be 0 or 1, found " + b);
                }
                advance(1);
                yield b == 1;
            }
            case STRING -> string(field);
            case ARRAY -> array(key, depth);
        };
    }

    private GgufArray array(String key, int depth) {
        if (depth >= MAX_NESTING) {
            throw error(pos, "metadata '" + key + "': arrays nested deeper than " + MAX_NESTING + " levels");
        }
        long typeAt = pos;
        long typeId = u32("array element type of '" + key + "'");
        GgufValueType et = GgufValueType.byId(typeId);
        if (et == null) {
            throw error(typeAt, "metadata '" + key + "': unknown array element type id " + typeId + " (expected 0..12)");
        }
        int minSize = et.fixedSize() > 0 ? et.fixedSize() : (et == GgufValueType.STRING ? (version == 1 ? 4 : 8) : 4 + (version == 1 ? 4 : 8));
        long n = count("array length of '" + key + "'", minSize);
        int len = (int) n;
        String field = "elements of '" + key + "'";
        switch (et) {
            case UINT8, INT8, BOOL -> {
                byte[] v = new byte[len];
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, advance(len), v, 0, len);
                return new GgufArray(et, v);
            }
            case UINT16, INT16 -> {
                short[] v = new short[len];
                MemorySegment.copy(seg, SHORT, advance(2L * len), v, 0, len);
                return new GgufArray(et, v);
            }
            case INT32 -> {
                int[] v = new int[len];
                MemorySegment.copy(seg, INT, advance(4L * len), v, 0, len);
                return new GgufArray(et, v);
            }
            case UINT32 -> {
                long[] v = new long[len];
                for (int i = 0; i < len; i++) {
                    v[i] = seg.get(INT, advance(4)) & 0xFFFFFFFFL;
                }
                return new GgufArray(et, v);
            }
            case INT64, UINT64 -> {
                long[] v = new long[len];
                MemorySegment.copy(seg, LONG, advance(8L * len), v, 0, len);
                return new GgufArray(et, v);
            }
            case FLOAT32 -> {
                float[] v = new float[len];
                MemorySegment.copy(seg, FLOAT, advance(4L * len), v, 0, len);
                return new GgufArray(et, v);
            }
            case FLOAT64 -> {
                double[] v = new double[len];
                MemorySegment.copy(seg, DOUBLE, advance(8L * len), v, 0, len);
                return new GgufArray(et, v);
            }
            case STRING -> {
                String[] v = new String[len];
                for (int i = 0; i < len; i++) {
                    v[i] = string(field + "[" + i + "]");
                }
                return new GgufArray(et, v);
            }
            case ARRAY -> {
                GgufArray[] v = new GgufArray[len];
                for (int i = 0; i < len; i++) {
                    v[i] = array(key + "[" + i + "]", depth + 1);
                }
                return new GgufArray(et, v);
            }
            default -> throw new IllegalStateException(et.toString());
        }
    }

    /** Reads a count (uint32 in v1, uint64 later) and checks that many items of minItemBytes fit. */
    private long count(String field, int minItemBytes) {
        long at = pos;
        long n = version == 1 ? u32(field) : u64(field);
        long remaining = size - pos;
        if (n < 0 || n > Integer.MAX_VALUE - 8 || n * minItemBytes > remaining) {
            throw error(at, field + " is " + Long.toUnsignedString(n) + ", but only " + remaining
                    + " bytes remain in the file (at least " + minItemBytes + " bytes per item); the file is truncated or corrupt");
        }
        return n;
    }

    private String string(String field) {
        long at = pos;
        long len = version == 1 ? u32("length of " + field) : u64("length of " + field);
        if (len < 0 || len > size - pos) {
            throw error(at, field + ": string length " + Long.toUnsignedString(len) + " exceeds the " + (size - pos)
                    + " bytes left in the file; the file is truncated or corrupt");
        }
        byte[] bytes = new byte[(int) len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, advance(len), bytes, 0, bytes.length);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            // Vocabularies may hold invalid UTF-8 pieces; keep them readable rather than reject the file.
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private long u32(String field) {
        need(4, field);
        return seg.get(INT, advance(4)) & 0xFFFFFFFFL;
    }

    private long u64(String field) {
        need(8, field);
        return seg.get(LONG, advance(8));
    }

    private boolean need(long n, String field) {
        if (size - pos < n) {
            throw error(pos, "truncated file: reading " + field + " needs " + n + " bytes, but only " + (size - pos) + " remain");
        }
        return true;
    }

    private long advance(long n) {
        need(n, "data");
        long at = pos;
        pos += n;
        return at;
    }

    private ArgonException error(long offset, String message) {
        return new ArgonException(file + (offset >= 0 ? " (offset " + offset + ")" : "") + ": " + message);
    }

    static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x ", x & 0xFF));
        }
        String printable = new String(b, StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", ".");
        return sb.toString().trim() + " ('" + printable + "')";
    }
}
