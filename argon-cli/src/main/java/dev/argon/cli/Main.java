package dev.argon.cli;

import dev.argon.ArgonException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * Entry point of the {@code argon} command. User mistakes (bad flags, bad model files) are
 * reported as one line on standard error with exit code 2; standard output carries only results.
 */
@Command(name = "argon", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Pure-Java inference engine for GGUF language models.",
        subcommands = {GenerateCommand.class, ChatCommand.class, ServeCommand.class, BenchCommand.class, InspectCommand.class, TokenizeCommand.class, SynthCommand.class, LoadTestCommand.class, PerplexityCommand.class, WatermarkCommand.class, CompressCommand.class, DecompressCommand.class, RerankCommand.class, EmbedCommand.class, BatchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit code for user errors (bad arguments, bad input files). */
    public static final int USAGE_ERROR = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // every registered command (but help), in registration order, so that the list cannot fall behind
        String names = String.join(", ", spec.subcommands().keySet().stream().filter(n -> !n.equals("help")).toList());
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: choose one of " + names);
    }

    public static void main(String[] args) {
        PrintStream out = new CheckedOutput(new FileOutputStream(FileDescriptor.out));
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code = run(args, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /**
     * Runs the CLI with the given streams (used by tests).
     *
     * @return the exit code: 0 success, 2 user error, 1 internal error
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cl = commandLine(out, err);
        try {
            return cl.execute(args);
        } catch (InternalError e) {
            if (String.valueOf(e.getMessage()).contains("unsafe memory access")) {
                // a page of the memory-mapped model could not be read: the file shrank or went away
                err.println("argon: error: reading the model file failed (a fault in its memory mapping):"
                        + " it was truncated, replaced or removed while in use");
                return USAGE_ERROR;
            }
            throw e;
        } catch (OutOfMemoryError e) {
            String hint = args.length > 0 && args[0].equals("bench")
                    ? "fewer parallel sequences (-np) or shorter tests (-p, -n)"
                    : "a smaller context (-c)";
            err.println("argon: error: out of memory; try " + hint + " or a larger heap (ARGON_JAVA_OPTS=-Xmx...)");
            return 1;
        }
    }

    /**
     * The command line with Argon's error handling (one {@code argon: error:} line and exit code
     * 2 for a user mistake); tests that set up a command themselves use it too.
     */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new Main(Streams.of(out, err)));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.registerConverter(java.nio.file.Path.class, new ArgumentConverters.PathConverter());
        cl.registerConverter(float.class, ArgumentConverters::finiteFloat).registerConverter(Float.class, ArgumentConverters::finiteFloat);
        cl.registerConverter(double.class, ArgumentConverters::finiteDouble).registerConverter(Double.class, ArgumentConverters::finiteDouble);
        BatchCommand.hideRefusedOptions(cl.getSubcommands().get("batch"));
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("argon: error: " + ParameterErrors.message(ex, a));
            err.println(hint(ex, a));
            return USAGE_ERROR;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof ArgonException) {
                // Argon's own checks (values, combinations, files): the same two lines as a picocli parse error
                err.println("argon: error: " + ex.getMessage());
                err.println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for usage.");
                return USAGE_ERROR;
            }
            err.println("argon: internal error: " + ex);
            ex.printStackTrace(err);
            return 1;
        });
        return cl;
    }

    /**
     * The one hint line under a usage error: what to do for the two common slips (a prompt without -p, text that starts
     * with '-'), and where the usage is.
     *
     * @param args the whole command line
     */
    static String hint(CommandLine.ParameterException ex, String[] args) {
        CommandLine c = ex.getCommandLine();
        String name = c.getCommandSpec().qualifiedName();
        String help = "'" + name + " --help' for usage.";
        if (ex instanceof CommandLine.UnmatchedArgumentException u
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().getFirst().startsWith("-") // not an unknown option
                && c.getCommandSpec().positionalParameters().isEmpty()
                && c.getCommandSpec().findOption("--prompt") != null) {
            for (String x : args) {
                if (x.equals("--")) {
                    break;
                }
                if (x.equals("-p") || x.equals("--prompt") || x.startsWith("--prompt=")) {
                    // -p was given: the stray words are the rest of an unquoted prompt
                    return "Quote a prompt of several words: -p \"TEXT WITH SPACES\", or " + help;
                }
            }
            return "Try -p \"TEXT\" (the prompt goes after -p), or " + help;
        }
        if (ex instanceof CommandLine.MissingParameterException && !c.getCommandSpec().positionalParameters().isEmpty()) {
            for (String x : args) {
                if (x.equals("--")) {
                    break;
                }
                if (x.startsWith("-") && !x.equals("-") && c.getCommandSpec().findOption(x.replaceFirst("=.*", "")) == null) {
                    return "Try '" + name + " -- " + x + "' if " + x + " is text (text that starts with '-' goes after '--'), or " + help;
                }
            }
        }
        return "Try " + help;
    }

    private final Streams streams;

    Main(Streams streams) {
        this.streams = streams;
    }

    Main() {
        this(Streams.of(System.out, System.err));
    }

    Streams streams() {
        return streams;
    }

    /** The output and diagnostic streams commands write to. */
    record Streams(PrintStream out, PrintStream err) {
        static Streams of(PrintStream out, PrintStream err) {
            return new Streams(out, err);
        }
    }

    /** Prints the version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"argon " + (v == null ? "0.1.0-SNAPSHOT" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
