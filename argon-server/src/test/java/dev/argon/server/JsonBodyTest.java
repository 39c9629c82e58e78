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

    @Test
    void numbersBeyondAFloatAreNamedNotInfinity() {
        var body = Json.parseObject("{\"min_p\":1e300,\"temperature\":1e400,\"top_p\":-1e400}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> Json.number(body, "min_p", 0f))
                .hasMessage("'min_p' is 1.0E300; it must be a number within the range of a 32-bit float");
        assertThatThrownBy(() -> Json.number(body, "temperature", 1f, 0, 2))
                .hasMessage("'temperature' is beyond the range of a number; it must be a number between 0 and 2");
        assertThatThrownBy(() -> Json.number(body, "top_p", 1f)).hasMessageNotContaining("Infinity");
        assertThat(Json.number(Json.parseObject("{\"x\":-3.4e38}".getBytes(StandardCharsets.UTF_8)), "x", 0f)).isEqualTo(-3.4e38f);
    }
}
