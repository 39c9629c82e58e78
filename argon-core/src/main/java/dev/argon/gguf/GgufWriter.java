package dev.argon.gguf;

import dev.argon.ArgonException;
import dev.argon.tensor.GgmlType;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * Writes GGUF version 3 files: metadata and tensors (GGUF specification, ggml docs/gguf.md).
 * Used to create test models with random weights at any shape and to write corrupt files in tests.
 *
 * <p>The file is written to a temporary file beside the target and renamed into place, so a
 * failure never leaves a half-written model behind.
 *
 * <p>Tensor data can be given up front ({@link #addTensor(String, GgmlType, long[], MemorySegment)})
 * or produced lazily while the file is written ({@link #addTensor(String, GgmlType, long[], Supplier)},
 * {@link #addStreamedTensor}), so files larger than the heap can be written one tensor, or one
 * chunk, at a time.
 */
public final class GgufWriter {
    private record Entry(GgufValueType type, Object value) {
    }

    /**
     * Produces the bytes of one tensor at write time, in order, as one or more segments. Used by
     * {@link #addStreamedTensor}; the segments may be reused once {@code sink} returns.
     */
    @FunctionalInterface
    public interface TensorSource {
        /** Passes the tensor's bytes to {@code sink}, in order; their total must be the tensor's size. */
        void writeTo(Consumer<MemorySegment> sink);
    }

    private record Tensor(String name, long[] shape, int typeId, long byteSize, TensorSource source) {
    }

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private int alignment = 32;

    /** Adds or replaces a string value. */
    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, value);
    }

    /** Adds or replaces a uint32 value. */
    public GgufWriter putUInt32(String key, long value) {
        if (key.equals("general.alignment")) {
            alignment = (int) value;
        }
        return put(key, GgufValueType.UINT32, value);
    }

    /** Adds or replaces an int32 value. */
    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValueType.INT32, (long) value);
    }

    /** Adds or replaces a float32 value. */
    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValueType.FLOAT32, value);
    }

    /** Adds or replaces a bool value. */
    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value);
    }

    /** Adds or replaces an array value (element type and Java array as described in {@link GgufArray}). */
    public GgufWriter putArray(String key, GgufArray value) {
        return put(key, GgufValueType.ARRAY, value);
    }

    /**
     * Adds or replaces a value of any type, using the Java representation of {@link GgufFile}
     * (integers as {@link Long}), so metadata read from one file can be copied into another.
     */
    public GgufWriter put(String key, GgufValueType type, Object value) {
        metadata.put(key, new Entry(type, value));
        return this;
    }

    /**
     * Adds a tensor.
     *
     * @param shape dimensions in GGML order ({@code shape[0]} contiguous)
     * @param data exactly {@code type.bytesFor(elements)} bytes
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, MemorySegment data) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (data.byteSize() != type.bytesFor(n)) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes given, " + type.bytesFor(n) + " expected");
        }
        return addTensorRaw(name, type.id(), shape, data);
    }

    /** Adds a tensor without checking the type id or size (for writing deliberately invalid files in tests). */
    public GgufWriter addTensorRaw(String name, int typeId, long[] shape, MemorySegment data) {
        tensors.add(new Tensor(name, shape.clone(), typeId, data.byteSize(), sink -> sink.accept(data)));
        return this;
    }

    /**
     * Adds a tensor whose data is created only when the file is written, and dropped once written.
     *
     * @param shape dimensions in GGML order ({@code shape[0]} contiguous)
     * @param data called once, during {@link #write}; must return exactly {@code type.bytesFor(elements)} bytes
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, Supplier<MemorySegment> data) {
        return addStreamedTensor(name, type, shape, sink -> sink.accept(data.get()));
    }

    /**
     * Adds a tensor whose data is produced in pieces while the file is written, so that not even
     * one whole tensor needs to be in memory.
     *
     * @param shape dimensions in GGML order ({@code shape[0]} contiguous)
     * @param source called once, during {@link #write}; must produce exactly {@code type.bytesFor(elements)} bytes
     * @throws IllegalArgumentException if the element count is not a multiple of the type's block size
     */
    public GgufWriter addStreamedTensor(String name, GgmlType type, long[] shape, TensorSource source) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        tensors.add(new Tensor(name, shape.clone(), type.id(), type.bytesFor(n), source));
        return this;
    }

    /** @return the number of tensors added so far */
    public int tensorCount() {
        return tensors.size();
    }

    /** @return the size in bytes of the file {@link #write} will produce with the current contents */
    public long fileSize() {
        try {
            long[] written = {0};
            writeHeader(new LeWriter(new DataOutputStream(OutputStream.nullOutputStream()), written, null));
            long size = written[0];
            for (int i = 0; i < tensors.size(); i++) {
                size += tensors.get(i).byteSize();
                if (i < tensors.size() - 1) {
                    size = GgufReader.alignUp(size, alignment);
                }
            }
            return size;
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen: the null stream does not fail
        }
    }

    /**
     * Writes the file atomically (temporary file, then rename).
     *
     * @throws ArgonException if the file cannot be written
     */
    public void write(Path target) {
        write(target, null);
    }

    /**
     * Writes the file atomically (temporary file, then rename), reporting progress.
     *
     * @param progress called from the writing thread with the number of bytes written so far
     *     (ending with {@link #fileSize()}), after the header and after every piece of tensor
     *     data; may be null
     * @throws ArgonException if the file cannot be written
     * @throws IllegalStateException if a lazy tensor produces a wrong number of bytes (no file is left behind)
     */
    public void write(Path target, LongConsumer progress) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
            tmp.toFile().deleteOnExit(); // also when the JVM is interrupted (Ctrl-C) while writing a large file
            try (OutputStream os = Files.newOutputStream(tmp);
                 DataOutputStream out = new DataOutputStream(new BufferedOutputStream(os, 1 << 20))) {
                writeTo(new LeWriter(out, new long[]{0}, progress));
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ArgonException(target + ": cannot write: " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new ArgonException(target + ": cannot write: " + e.getCause().getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort cleanup
                }
            }
        }
    }

    private void writeTo(LeWriter w) throws IOException {
        writeHeader(w);
        w.report();
        byte[] buf = new byte[1 << 16];
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            long start = w.written()[0];
            t.source().writeTo(d -> {
                try {
                    for (long p = 0; p < d.byteSize(); p += buf.length) {
                        int n = (int) Math.min(buf.length, d.byteSize() - p);
                        MemorySegment.copy(d, ValueLayout.JAVA_BYTE, p, buf, 0, n);
                        w.bytes(buf, n);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                w.report();
            });
            long produced = w.written()[0] - start;
            if (produced != t.byteSize()) {
                throw new IllegalStateException(t.name() + ": " + produced + " bytes produced, " + t.byteSize() + " expected");
            }
            if (i < tensors.size() - 1) {
                w.pad(alignment);
            }
        }
        w.report();
    }

    private void writeHeader(LeWriter w) throws IOException {
        w.u32(GgufReader.MAGIC);
        w.u32(3);
        w.u64(tensors.size());
        w.u64(metadata.size());
        for (Map.Entry<String, Entry> e : metadata.entrySet()) {
            w.string(e.getKey());
            w.u32(e.getValue().type().id());
            w.value(e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        long[] offsets = new long[tensors.size()];
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            w.string(t.name());
            w.u32(t.shape().length);
            for (long d : t.shape()) {
                w.u64(d);
            }
            w.u32(t.typeId());
            offsets[i] = offset;
            w.u64(offset);
            offset = GgufReader.alignUp(offset + t.byteSize(), alignment);
        }
        w.pad(alignment);
    }

    /** Little-endian primitive writer that counts bytes for padding and progress. */
    private record LeWriter(DataOutputStream out, long[] written, LongConsumer progress) {
        void report() {
            if (progress != null) {
                progress.accept(written[0]);
            }
        }

        void u8(int v) throws IOException {
            out.writeByte(v);
            written[0] += 1;
        }

        void u16(int v) throws IOException {
            out.writeShort(Short.reverseBytes((short) v));
            written[0] += 2;
        }

        void u32(long v) throws IOException {
            out.writeInt(Integer.reverseBytes((int) v));
            written[0] += 4;
        }

        void u64(long v) throws IOException {
            out.writeLong(Long.reverseBytes(v));
            written[0] += 8;
        }

        void bytes(byte[] b, int n) throws IOException {
            out.write(b, 0, n);
            written[0] += n;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b, b.length);
        }

        void pad(long alignment) throws IOException {
            while (written[0] % alignment != 0) {
                u8(0);
            }
        }

        void value(GgufValueType type, Object v) throws IOException {
            switch (type) {
                case UINT8, INT8 -> u8(((Number) v).intValue());
                case UINT16, INT16 -> u16(((Number) v).intValue());
                case UINT32, INT32 -> u32(((Number) v).longValue());
                case UINT64, INT64 -> u64(((Number) v).longValue());
                case FLOAT32 -> u32(Float.floatToRawIntBits(((Number) v).floatValue()));
                case FLOAT64 -> u64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
                case BOOL -> u8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> array((GgufArray) v);
            }
        }

        void array(GgufArray a) throws IOException {
            u32(a.elementType().id());
            int n = a.size();
            u64(n);
            Object vs = a.values();
            for (int i = 0; i < n; i++) {
                switch (a.elementType()) {
                    case FLOAT32 -> u32(Float.floatToRawIntBits(((float[]) vs)[i]));
                    case FLOAT64 -> u64(Double.doubleToRawLongBits(((double[]) vs)[i]));
                    case STRING -> string(((String[]) vs)[i]);
                    case ARRAY -> array(((GgufArray[]) vs)[i]);
                    case UINT8, INT8, BOOL -> u8((int) a.getLong(i));
                    case UINT16, INT16 -> u16((int) a.getLong(i));
                    case UINT32, INT32 -> u32(a.getLong(i));
                    case UINT64, INT64 -> u64(a.getLong(i));
                }
            }
        }
    }
}
