package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.chat.ChatTemplate;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Map;

import java.nio.file.Path;

/**
 * {@code --chat-template NAME|TEXT} and {@code --chat-template-file FILE} (llama.cpp's flags):
 * replace the model file's chat template with a well-known format by name
 * ({@link ChatTemplate#BUILTIN_NAMES}), a Jinja template given inline, or one read from a file.
 */
final class ChatTemplateOptions {
    @Option(names = "--chat-template", paramLabel = "NAME|TEXT",
            description = "Use this chat template instead of the model's: a name (chatml, llama2, llama3, phi3, gemma, zephyr)"
                    + " or a Jinja template text.")
    String template;

    @Option(names = "--chat-template-file", paramLabel = "FILE", description = "Use the Jinja chat template in FILE instead of the model's.")
    Path templateFile;

    /**
     * @param fromModel the model file's template (or its fallback)
     * @return {@code fromModel}, or the template the flags name with the same BOS/EOS and control tokens
     * @throws ArgonException naming the flag if both are given, the name is unknown, the file
     *     cannot be read, or the template uses something unsupported
     */
    ChatTemplate apply(ChatTemplate fromModel) {
        if (template != null && templateFile != null) {
            throw new ArgonException("give the chat template either with --chat-template or with --chat-template-file, not both");
        }
        String source;
        String flag;
        if (template != null) {
            flag = "--chat-template";
            if (ChatTemplate.builtin(template) == null && !template.contains("{{") && !template.contains("{%")) {
                throw new ArgonException("--chat-template '" + template + "' is neither a known template name ("
                        + String.join(", ", ChatTemplate.BUILTIN_NAMES) + ") nor a Jinja template; for a file use --chat-template-file");
            }
            source = template;
        } else if (templateFile != null) {
            flag = "--chat-template-file " + templateFile;
            source = TextFiles.readUtf8(templateFile, "chat template file");
            if (source.isBlank()) {
                throw new ArgonException(templateFile + ": chat template file is empty");
            }
        } else {
            return fromModel;
        }
        try {
            ChatTemplate t = fromModel.withSource(source);
            // a trial conversation, so a template that cannot render fails here, not in every request
            t.render(List.of(Map.of("role", "user", "content", "Hello")),
                    null, true, Map.of());
            return t;
        } catch (ArgonException e) {
            throw new ArgonException(flag + ": " + e.getMessage(), e);
        }
    }
}
