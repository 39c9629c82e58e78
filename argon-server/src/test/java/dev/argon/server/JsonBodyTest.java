package dev.argon.server;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Request bodies that are not one JSON object: a 400 whose message names the problem, not Jackson's classes. */
class JsonBodyTest {
    private static ApiException refusal(String body) {
        try {
            Json.parseObject(body.getBytes(StandardCharsets.UTF_8));
        } catch (ApiException e) {
            return e;
        }
        throw new AssertionError("accepted: " + body);
    }

    @Test
    void trailingContentIsNamedWithoutJavaClassNames() {
        assertThat(refusal("{\"prompt\":\"hi\"}{\"x\":1}").getMessage())
                .isEqualTo("the request body is not valid JSON: more content after the JSON object (line 1, column 16)");
        assertThat(refusal("{\"prompt\":\"hi\"} [1]").getMessage()).contains("more content after the JSON object");
        for (String body : new String[] {"{\"a\":1} trailing", "{\"a\":", "{'a':1}", "{\"a\":1,}", "{\"a\":NaN}", "\"text\"", ""}) {
            assertThat(refusal(body).getMessage()).as(body).startsWith("the request body ")
                    .doesNotContain("com.fasterxml").doesNotContain("Feature").doesNotContain("`");
        }
        assertThatThrownBy(() -> Json.parseObject("[]".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("must be a JSON object");
    }
}
