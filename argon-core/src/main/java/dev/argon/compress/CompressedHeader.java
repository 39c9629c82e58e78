package dev.argon.compress;

import dev.argon.ArgonException;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The header of an Argon compressed file (all integers big-endian):
 * <pre>
 * magic        4 bytes  "ARGZ"
 * version      u8       1
 * windowBits   u32      0: fixed token windows, one code; else Equal-Info Windows of this many bits
 * context      u32      tokens per model context (a window never holds more than context - 1 tokens)
 * vectorBits   u16      SIMD float width the probabilities were computed with (0: scalar kernels)
 * mode         u8+text  arithmetic: "q8" (8-bit activations) or "f32", then "/" and the KV cache type
 * model        32 bytes {@link ModelIdentity}
 * bytes        u64      length of the original data
 * tokens       u64      number of tokens coded
 * crc32        u32      CRC-32 of the original data
 * </pre>
 *
 * @param windowBits 0 or the Equal-Info Window size in bits (a multiple of 8)
 * @param context tokens per model context
 * @param vectorBits SIMD width of the kernels (0 when scalar)
 * @param mode arithmetic mode, e.g. {@code q8/f16}
 * @param model the model identity (32 bytes)
 * @param bytes original length
 * @param tokens token count
 * @param crc32 CRC-32 of the original
 */
public record CompressedHeader(int windowBits, int context, int vectorBits, String mode, byte[] model, long bytes, long tokens,
                               int crc32) {
    /** The first four bytes of every compressed file. */
    public static final byte[] MAGIC = {'A', 'R', 'G', 'Z'};
    /** The format version this code writes and reads. */
    public static final int VERSION = 1;

    /** Writes the header. */
    public void write(OutputStream out) throws IOException {
        DataOutputStream d = new DataOutputStream(out);
        d.write(MAGIC);
        d.writeByte(VERSION);
        d.writeInt(windowBits);
        d.writeInt(context);
        d.writeShort(vectorBits);
        byte[] m = mode.getBytes(StandardCharsets.US_ASCII);
        d.writeByte(m.length);
        d.write(m);
        d.write(model);
        d.writeLong(bytes);
        d.writeLong(tokens);
        d.writeInt(crc32);
        d.flush();
    }

    /**
     * Reads a header.
     *
     * @param name the file's name, for messages
     * @throws ArgonException if the data is not an Argon compressed file, of another version, or truncated
     */
    public static CompressedHeader read(InputStream in, String name) throws IOException {
        DataInputStream d = new DataInputStream(in);
        try {
            byte[] magic = d.readNBytes(4);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new ArgonException(name + ": not an Argon compressed file (expected the magic bytes \"ARGZ\")");
            }
            int version = d.readUnsignedByte();
            if (version != VERSION) {
                throw new ArgonException(name + ": compressed with format version " + version + "; this Argon reads version " + VERSION);
            }
            int windowBits = d.readInt();
            int context = d.readInt();
            int vectorBits = d.readUnsignedShort();
            byte[] m = d.readNBytes(d.readUnsignedByte());
            byte[] model = d.readNBytes(32);
            if (model.length != 32) {
                throw new EOFException();
            }
            long bytes = d.readLong();
            long tokens = d.readLong();
            int crc = d.readInt();
            if (windowBits < 0 || windowBits % 8 != 0 || context < 2 || bytes < 0 || tokens < 0 || tokens > bytes) {
                throw new ArgonException(name + ": corrupt header (window bits " + windowBits + ", context " + context + ", "
                        + bytes + " bytes, " + tokens + " tokens)");
            }
            return new CompressedHeader(windowBits, context, vectorBits, new String(m, StandardCharsets.US_ASCII), model, bytes, tokens, crc);
        } catch (EOFException e) {
            throw new ArgonException(name + ": truncated header");
        }
    }
}
