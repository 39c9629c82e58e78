package dev.argon.cli;

import picocli.CommandLine;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Argon's picocli converters. Every file argument ({@link Path} options and parameters, registered once in
 * {@link Main#commandLine}, and {@code -m}): an empty argument is an error rather than the current
 * directory ({@code Path.of("")}) or, for {@code -m}, the default model; {@link Main}'s error handler
 * turns {@link EmptyArgument} into {@code argon: error: <flag as typed> is empty; expected a file}.
 * Every {@code float}/{@code double}: finite values only.
 */
final class ArgumentConverters {
    private ArgumentConverters() {
    }

    /** Thrown for an empty argument; the message ("is empty; expected a file") is completed with the flag's name by the error handler. */
    static final class EmptyArgument extends CommandLine.TypeConversionException {
        EmptyArgument() {
            this("a file");
        }

        EmptyArgument(String expected) {
            super("is empty; expected " + expected);
        }
    }

    /** {@link Path} converter: refuses {@code ""} and names that are not paths on this system. */
    static final class PathConverter implements CommandLine.ITypeConverter<Path> {
        @Override
        public Path convert(String value) {
            if (value.isEmpty()) {
                throw new EmptyArgument();
            }
            try {
                return Path.of(value);
            } catch (InvalidPathException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a valid file name: " + e.getReason());
            }
        }
    }

    /** Converter of text that must not be empty (such as {@code --stop}, which an empty string would make a no-op). */
    static final class NonEmptyText implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            if (value.isEmpty()) {
                throw new EmptyArgument("text");
            }
            return value;
        }
    }

    /**
     * {@code float} converter (registered once in {@link Main#commandLine}): as picocli's, but a value beyond
     * the range or NaN is an error naming what was typed, rather than Infinity or NaN reaching a check that
     * names a number the user never typed.
     */
    static Float finiteFloat(String value) {
        return (float) finite(value, true);
    }

    /** {@code double} converter: as {@link #finiteFloat}. */
    static Double finiteDouble(String value) {
        return finite(value, false);
    }

    private static double finite(String value, boolean single) {
        String type = single ? "float" : "double";
        double d;
        try {
            d = single ? Float.parseFloat(value) : Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a " + type);
        }
        if (!Double.isFinite(d)) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a finite number"
                    + (Double.isNaN(d) ? "" : " (beyond the range of a " + type + ")"));
        }
        return d;
    }

    /** Converter of a file name kept as a string (such as {@code -m}, where no flag means a default): refuses {@code ""}. */
    static final class NonEmpty implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            if (value.isEmpty()) {
                throw new EmptyArgument();
            }
            return value;
        }
    }
}
