package dev.argon.chat;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One message of a conversation, as chat templates see it: {@code message['role']} and
 * {@code message['content']}. Messages with tool calls or other fields are passed to
 * {@link ChatTemplate#render(java.util.List, java.util.List, boolean, Map)} as maps instead.
 *
 * @param role {@code system}, {@code user}, {@code assistant} (or {@code tool} and others a template knows)
 * @param content the text
 */
public record ChatMessage(String role, String content) {
    /** @throws NullPointerException if role or content is null */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    /** @return a system message */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /** @return a user message */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /** @return an assistant message */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** @return the message as the template receives it: {@code {"role": ..., "content": ...}} in that order */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
