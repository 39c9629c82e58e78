package dev.argon.chat;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The named formats of {@code --chat-template} ({@link ChatTemplate#builtin}) render the layouts
 * their model cards document, and {@link ChatTemplate#withSource} keeps the BOS/EOS texts.
 */
class BuiltinTemplatesTest {
    private static final List<Map<String, String>> SYSTEM_USER = List.of(
            Map.of("role", "system", "content", "S"), Map.of("role", "user", "content", "U"));

    private static String render(String name, List<Map<String, String>> messages) {
        return ChatTemplate.of("{{ bos_token }}", "<s>", "</s>").withSource(name).render(messages, null, true, Map.of());
    }

    @Test
    void namedFormatsRenderTheirDocumentedLayouts() {
        assertThat(render("chatml", SYSTEM_USER)).isEqualTo("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
        assertThat(render("llama3", SYSTEM_USER)).isEqualTo("<s><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(render("phi3", SYSTEM_USER)).isEqualTo("<|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\n");
        assertThat(render("zephyr", SYSTEM_USER)).isEqualTo("<|system|>\nS</s>\n<|user|>\nU</s>\n<|assistant|>\n");
        assertThat(render("gemma", List.of(Map.of("role", "user", "content", " U "), Map.of("role", "assistant", "content", "A"),
                Map.of("role", "user", "content", "V")))).isEqualTo("<s><start_of_turn>user\nU<end_of_turn>\n<start_of_turn>model\n"
                + "A<end_of_turn>\n<start_of_turn>user\nV<end_of_turn>\n<start_of_turn>model\n");
        assertThat(render("llama2", List.of(Map.of("role", "user", "content", "U")))).isEqualTo("<s>[INST] U [/INST]");
    }

    @Test
    void stopStringsFollowTheNewTemplateAndTextIsKept() {
        ChatTemplate base = ChatTemplate.of("{{ bos_token }}", "<s>", "</s>");
        assertThat(base.withSource("llama3").stopStrings()).contains("<|eot_id|>");
        assertThat(base.withSource("phi3").stopStrings()).contains("<|end|>");
        assertThat(base.withSource("gemma").stopStrings()).contains("<end_of_turn>");
        ChatTemplate custom = base.withSource("{% for m in messages %}[{{ m['content'] }}]{% endfor %}");
        assertThat(custom.render(SYSTEM_USER, null, false, Map.of())).isEqualTo("[S][U]");
        assertThat(custom.isFallback()).isFalse();
        assertThat(custom.bosToken()).isEqualTo("<s>");
        assertThat(ChatTemplate.builtin("vicuna")).isNull();
        assertThatThrownBy(() -> base.withSource("{{ x | nosuchfilter }}")).hasMessageContaining("nosuchfilter");
    }
}
