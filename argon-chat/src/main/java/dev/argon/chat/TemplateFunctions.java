package dev.argon.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

import java.time.ZonedDateTime;
import java.util.Locale;

/**
 * The globals Hugging Face adds to templates ({@code raise_exception}, {@code strftime_now}) and
 * its {@code {% generation %}} block (which marks assistant text for training masks and renders
 * its body unchanged).
 */
public final class TemplateFunctions {
    /** What {@code raise_exception} was called with, and where. */
    record Raised(String message, int line) {
    }

    private static final ThreadLocal<Raised> RAISED = new ThreadLocal<>();
    /** The end of this thread's render time budget ({@link System#nanoTime()}), or null when none. */
    private static final ThreadLocal<Long> DEADLINE = new ThreadLocal<>();

    private TemplateFunctions() {
    }

    /**
     * {@code raise_exception(message)}: stops rendering; the message is reported with its line.
     * (Public for Jinjava's function registry.)
     */
    public static Object raiseException(Object message) {
        int line = JinjavaInterpreter.getCurrentMaybe().map(JinjavaInterpreter::getLineNumber).orElse(-1);
        throw stop("raise_exception: " + message, line);
    }

    /**
     * Stops the render on this thread: the first stop is what {@link ChatTemplate} reports, with
     * its line, however Jinjava handles the exception thrown.
     *
     * @return the exception to throw
     */
    static IllegalStateException stop(String message, int line) {
        if (RAISED.get() == null) {
            RAISED.set(new Raised(message, line));
        }
        return new IllegalStateException(message);
    }

    /** Starts a render on this thread with a time budget. */
    static void begin(long budgetNanos) {
        RAISED.remove();
        DEADLINE.set(System.nanoTime() + budgetNanos);
    }

    /** Ends the render on this thread. */
    static void end() {
        DEADLINE.remove();
    }

    /**
     * Called by loops once per item: stops the render once its time budget is spent.
     *
     * @throws IllegalStateException when the budget is spent (and from then on)
     */
    static void checkTime(int line) {
        Long deadline = DEADLINE.get();
        if (RAISED.get() != null && RAISED.get().message().startsWith("rendering took")) {
            throw new IllegalStateException(RAISED.get().message());
        }
        if (deadline != null && System.nanoTime() - deadline > 0) {
            throw stop("rendering took longer than " + ChatTemplate.RENDER_MILLIS + " ms; the template loops too long", line);
        }
    }

    /**
     * {@code range([start,] stop[, step])} as Python's, limited to
     * {@link ChatTemplate#MAX_COLLECTION_SIZE} items: a longer range is an error, not silently
     * cut short (Jinjava's own stops at 1000 items). (Public for Jinjava's function registry.)
     */
    public static java.util.List<Integer> range(Object first, Object... rest) {
        long start = 0;
        long stop;
        long step = 1;
        if (rest == null || rest.length == 0) {
            stop = integer(first);
        } else {
            start = integer(first);
            stop = integer(rest[0]);
            if (rest.length > 1) {
                step = integer(rest[1]);
            }
            if (rest.length > 2) {
                throw stop("range expected at most 3 arguments, got " + (rest.length + 1), currentLine());
            }
        }
        if (step == 0) {
            throw stop("range() arg 3 must not be zero", currentLine());
        }
        long count = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
        count = Math.max(0, count);
        if (count > ChatTemplate.MAX_COLLECTION_SIZE) {
            throw stop("range(" + start + ", " + stop + ", " + step + ") has " + count + " items, more than the "
                    + ChatTemplate.MAX_COLLECTION_SIZE + " a chat template may use", currentLine());
        }
        java.util.List<Integer> out = new java.util.ArrayList<>((int) count);
        for (long k = 0, v = start; k < count; k++, v += step) {
            out.add((int) v);
        }
        return out;
    }

    private static long integer(Object o) {
        if (o instanceof Number n && (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
                || n.doubleValue() == Math.rint(n.doubleValue()))) {
            long v = n.longValue();
            if (Math.abs(v) <= Integer.MAX_VALUE) {
                return v;
            }
        }
        throw stop("range() needs integers within +-" + Integer.MAX_VALUE + ", got " + o, currentLine());
    }

    private static int currentLine() {
        return JinjavaInterpreter.getCurrentMaybe().map(JinjavaInterpreter::getLineNumber).orElse(-1);
    }

    /** {@code strftime_now(format)}: the current local time formatted with Python's strftime codes. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.US);
    }

    /** @return the first {@code raise_exception} call of this render on this thread, or null */
    static Raised takeRaised() {
        Raised r = RAISED.get();
        RAISED.remove();
        return r;
    }

    /** {@code {% generation %}...{% endgeneration %}}: renders its body. */
    static final class GenerationTag implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder sb = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                sb.append(child.render(interpreter).getValue());
            }
            return sb.toString();
        }
    }

    /** {@code include}, {@code import}, {@code from} and {@code extends}: refused, templates cannot read files. */
    static final class RefusedTag implements Tag {
        private final String name;

        RefusedTag(String name) {
            this.name = name;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            throw stop("'{% " + name + " %}' is not allowed: chat templates cannot read files or other templates",
                    tagNode.getLineNumber());
        }
    }

    /** @return a one-line description of a Jinjava error, in the template's terms rather than the library's */
    static String describe(TemplateError e) {
        for (Throwable t = e.getException(); t != null; t = t.getCause()) {
            if (t instanceof dev.argon.ArgonException) {
                return t.getMessage();
            }
        }
        String m = String.valueOf(e.getMessage());
        if (m.contains("OutputTooBigException") || e.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG) {
            return "the rendered text would be longer than " + ChatTemplate.MAX_OUTPUT_CHARS + " characters";
        }
        if (m.contains("StackOverflowError")) {
            return "rendering nested too deeply (a value that contains itself, or recursion without end)";
        }
        if (e.getReason() == TemplateError.ErrorReason.COLLECTION_TOO_BIG) {
            return "a list or map would hold more than " + ChatTemplate.MAX_COLLECTION_SIZE + " items";
        }
        if (m.contains("recursion limit") || m.startsWith("Cycle detected")) {
            return m.replaceAll("Max recursion limit of (\\d+) reached for macro '(.*)'", "macro '$2' recursed deeper than $1 levels");
        }
        return m.replaceAll("\\bcom\\.hubspot\\.jinjava\\.[\\w.$]*\\.", "").replace("java.lang.", "");
    }
}
