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
    /** The caller cancelled the generation. */
    CANCELLED("cancelled");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    /** @return {@code stop} or {@code length}, as the OpenAI API names it */
    public String openAiName() {
        return openAiName;
    }
}
