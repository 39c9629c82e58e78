package dev.argon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * The output file of {@code argon batch}: JSON Lines in the OpenAI Batch API's output format,
 * appended one whole row at a time as rows finish, so a run that is killed keeps every finished
 * row. Opening an existing file resumes it: its rows are read back as done (by {@code custom_id},
 * or by input line for rows that had none), and a last line cut short by the kill (no final
 * newline) is removed, so its row runs again and appears once.
 *
 * <p>A file cannot be written through a temporary file and a rename and still keep rows across a
 * kill; each row is one {@code write} of a whole line instead. Thread-safe.
 */
final class BatchOutput implements AutoCloseable {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final FileChannel channel;
    private final Set<String> done = new HashSet<>();
    private final int resumedRows;

    private BatchOutput(FileChannel channel, Set<String> done) {
        this.channel = channel;
        this.done.addAll(done);
        this.resumedRows = done.size();
    }

    /**
     * Opens (creating it if absent) the output file and reads the rows it already holds.
     *
     * @throws ArgonException if the file cannot be read or written, or a complete line of it is
     *     not a batch output row (another file given as {@code --output})
     */
    static BatchOutput open(Path path) {
        Set<String> done = new HashSet<>();
        try {
            if (Files.isDirectory(path)) {
                throw new ArgonException("--output " + path + " is a directory; expected a .jsonl file");
            }
            Path parent = path.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new ArgonException("--output " + path + ": directory " + parent + " does not exist");
            }
            FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                long keep = readDone(path, ch, done);
                if (keep < ch.size()) {
                    ch.truncate(keep); // the row cut short by an interrupted run: it runs again
                }
                ch.position(keep);
            } catch (RuntimeException e) {
                ch.close();
                throw e;
            }
            return new BatchOutput(ch, done);
        } catch (NoSuchFileException e) {
            throw new ArgonException("cannot create --output " + path + ": no such directory");
        } catch (IOException e) {
            throw new ArgonException("cannot open --output " + path + ": " + e.getMessage());
        }
    }

    /** Reads the complete lines (streamed); returns the length of the file up to the end of the last one. */
    private static long readDone(Path path, FileChannel ch, Set<String> done) throws IOException {
        java.io.InputStream in = new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(ch.position(0)), 1 << 16);
        java.io.ByteArrayOutputStream current = new java.io.ByteArrayOutputStream();
        long offset = 0;
        long end = 0;
        int line = 0;
        int b;
        while ((b = in.read()) >= 0) {
            offset++;
            if (b != '\n') {
                current.write(b);
                continue;
            }
            line++;
            end = offset;
            String text = current.toString(StandardCharsets.UTF_8).strip();
            current.reset();
            if (text.isEmpty()) {
                continue;
            }
            String key;
            try {
                key = key(MAPPER.readTree(text));
            } catch (IOException e) {
                key = null;
            }
            if (key == null) {
                throw new ArgonException("--output " + path + " line " + line + " is not an argon batch output row"
                        + " (a JSON object with 'custom_id' and 'response' or 'error'); give a new file or the output of an earlier run");
            }
            done.add(key);
        }
        return end;
    }

    /** The key a row is done under: its custom_id, else {@code #line N} of the input for rows that had none. */
    private static String key(JsonNode row) {
        if (row == null || !row.isObject() || !(row.has("response") || row.has("error"))) {
            return null;
        }
        JsonNode id = row.get("custom_id");
        if (id != null && id.isTextual()) {
            return id.textValue();
        }
        JsonNode line = row.path("error").path("line");
        return line.isIntegralNumber() ? lineKey(line.intValue()) : null;
    }

    /** @return the done-key of input line {@code line} (1-based) when it has no custom_id */
    static String lineKey(int line) {
        return "#line " + line;
    }

    /** @return whether a row with this key is already in the file */
    synchronized boolean isDone(String key) {
        return done.contains(key);
    }

    /** @return rows that were already in the file when it was opened */
    int resumedRows() {
        return resumedRows;
    }

    /**
     * Appends one row as one line (a single write, then on to the OS) and marks its key done.
     *
     * @throws ArgonException if the file cannot be written (full disk, ...)
     */
    synchronized void write(String key, ObjectNode row) {
        try {
            byte[] line = (MAPPER.writeValueAsString(row) + "\n").getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            done.add(key);
        } catch (IOException e) {
            throw new ArgonException("cannot write the batch output: " + e.getMessage());
        }
    }

    @Override
    public synchronized void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new ArgonException("cannot close the batch output: " + e.getMessage());
        }
    }
}
