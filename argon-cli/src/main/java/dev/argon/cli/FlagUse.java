package dev.argon.cli;

import dev.argon.ArgonException;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Refuses flags that would be ignored: a flag that only tunes a feature (such as {@code --draft-max}
 * for speculative decoding) given while that feature is off is an error that names both, as
 * {@code --keep} without {@code --context-shift} is. Whether a flag was given comes from picocli's
 * parse result, so flags with default values are covered too.
 */
final class FlagUse {
    private FlagUse() {
    }

    /**
     * @param command the command (an option class gets it with {@code @Spec(Spec.Target.MIXEE)}); null skips the check
     * @return the first of {@code names} given on the command line, spelled as the user typed it, or null
     */
    static String firstGiven(CommandSpec command, String... names) {
        CommandLine cl = command == null ? null : command.commandLine();
        CommandLine.ParseResult parsed = cl == null ? null : cl.getParseResult();
        if (parsed == null) {
            return null;
        }
        String[] args = parsed.originalArgs().toArray(new String[0]);
        for (String name : names) {
            OptionSpec o = parsed.matchedOption(name);
            if (o != null) {
                return ParameterErrors.typedName(o, args, null);
            }
        }
        return null;
    }

    /**
     * @param on      whether the feature the flags tune is on
     * @param feature the feature with the flags that turn it on, for the message (such as "speculative decoding (--spec or -md)")
     * @throws ArgonException "FLAG applies to FEATURE, which is not given" when the feature is off and one of {@code names} was given
     */
    static void requireFeature(CommandSpec command, boolean on, String feature, String... names) {
        if (on) {
            return;
        }
        String given = firstGiven(command, names);
        if (given != null) {
            throw new ArgonException(given + " applies to " + feature + ", which is not given");
        }
    }
}
