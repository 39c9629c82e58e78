package dev.argon.grammar;

import dev.argon.ArgonException;

/**
 * An invalid grammar or JSON schema. The message names the place: {@code line:column} of a GBNF
 * text, the rule, or the JSON pointer of a schema keyword.
 */
public final class GrammarException extends ArgonException {
    /** @param message a complete, user-readable description of the problem */
    public GrammarException(String message) {
        super(message);
    }
}
