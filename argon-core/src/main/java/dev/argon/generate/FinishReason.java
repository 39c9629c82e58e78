package dev.argon.generate;

/** Why a generation ended. {@link #openAiName()} gives the OpenAI API's {@code finish_reason}. */
public enum FinishReason {
    /** The model produced an end-of-generation token (EOS/EOT). */
    END_OF_SEQUENCE("stop"),
    /** A stop string appeared in the output. */
    STOP_STRING("stop"),
    /** The requested number of tokens ({@code -n}, {@code max_tokens}) was generated. */
    LENGTH("length"),
    /** The KV cache is full: no position is left for another token. */
    CONTEXT_FULL("length"),
    /**
     * The caller cancelled the generation (or a server's shutdown grace period ran out). The
     * OpenAI API has no such value; the answer was cut short, so it reports {@code length}.
     */
    CANCELLED("length"),
    /**
     * The request's constraint (grammar, JSON schema) allows no token at this point: no token of
     * the vocabulary continues the text, and the grammar does not accept it as complete (a
     * complete text ends with an end-of-generation token instead).
     */
    CONSTRAINT_DEAD_END("stop");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    /** @return {@code stop} or {@code length}, as the OpenAI API names it (a cancelled generation is {@code length}) */
    public String openAiName() {
        return openAiName;
    }
}
