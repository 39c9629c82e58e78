package dev.argon.chat;

import dev.argon.ArgonException;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Expected strings are what CPython's {@code json.dumps} writes (worked out from its encoder rules). */
class PyJsonTest {

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void scalarsLikePython() {
        assertThat(PyJson.dumps(1)).isEqualTo("1");
        assertThat(PyJson.dumps(1L)).isEqualTo("1");
        assertThat(PyJson.dumps(1.0)).isEqualTo("1.0");
        assertThat(PyJson.dumps(-0.0)).isEqualTo("-0.0");
        assertThat(PyJson.dumps(true)).isEqualTo("true");
        assertThat(PyJson.dumps(false)).isEqualTo("false");
        assertThat(PyJson.dumps(null)).isEqualTo("null");
        assertThat(PyJson.dumps(new BigInteger("123456789012345678901234567890"))).isEqualTo("123456789012345678901234567890");
    }

    @Test
    void floatsUsePythonRepr() {
        assertThat(PyJson.floatRepr(0.1)).isEqualTo("0.1");
        assertThat(PyJson.floatRepr(2.5)).isEqualTo("2.5");
        assertThat(PyJson.floatRepr(100.0)).isEqualTo("100.0");
        assertThat(PyJson.floatRepr(0.0001)).isEqualTo("0.0001");
        assertThat(PyJson.floatRepr(0.00001)).isEqualTo("1e-05");
        assertThat(PyJson.floatRepr(1.5e-7)).isEqualTo("1.5e-07");
        assertThat(PyJson.floatRepr(1e15)).isEqualTo("1000000000000000.0");
        assertThat(PyJson.floatRepr(1234567890123456.0)).isEqualTo("1234567890123456.0");
        assertThat(PyJson.floatRepr(1e16)).isEqualTo("1e+16");
        assertThat(PyJson.floatRepr(1e22)).isEqualTo("1e+22");
        assertThat(PyJson.floatRepr(123456789012345678.0)).isEqualTo("1.2345678901234568e+17");
        assertThat(PyJson.floatRepr(-3.25e100)).isEqualTo("-3.25e+100");
        assertThat(PyJson.floatRepr(5e-324)).isEqualTo("5e-324");
        assertThat(PyJson.floatRepr(Double.NaN)).isEqualTo("NaN");
        assertThat(PyJson.floatRepr(Double.POSITIVE_INFINITY)).isEqualTo("Infinity");
        assertThat(PyJson.floatRepr(Double.NEGATIVE_INFINITY)).isEqualTo("-Infinity");
    }

    @Test
    void nestedContainersKeepKeyOrderAndUsePythonSeparators() {
        Map<String, Object> m = map("b", 1, "a", List.of(1, 2.5, map("x", null, "y", true), List.of()), "c", map());
        assertThat(PyJson.dumps(m)).isEqualTo("{\"b\": 1, \"a\": [1, 2.5, {\"x\": null, \"y\": true}, []], \"c\": {}}");
        assertThat(PyJson.dumps(new Object[]{"x", 1})).isEqualTo("[\"x\", 1]");
    }

    @Test
    void stringEscapes() {
        String s = "quote\" back\\ slash/ nl\n cr\r tab\t bs\b ff\f ctl\u0001 del\u007f";
        String escapedAscii = "\"quote\\\" back\\\\ slash/ nl\\n cr\\r tab\\t bs\\b ff\\f ctl\\u0001 del";
        // ensure_ascii=True also escapes DEL (it is outside ' '..'~'); ensure_ascii=False keeps it
        assertThat(PyJson.dumps(s)).isEqualTo(escapedAscii + "\\u007f\"");
        assertThat(PyJson.dumps(s, PyJson.Options.huggingFace())).isEqualTo(escapedAscii + "\u007f\"");
    }

    @Test
    void unicodeEscapedOnlyWithEnsureAscii() {
        String s = "caf\u00e9 \u2014 \u65e5\u672c \ud83d\ude00";
        assertThat(PyJson.dumps(s)).isEqualTo("\"caf\\u00e9 \\u2014 \\u65e5\\u672c \\ud83d\\ude00\"");
        assertThat(PyJson.dumps(s, PyJson.Options.huggingFace())).isEqualTo("\"" + s + "\"");
        assertThat(PyJson.dumps(map("\u00e9", 1))).isEqualTo("{\"\\u00e9\": 1}");
    }

    @Test
    void indentSeparatorsAndSortKeys() {
        Map<String, Object> m = map("b", List.of(1, map("c", List.of())), "a", map());
        assertThat(PyJson.dumps(m, PyJson.Options.python().withIndent(2))).isEqualTo("""
                {
                  "b": [
                    1,
                    {
                      "c": []
                    }
                  ],
                  "a": {}
                }""");
        assertThat(PyJson.dumps(m, PyJson.Options.python().withIndent("\t")))
                .isEqualTo("{\n\t\"b\": [\n\t\t1,\n\t\t{\n\t\t\t\"c\": []\n\t\t}\n\t],\n\t\"a\": {}\n}");
        assertThat(PyJson.dumps(m, PyJson.Options.python().withIndent(0))).isEqualTo("{\n\"b\": [\n1,\n{\n\"c\": []\n}\n],\n\"a\": {}\n}");
        assertThat(PyJson.dumps(m, PyJson.Options.python().withSeparators(",", ":"))).isEqualTo("{\"b\":[1,{\"c\":[]}],\"a\":{}}");
        assertThat(PyJson.dumps(m, PyJson.Options.python().withSortKeys(true))).isEqualTo("{\"a\": {}, \"b\": [1, {\"c\": []}]}");
    }

    @Test
    void nonStringKeysAreConvertedAsPythonDoes() {
        Map<Object, Object> m = new LinkedHashMap<>();
        m.put(7, "int");
        m.put(2.5, "float");
        m.put(true, "bool");
        m.put(null, "none");
        assertThat(PyJson.dumps(m)).isEqualTo("{\"7\": \"int\", \"2.5\": \"float\", \"true\": \"bool\", \"null\": \"none\"}");
    }

    @Test
    void otherObjectsAreNotSerializable() {
        assertThatThrownBy(() -> PyJson.dumps(new ArrayList<>(Arrays.asList(new Object()))))
                .isInstanceOf(ArgonException.class)
                .hasMessageContaining("is not JSON serializable");
    }
}
