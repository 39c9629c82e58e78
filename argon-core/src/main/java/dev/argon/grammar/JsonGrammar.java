package dev.argon.grammar;

/**
 * GBNF for JSON (RFC 8259) as Argon writes it: {@link #VALUE_RULES} defines {@code value},
 * {@code object}, {@code array}, {@code string}, {@code number} and {@code ws}; whitespace between
 * tokens is limited to one space, or a newline followed by at most 20 spaces or tabs, and numbers
 * to 16 integer digits, 15 fraction digits and 3 exponent digits, so a model cannot loop on
 * whitespace or digits forever.
 */
public final class JsonGrammar {
    /** The rules for any JSON value (no {@code root}). */
    public static final String VALUE_RULES = """
            value ::= object | array | string | number | "true" | "false" | "null"
            object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
            array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
            string ::= "\\"" char* "\\""
            char ::= [^"\\\\\\x00-\\x1F] | "\\\\" ( ["\\\\/bfnrt] | "u" [0-9a-fA-F]{4} )
            number ::= integer ( "." [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,3} )?
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            ws ::= ( " " | "\\n" [ \\t]{0,20} )?
            """;

    /** Any JSON object (the OpenAI {@code json_object} response format, {@code --json}). */
    public static final String OBJECT = "root ::= object\n" + VALUE_RULES;

    private JsonGrammar() {
    }

    /** @return the compiled grammar for any JSON object */
    public static Grammar object() {
        return Grammar.parse(OBJECT);
    }
}
