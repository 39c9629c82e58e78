package dev.argon.cli;

import dev.argon.ArgonException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading the text files commands take (prompts, evaluation texts) with errors that name the file. */
final class TextFiles {
    private TextFiles() {
    }

    /**
     * @param what what the file is, for the message ("prompt file")
     * @return the file's text, decoded as strict UTF-8
     * @throws ArgonException if it is missing, unreadable or not valid UTF-8
     */
    static String readUtf8(Path file, String what) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ArgonException(file + ": " + what + " not found");
        } catch (CharacterCodingException e) {
            throw new ArgonException(file + ": " + what + " is not valid UTF-8");
        } catch (IOException e) {
            throw new ArgonException(file + ": cannot read " + what + ": " + e.getMessage(), e);
        }
    }

    /**
     * @param what what the stream is, for the message
     * @return the stream's text to its end, decoded as strict UTF-8
     * @throws ArgonException if it cannot be read or is not valid UTF-8
     */
    static String readUtf8(java.io.InputStream in, String what) {
        try {
            byte[] bytes = in.readAllBytes();
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ArgonException(what + " is not valid UTF-8");
        } catch (IOException e) {
            throw new ArgonException("cannot read " + what + ": " + e.getMessage(), e);
        }
    }
}
