package dev.argon.chat;

import dev.argon.tokenizer.PromptText;
import dev.argon.tokenizer.Tokenizer;

import java.util.List;
import java.util.Map;

/**
 * The prompt a chat generation tokenizes, the same for every front end ({@code argon serve}'s
 * chat routes, the in-process LangChain4j models): the template's rendering with the generation
 * prompt, minus a leading {@code bos_token} the template wrote when the tokenizer adds BOS itself
 * (else the prompt would start with two).
 */
public final class ChatPrompts {
    private ChatPrompts() {
    }

    /** @return whether encoding with special tokens on starts with the vocabulary's BOS */
    public static boolean tokenizerAddsBos(Tokenizer tokenizer) {
        int[] ids = tokenizer.encode("", true, false);
        return tokenizer.bos() >= 0 && ids.length > 0 && ids[0] == tokenizer.bos();
    }

    /**
     * @param tokenizerAddsBos {@link #tokenizerAddsBos(Tokenizer)} of the tokenizer that will encode it
     * @return {@code prompt} without the template's own leading {@code bos_token} when the tokenizer adds one
     */
    public static PromptText withoutWrittenBos(ChatTemplate template, PromptText prompt, boolean tokenizerAddsBos) {
        String bos = template.bosToken();
        if (tokenizerAddsBos && !bos.isEmpty() && prompt.text().startsWith(bos) && !prompt.isLiteral(0, bos.length())) {
            return prompt.substring(bos.length());
        }
        return prompt;
    }

    /**
     * Renders {@code messages} (maps with {@code role} and {@code content}) for generation: the
     * assistant's turn follows; message text stays data (see {@link ChatTemplate#renderPrompt}).
     *
     * @throws dev.argon.ArgonException if the template raises an error or fails
     */
    public static PromptText forGeneration(ChatTemplate template, Tokenizer tokenizer, List<? extends Map<String, ?>> messages) {
        return withoutWrittenBos(template, template.renderPrompt(messages, null, true, Map.of()), tokenizerAddsBos(tokenizer));
    }
}
