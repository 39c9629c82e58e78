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

    private TemplateFunctions() {
    }

    /**
     * {@code raise_exception(message)}: stops rendering; the message is reported with its line.
     * (Public for Jinjava's function registry.)
     */
    public static Object raiseException(Object message) {
        int line = JinjavaInterpreter.getCurrentMaybe().map(JinjavaInterpreter::getLineNumber).orElse(-1);
        if (RAISED.get() == null) {
            RAISED.set(new Raised(String.valueOf(message), line));
        }
        throw new IllegalStateException("raise_exception: " + message);
    }

    /** {@code strftime_now(format)}: the current local time formatted with Python's strftime codes. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.US);
    }

    static void clear() {
        RAISED.remove();
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

    /** @return a one-line description of a Jinjava error */
    static String describe(TemplateError e) {
        for (Throwable t = e.getException(); t != null; t = t.getCause()) {
            if (t instanceof dev.argon.ArgonException) {
                return t.getMessage();
            }
        }
        return e.getMessage();
    }
}
