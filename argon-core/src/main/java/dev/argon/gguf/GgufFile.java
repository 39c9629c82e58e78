package dev.argon.gguf;

import dev.argon.ArgonException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open GGUF file: metadata, tensor table, and the whole file memory-mapped read-only with FFM,
 * so files of any size (also above 2 GiB) are read in place without copying onto the heap.
 *
 * <p>Metadata values are exposed as Java objects: every integer type as {@link Long}, FLOAT32 as
 * {@link Float}, FLOAT64 as {@link Double}, BOOL as {@link Boolean}, STRING as {@link String} and
 * arrays as {@link GgufArray}. The typed getters accept any integer width for integer keys.
 *
 * <p>Close the file to unmap it; tensor segments obtained from it become invalid afterwards.
 */
public final class GgufFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final GgufReader.Parsed parsed;
    private final Map<String, GgufTensorInfo> byName;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufReader.Parsed parsed) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.parsed = parsed;
        Map<String, GgufTensorInfo> m = new LinkedHashMap<>();
        for (GgufTensorInfo t : parsed.tensors()) {
            m.put(t.name(), t);
        }
        this.byName = Collections.unmodifiableMap(m);
    }

    /**
     * Maps and parses a GGUF file.
     *
     * @throws ArgonException if the file is missing, unreadable, not GGUF, of an unsupported
     *     version, truncated or otherwise corrupt (the message names the file, field and offset)
     */
    public static GgufFile open(Path path) {
        String name = path.toString();
        if (Files.isDirectory(path)) {
            throw new ArgonException(name + ": is a directory, expected a .gguf file");
        }
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            // a FIFO would block the open; a device has no size to map
            throw new ArgonException(name + ": is not a regular file (a pipe, device or socket), expected a .gguf file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            GgufReader.Parsed parsed = new GgufReader(name, seg).parse();
            return new GgufFile(path, arena, seg, parsed);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new ArgonException(name + ": no such file");
        } catch (AccessDeniedException e) {
            arena.close();
            throw new ArgonException(name + ": permission denied");
        } catch (IOException e) {
            arena.close();
            throw new ArgonException(name + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** @return the file's path */
    public Path path() {
        return path;
    }

    /** @return the GGUF version (1, 2 or 3) */
    public int version() {
        return parsed.version();
    }

    /** @return all metadata in file order (unmodifiable view) */
    public Map<String, Object> metadata() {
        return Collections.unmodifiableMap(parsed.metadata());
    }

    /** @return the GGUF value type of a metadata key, or {@code null} if absent */
    public GgufValueType typeOf(String key) {
        return parsed.types().get(key);
    }

    /** @return the tensor table in file order */
    public List<GgufTensorInfo> tensors() {
        return parsed.tensors();
    }

    /** @return the tensor with that name, or {@code null} */
    public GgufTensorInfo tensor(String name) {
        return byName.get(name);
    }

    /** @return the data alignment in bytes ({@code general.alignment}, default 32) */
    public long alignment() {
        return parsed.alignment();
    }

    /** @return the absolute byte offset of the data section */
    public long dataOffset() {
        return parsed.dataOffset();
    }

    /** @return the file size in bytes */
    public long fileSize() {
        return mapping.byteSize();
    }

    /** @return the mapped bytes of one tensor (valid until {@link #close()}) */
    public MemorySegment tensorData(GgufTensorInfo t) {
        return mapping.asSlice(parsed.dataOffset() + t.offset(), t.byteSize());
    }

    /** @return whether the metadata has this key */
    public boolean has(String key) {
        return parsed.metadata().containsKey(key);
    }

    /** @throws ArgonException if absent or not a string */
    public String getString(String key) {
        return require(key, String.class, "string");
    }

    /** @return the string value, or {@code def} if absent; throws if present with another type */
    public String getString(String key, String def) {
        return has(key) ? getString(key) : def;
    }

    /** @throws ArgonException if absent, not an integer, or out of int range */
    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new ArgonException(path + ": metadata '" + key + "' = " + v + " is out of range for a 32-bit integer");
        }
        return (int) v;
    }

    /** @return the integer value, or {@code def} if absent */
    public int getInt(String key, int def) {
        return has(key) ? getInt(key) : def;
    }

    /** @throws ArgonException if absent or not an integer */
    public long getLong(String key) {
        return require(key, Long.class, "integer");
    }

    /** @throws ArgonException if absent or not a number; integers are converted */
    public float getFloat(String key) {
        Object v = parsed.metadata().get(key);
        if (v instanceof Number n) {
            return n.floatValue();
        }
        return require(key, Float.class, "float");
    }

    /** @return the float value, or {@code def} if absent */
    public float getFloat(String key, float def) {
        return has(key) ? getFloat(key) : def;
    }

    /** @return the bool value, or {@code def} if absent */
    public boolean getBool(String key, boolean def) {
        return has(key) ? require(key, Boolean.class, "bool") : def;
    }

    /** @throws ArgonException if absent or not an array */
    public GgufArray getArray(String key) {
        return require(key, GgufArray.class, "array");
    }

    private <T> T require(String key, Class<T> type, String typeName) {
        Object v = parsed.metadata().get(key);
        if (v == null) {
            throw new ArgonException(path + ": required metadata '" + key + "' is missing");
        }
        if (!type.isInstance(v)) {
            throw new ArgonException(path + ": metadata '" + key + "': expected " + typeName + ", found "
                    + parsed.types().get(key).name().toLowerCase());
        }
        return type.cast(v);
    }

    /** Unmaps the file. */
    @Override
    public void close() {
        arena.close();
    }
}
