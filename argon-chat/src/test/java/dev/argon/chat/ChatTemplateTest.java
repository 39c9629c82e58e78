package dev.argon.chat;

import dev.argon.ArgonException;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Jinja semantics against Python Jinja2 as Hugging Face configures it (trim_blocks, lstrip_blocks,
 * keep_trailing_newline=False, loopcontrols, its tojson). Every expected string is worked out by
 * hand from Jinja2's rules; the comments give the reasoning where whitespace is involved.
 */
class ChatTemplateTest {

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** Renders with {@code vars} as variables ({@code messages} among them if given). */
    @SuppressWarnings("unchecked")
    static String render(String template, Map<String, ?> vars) {
        Object given = vars.get("messages");
        List<Map<String, ?>> messages = given == null ? List.of() : (List<Map<String, ?>>) given;
        return ChatTemplate.of(template, "<s>", "</s>").render(messages, null, false, vars);
    }

    /** Lines 1-16; line 4 raises for unknown roles. */
    static final String TEMPLATE = """
            {%- set ns = namespace(count=0) -%}
            {%- for m in messages %}
                {%- if m.role not in ['system', 'user', 'assistant'] %}
                    {{- raise_exception('Unknown role: ' + m.role) }}
                {%- endif %}
                {%- set ns.count = ns.count + 1 %}
                [{{ loop.index0 }}] {{ m.role }}: {{ m.content }}{% if not loop.last %};{% endif %}

            {% endfor %}
            {% if tools %}
            Tools ({{ tools | length }}):
            {% for t in tools %}
              - {{ t | tojson }}
            {% endfor %}
            {% endif %}
            total={{ ns.count }}
            """;

    static final List<Map<String, Object>> TOOLS = List.of(map("name", "search", "description", "Find \"things\" \u2014 fast",
            "parameters", map("q", "string", "n", 1, "x", 1.0, "ok", true, "none", null, "list", List.of("a", 2))));

    @Test
    void namespaceCounterLoopLastAndToolsMatchPythonJinja() {
        List<ChatMessage> messages = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello!"));
        List<Map<String, Object>> maps = messages.stream().map(ChatMessage::toMap).toList();
        // Each iteration: the 4 blanks before '[' are text after a trimmed block (kept), ';' unless
        // loop.last, the newline after {% endif %} is trimmed, the empty line's newline is kept.
        // {% if tools %}, {% for %} and {% endfor %}/{% endif %} lose their newlines; the final
        // newline of the template is dropped (keep_trailing_newline=False).
        String expected = "    [0] system: Be brief.;\n"
                + "    [1] user: Hi;\n"
                + "    [2] assistant: Hello!\n"
                + "Tools (1):\n"
                + "  - {\"name\": \"search\", \"description\": \"Find \\\"things\\\" \u2014 fast\", \"parameters\": "
                + "{\"q\": \"string\", \"n\": 1, \"x\": 1.0, \"ok\": true, \"none\": null, \"list\": [\"a\", 2]}}\n"
                + "total=3";
        assertThat(ChatTemplate.of(TEMPLATE, "", "").render(maps, TOOLS, false, Map.of())).isEqualTo(expected);
        assertThat(ChatTemplate.of(TEMPLATE, "", "").render(messages, false)).isEqualTo(
                "    [0] system: Be brief.;\n    [1] user: Hi;\n    [2] assistant: Hello!\ntotal=3");
    }

    @Test
    void raiseExceptionNamesTheTemplateLine() {
        List<ChatMessage> messages = List.of(ChatMessage.user("Hi"), new ChatMessage("robot", "beep"));
        assertThatThrownBy(() -> ChatTemplate.of(TEMPLATE, "", "").render(messages, true))
                .isInstanceOf(ArgonException.class)
                .hasMessage("chat template line 4: raise_exception: Unknown role: robot");
    }

    @Test
    void trimBlocksAndLstripBlocks() {
        String t = """
                <list>
                  {% for x in items %}
                    <item>{{ x }}</item>
                  {% endfor %}
                </list>
                """;
        assertThat(render(t, Map.of("items", List.of(1, 2)))).isEqualTo("<list>\n    <item>1</item>\n    <item>2</item>\n</list>");
        // lstrip only applies when the tag starts its line; trim_blocks removes one newline only
        assertThat(render("a {% if true %}b{% endif %}\n\nc", Map.of())).isEqualTo("a b\nc");
        // {%+ keeps the blanks, +%} keeps the newline
        assertThat(render("x\n  {%+ if true +%}\ny{% endif %}", Map.of())).isEqualTo("x\n  \ny");
        // comments are trimmed and stripped like blocks; expressions are not
        assertThat(render("a\n  {# note #}\nb\n  {{ 'c' }}\nd", Map.of())).isEqualTo("a\nb\n  c\nd");
        // explicit whitespace control
        assertThat(render("a  {{- ' b ' -}}  \n c {%- if true %} d{% endif -%}\n\n e", Map.of())).isEqualTo("a b c de");
        // CRLF is read as LF; one trailing newline is dropped, a second one kept
        assertThat(render("a\r\nb\n\n", Map.of())).isEqualTo("a\nb\n");
        // raw blocks are copied unchanged; Jinja2 does not trim the newline after {% raw %}
        assertThat(render("{% raw %}\n  {% if %}{{ x }}\n  {% endraw %}\n!", Map.of())).isEqualTo("\n  {% if %}{{ x }}\n!");
    }

    @Test
    void loopControlsFiltersAndPreviousItems() {
        assertThat(render("{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}"
                + "{{ i }}{% endfor %}", Map.of())).isEqualTo("023");
        List<Map<String, Object>> msgs = List.of(map("role", "system"), map("role", "user"), map("role", "assistant"));
        // the loop filter counts for loop.index/loop.last, as in Jinja2
        assertThat(render("{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role }}{{ '.' if loop.last }}"
                + "{% endfor %}", Map.of("messages", msgs))).isEqualTo("1user2assistant.");
        assertThat(render("{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>"
                + "{{ loop.nextitem.role if loop.nextitem is defined else '-' }} {% endfor %}", Map.of("messages", msgs)))
                .isEqualTo("->user system>assistant user>- ");
        assertThat(render("{{ messages[::-1][0].role }} {{ (messages[1:] | map(attribute='role') | join(',')) }} "
                + "{{ 'abcdef'[::2] }} {{ 'abc'[::-1] }} {{ [1, 2, 3, 4][-1:0:-2] }}", Map.of("messages", msgs)))
                .isEqualTo("assistant user,assistant ace cba [4, 2]");
        // a set inside a loop does not leak out; a namespace attribute does
        assertThat(render("{% set x = 1 %}{% set ns = namespace(y=1) %}{% for i in [5] %}{% set x = i %}{% set ns.y = i %}"
                + "{% endfor %}{{ x }} {{ ns.y }}", Map.of())).isEqualTo("1 5");
        assertThat(render("{% for k in d %}{{ k }}{% endfor %} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}"
                + " {% for p in d | dictsort(reverse=true) %}{{ p[0] }}{{ p[-1] }}{% endfor %}",
                Map.of("d", map("a", 1, "b", 2)))).isEqualTo("ab a=1;b=2; b2a1");
        assertThat(render("{% for i in [] %}x{% else %}empty{% endfor %} {% for i in [1, 2] %}x{% else %}empty{% endfor %}"
                + " {% for i in [1, 2] if i > 5 %}x{% else %}none left{% endfor %}", Map.of())).isEqualTo("empty xx none left");
    }

    @Test
    void pythonStringMethodsAndTruthiness() {
        Map<String, Object> vars = Map.of("s", "  Hello, World  ", "e", "");
        assertThat(render("[{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip().upper() }}|{{ s.lower() }}]", vars))
                .isEqualTo("[Hello, World|Hello, World  |  Hello, World|HELLO, WORLD|  hello, world  ]");
        assertThat(render("{{ s.strip().startswith('Hello') }} {{ s.endswith(('x', '  ')) }} {{ s.split() }} {{ s.split(',') }}"
                + " {{ 'a,b,,c'.split(',', 2) }} {{ '<think>x</think>answer'.split('</think>')[-1] }}", vars))
                .isEqualTo("True True ['Hello,', 'World'] ['  Hello', ' World  '] ['a', 'b', ',c'] answer");
        assertThat(render("{{ 'xxhixx'.strip('x') }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }} "
                + "{{ 'a-b-c'.replace('-', '+', 1) }} {{ 'abcabc'.find('c') }} {{ 'abcabc'.count('bc') }} {{ '-'.join(['a', 'b']) }}"
                + " {{ 'abc'[-1] }}{{ 'abc'[0] }} {{ '12'.isdigit() }} {{ '{} and {1}{{}}'.format('x', 'y') }}", vars))
                .isEqualTo("hi Hello World Hello a+b-c 2 2 a-b ca True x and y{}");
        assertThat(render("{% for v in [[], {}, '', 0, 0.0, none, e, [0], 'a', 1] %}{{ 'T' if v else 'F' }}{% endfor %}", vars))
                .isEqualTo("FFFFFFFTTT");
        assertThat(render("{{ 'x' ~ 1 }} {{ 'a' + 'b' }} {{ 7 // 2 }} {{ 7 / 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ [1] + [2] }}"
                + " {{ 'b' in 'abc' }} {{ 'z' not in ['a'] }} {{ s is string }} {{ undefined_var is defined }} {{ none is none }}", vars))
                .isEqualTo("x1 ab 3 3.5 1 1024 [1, 2] True True True False True");
    }

    @Test
    void notBindsLooserThanTestsAndComparisons() {
        Map<String, Object> vars = Map.of("tools", List.of(1));
        // Python: not (tools is defined), not (1 == 2), ...; Jinjava alone would read (not tools) is defined
        assertThat(render("{{ not tools is defined }} {{ not nothing is defined }} {{ not tools is none }} {{ not 1 == 2 }}"
                + " {{ 'y' if not tools is none else 'n' }} {{ tools is not none and not tools }} {{ 3 not in [1] }}"
                + " {{ not not tools }} {{ not tools | length > 3 }}", vars))
                .isEqualTo("False True True True y False True True True");
        // keyword argument values are whole expressions
        assertThat(render("{% set ns = namespace(last=messages|length - 1, flag=not tools) %}{{ ns.last }} {{ ns.flag }}",
                Map.of("messages", List.of(map("role", "user"), map("role", "user")), "tools", List.of())))
                .isEqualTo("1 True");
    }

    @Test
    void testsAndFiltersJinjavaLacksOrDefinesDifferently() {
        assertThat(render("{% for v in ['s', [1], {'a': 1}, 1, 1.5, true, none] %}{{ v is iterable }}/{{ v is sequence }}/"
                + "{{ v is mapping }}/{{ v is string }}/{{ v is number }};{% endfor %}", Map.of()))
                .isEqualTo("True/True/False/True/False;True/True/False/False/False;True/True/True/False/False;"
                        + "False/False/False/False/True;False/False/False/False/True;False/False/False/False/True;"
                        + "False/False/False/False/False;");
        assertThat(render("{% for k, v in d | items %}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %} {{ [3, 1, 2] | min }}"
                + " {{ [3, 1, 2] | max }} {{ ['b', 'A'] | min }} {{ ms | max(attribute='n') | tojson }}",
                Map.of("d", map("a", 1, "b", 2), "ms", List.of(map("n", 1), map("n", 5)))))
                .isEqualTo("a=1,b=2 1 3 A {\"n\": 5}");
    }

    @Test
    void idiomsOfReasoningAndToolTemplates() {
        String t = """
                {%- set ns = namespace(last_query=messages|length - 1) %}
                {%- for m in messages[::-1] %}
                    {%- set index = (messages|length - 1) - loop.index0 %}
                    {%- if m.role == 'user' and not m.content.startswith('<tool_response>') and ns.last_query == messages|length - 1 %}
                        {%- set ns.last_query = index %}
                    {%- endif %}
                {%- endfor %}
                {%- for m in messages %}
                    {%- set content = m.content %}
                    {%- if '</think>' in content %}
                        {%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
                        {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
                        {{- '[' + reasoning + ']' }}
                    {%- endif %}
                    {{- loop.index0 ~ ':' ~ content ~ ('*' if loop.index0 == ns.last_query) ~ ' ' }}
                {%- endfor %}
                {%- for key, val in tool.items() if key != 'return' %}
                    {{- '"' + key + '": ' + (val if val is string else val | tojson) }}{{ ', ' if not loop.last else '}}' }}
                {%- endfor %}""";
        List<Map<String, Object>> messages = List.of(map("role", "user", "content", "Q1"),
                map("role", "assistant", "content", "<think>\nhmm\n</think>\n\nA1"), map("role", "user", "content", "Q2"),
                map("role", "user", "content", "<tool_response>r</tool_response>"));
        Map<String, Object> tool = map("name", "f", "parameters", map("a", 1), "return", "x");
        assertThat(render(t, Map.of("messages", messages, "tool", tool)))
                .isEqualTo("0:Q1 [hmm]1:A1 2:Q2* 3:<tool_response>r</tool_response> \"name\": f, \"parameters\": {\"a\": 1}}}");
    }

    @Test
    void valuesPrintAsPythonStr() {
        assertThat(render("{{ [1, 'a', true, false, none, {'k': \"it's\"}, 2.5] }}|{{ true }}|{{ 0.1 + 0.2 }}|{{ 10 / 4 }}|{{ x }}|"
                + "{{ d }}|{{ 'tab\\t' | list }}", Map.of("x", 1.0e16, "d", map("a", List.of("\n", "\u00e9")))))
                .isEqualTo("[1, 'a', True, False, None, {'k': \"it's\"}, 2.5]|True|0.30000000000000004|2.5|1e+16|"
                        + "{'a': ['\\n', '\u00e9']}|['t', 'a', 'b', '\\t']");
    }

    @Test
    void pythonStringLiteralEscapes() {
        assertThat(render("{{ 'caf\\u00e9 \\x41 tab\\tnl\\n q\\' dq\\\" bs\\\\' }}|{{ \"it's\" }}", Map.of()))
                .isEqualTo("caf\u00e9 A tab\tnl\n q' dq\" bs\\|it's");
        // a raw newline inside a literal is kept and does not shift later line numbers
        assertThatThrownBy(() -> render("{{ 'a\nb' }}\n{{ raise_exception('here') }}", Map.of()))
                .hasMessage("chat template line 3: raise_exception: here");
    }

    @Test
    void toJsonFilterOptions() {
        Map<String, Object> vars = Map.of("v", map("b", List.of(1, 2.0), "a", "\u00e9\"", "n", null));
        assertThat(render("{{ v | tojson }}", vars)).isEqualTo("{\"b\": [1, 2.0], \"a\": \"\u00e9\\\"\", \"n\": null}");
        assertThat(render("{{ v | tojson(ensure_ascii=true) }}", vars)).isEqualTo("{\"b\": [1, 2.0], \"a\": \"\\u00e9\\\"\", \"n\": null}");
        assertThat(render("{{ v | tojson(indent=2) }}", vars))
                .isEqualTo("{\n  \"b\": [\n    1,\n    2.0\n  ],\n  \"a\": \"\u00e9\\\"\",\n  \"n\": null\n}");
        assertThat(render("{{ v | tojson(separators=(',', ':'), sort_keys=true) }}", vars))
                .isEqualTo("{\"a\":\"\u00e9\\\"\",\"b\":[1,2.0],\"n\":null}");
        assertThat(render("{{ 1 | tojson }} {{ 1.0 | tojson }} {{ 'x' | tojson }} {{ true | tojson }} {{ none | tojson }}"
                + " {{ {'k': [1, 'a']} | tojson }}", Map.of())).isEqualTo("1 1.0 \"x\" true null {\"k\": [1, \"a\"]}");
    }

    @Test
    void globals() {
        assertThat(render("{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}", Map.of())).isEqualTo("<s>|</s>|False");
        assertThat(render("{{ strftime_now('%d %b %Y') }}", Map.of())).matches("\\d\\d [A-Z][a-z]{2} \\d{4}");
        assertThat(render("{% generation %}kept{% endgeneration %}", Map.of())).isEqualTo("kept");
    }

    @Test
    void unsupportedFeaturesFailWithTheirLine() {
        assertThatThrownBy(() -> ChatTemplate.of("a\n{{ x | no_such_filter }}", "", ""))
                .isInstanceOf(ArgonException.class)
                .hasMessage("chat template line 2: the filter 'no_such_filter' is not supported");
        assertThatThrownBy(() -> ChatTemplate.of("a\n\n{% if x is no_such_test %}{% endif %}", "", ""))
                .hasMessage("chat template line 3: the test 'no_such_test' is not supported");
        assertThatThrownBy(() -> render("{% if true %}\n  {% no_such_tag %}\n{% endif %}", Map.of()))
                .isInstanceOf(ArgonException.class)
                .hasMessageStartingWith("chat template line 2: ");
        assertThatThrownBy(() -> render("\n{{ no_such_function(1) }}", Map.of()))
                .hasMessageStartingWith("chat template line 2: ")
                .hasMessageContaining("no_such_function");
        assertThatThrownBy(() -> render("{% for x in [1] %}\n\n{{ 'abc'.no_such_method() }}{% endfor %}", Map.of()))
                .hasMessageStartingWith("chat template line 3: ")
                .hasMessageContaining("no_such_method");
        assertThatThrownBy(() -> render("{{ x | tojson }}", Map.of("x", List.of(new Object()))))
                .hasMessageContaining("is not JSON serializable");
    }
}
