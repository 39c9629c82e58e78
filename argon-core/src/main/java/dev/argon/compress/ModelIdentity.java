package dev.argon.compress;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What makes two model files give the same probabilities: SHA-256 over every tensor's name, type
 * and shape, the tensor data (the GGUF file from its data offset to its end) and the vocabulary
 * (each token's text, output bytes and whether it is a control token). Metadata such as the
 * model's name does not count.
 */
public final class ModelIdentity {
    private ModelIdentity() {
    }

    /**
     * @param model the GGUF file
     * @param tokenizer the model's tokenizer
     * @return the 32-byte SHA-256
     * @throws ArgonException if the file cannot be read
     */
    public static byte[] of(Path model, Tokenizer tokenizer) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long dataOffset;
        try (GgufFile f = GgufFile.open(model)) {
            for (GgufTensorInfo t : f.tensors()) {
                md.update(t.name().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(t.type().name().getBytes(StandardCharsets.UTF_8));
                for (long d : t.shape()) {
                    md.update(ByteBuffer.allocate(8).putLong(d).array());
                }
            }
            dataOffset = f.dataOffset();
        }
        try (FileChannel ch = FileChannel.open(model, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            long pos = dataOffset;
            while (true) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n <= 0) {
                    break;
                }
                buf.flip();
                md.update(buf);
                pos += n;
            }
        } catch (IOException e) {
            throw new ArgonException(model + ": cannot read: " + e.getMessage(), e);
        }
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            md.update(tokenizer.piece(id).getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(tokenizer.tokenBytes(id));
            md.update((byte) (tokenizer.isControl(id) ? 1 : 0));
        }
        return md.digest();
    }

    /** @return the first 8 bytes as hex, for messages */
    public static String shortHex(byte[] id) {
        return HexFormat.of().formatHex(id, 0, 8);
    }
}
