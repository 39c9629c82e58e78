package dev.argon.cli;

import dev.argon.ArgonException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Reading whole input files and writing output files through a temporary file and a rename. */
final class BinaryFiles {
    /** Writes the content of an output file. */
    interface Writer {
        void write(OutputStream out) throws IOException;
    }

    private BinaryFiles() {
    }

    /**
     * @param what what the file is, for messages ("input file")
     * @throws ArgonException if it is missing, a directory, unreadable or larger than 2 GiB
     */
    static byte[] read(Path file, String what) {
        if (Files.isDirectory(file)) {
            throw new ArgonException(file + ": " + what + " is a directory");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new ArgonException(file + ": " + what + " is not a regular file (a pipe or device); expected a file");
        }
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ArgonException(file + ": " + what + " not found");
        } catch (AccessDeniedException e) {
            throw new ArgonException(file + ": " + what + ": permission denied");
        } catch (OutOfMemoryError e) {
            throw new ArgonException(file + ": " + what + " is too large to hold in memory");
        } catch (IOException e) {
            throw new ArgonException(file + ": cannot read " + what + ": " + e.getMessage(), e);
        }
    }

    /**
     * @throws ArgonException if {@code out} names the same file as {@code in} (writing it would
     *     replace the input)
     */
    static void checkDistinct(Path in, Path out) {
        try {
            if (Files.exists(out) && Files.isSameFile(in, out)) {
                throw new ArgonException(out + ": the output file is the input file; choose another -o");
            }
        } catch (IOException e) {
            // cannot tell: the reads and writes report their own errors
        }
    }

    /**
     * Writes {@code target} via a temporary file in the same directory, renamed over the target
     * only when complete; on failure the temporary file is removed and the target left alone.
     */
    static void writeAtomically(Path target, Writer writer) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) {
            throw new ArgonException(target + ": output file is a directory");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new ArgonException(target + ": the output's directory does not exist");
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + abs.getFileName(), ".tmp");
            tmp.toFile().deleteOnExit();
            try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                writer.write(os);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (AccessDeniedException e) {
            throw new ArgonException(target + ": cannot write the output file: permission denied");
        } catch (IOException e) {
            throw new ArgonException(target + ": cannot write the output file: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }
}
