package dev.argon.cli;

import picocli.CommandLine;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * The conversion of every file argument ({@link Path} options and parameters, registered once in
 * {@link Main#commandLine}, and {@code -m}): an empty argument is an error rather than the current
 * directory ({@code Path.of("")}) or, for {@code -m}, the default model. {@link Main}'s error handler
 * turns {@link EmptyFile} into {@code argon: error: <flag as typed> is empty; expected a file}.
 */
final class FileArguments {
    private FileArguments() {
    }

    /** Thrown for an empty file argument; the message is completed with the flag's name by the error handler. */
    static final class EmptyFile extends CommandLine.TypeConversionException {
        EmptyFile() {
            super("is empty; expected a file");
        }
    }

    /** {@link Path} converter: refuses {@code ""} and names that are not paths on this system. */
    static final class PathConverter implements CommandLine.ITypeConverter<Path> {
        @Override
        public Path convert(String value) {
            if (value.isEmpty()) {
                throw new EmptyFile();
            }
            try {
                return Path.of(value);
            } catch (InvalidPathException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a valid file name: " + e.getReason());
            }
        }
    }

    /** Converter of a file name kept as a string (such as {@code -m}, where no flag means a default): refuses {@code ""}. */
    static final class NonEmpty implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            if (value.isEmpty()) {
                throw new EmptyFile();
            }
            return value;
        }
    }
}
