package dev.argon.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The text of a picocli parse error as the user should read it. Picocli names an option by its
 * longest alias ({@code --spec-draft-n-max}); this names it as the user typed it ({@code --draft-max}),
 * and an empty file argument ({@link ArgumentConverters.EmptyArgument}) as {@code -md is empty; expected a file}.
 */
final class ParameterErrors {
    private ParameterErrors() {
    }

    /**
     * @param ex   the parse error
     * @param args the whole command line (subcommand included)
     * @return the message for the {@code argon: error:} line
     */
    static String message(CommandLine.ParameterException ex, String[] args) {
        ArgSpec spec = ex.getArgSpec();
        String message = ex.getMessage();
        if (spec instanceof OptionSpec o) {
            String typed = typedName(o, args, ex.getValue());
            ArgumentConverters.EmptyArgument empty = emptyCause(ex);
            if (empty != null) {
                return typed + " " + empty.getMessage();
            }
            String longest = o.longestName();
            if (!typed.equals(longest) && message != null) {
                message = message.replace("'" + longest + "'", "'" + typed + "'");
            }
        } else if (spec != null && emptyCause(ex) != null) {
            return spec.paramLabel() + " " + emptyCause(ex).getMessage();
        }
        return message;
    }

    private static ArgumentConverters.EmptyArgument emptyCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ArgumentConverters.EmptyArgument e) {
                return e;
            }
        }
        return null;
    }

    /**
     * @param value the value picocli failed on, or null
     * @return the alias of {@code o} on the command line, preferring the occurrence followed by {@code value}
     *     ({@code NAME VALUE} or {@code NAME=VALUE}); the option's first name if none is found
     */
    static String typedName(OptionSpec o, String[] args, String value) {
        String any = null;
        for (int i = 0; i < args.length && !args[i].equals("--"); i++) {
            for (String name : o.names()) {
                if (args[i].equals(name)) {
                    if (value != null && i + 1 < args.length && args[i + 1].equals(value)) {
                        return name;
                    }
                } else if (!args[i].startsWith(name + "=")) {
                    continue;
                } else if (args[i].substring(name.length() + 1).equals(value)) {
                    return name;
                }
                if (any == null) {
                    any = name;
                }
            }
        }
        return any != null ? any : o.names()[0];
    }
}
