package dev.argon;

/**
 * A problem the user can act on: a bad model file, an unsupported format feature, an invalid
 * parameter. The message is complete on its own (it names the file, field, offset, expected and
 * found values where they apply) so front ends print it as a single line without a stack trace.
 *
 * <p>Programming errors are not reported with this type; they stay {@link IllegalStateException}
 * or {@link IllegalArgumentException}.
 */
public class ArgonException extends RuntimeException {
    /** @param message a complete, user-readable description of the problem */
    public ArgonException(String message) {
        super(message);
    }

    /**
     * @param message a complete, user-readable description of the problem
     * @param cause the underlying exception (for logs; not shown to users)
     */
    public ArgonException(String message, Throwable cause) {
        super(message, cause);
    }
}
