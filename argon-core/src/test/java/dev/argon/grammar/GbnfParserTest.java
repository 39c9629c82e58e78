package dev.argon.grammar;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GbnfParserTest {

    @Test
    void literalsAlternativesAndRepetition() {
        Grammar g = Grammar.parse("""
                # a comment
                root ::= greeting " " name ("!" | "?")?
                greeting ::= "hi" | "hello"   # another
                name ::= [A-Z] [a-z]{1,3}
                """);
        assertThat(g.matches("hi Bob!")).isTrue();
        assertThat(g.matches("hello Anna")).isTrue();
        assertThat(g.matches("hello Annabel")).isFalse();
        assertThat(g.matches("hi B")).isFalse();
        assertThat(g.matches("hey Bob")).isFalse();
        assertThat(g.matches("hi Bob!!")).isFalse();
    }

    @Test
    void repetitionCounts() {
        Grammar g = Grammar.parse("root ::= \"a\"{2} \"b\"{1,} \"c\"* (\"d\" \"e\")+ \"f\"{0,2}\n");
        assertThat(g.matches("aabde")).isTrue();
        assertThat(g.matches("aabbbcccdedeff")).isTrue();
        assertThat(g.matches("abde")).isFalse();
        assertThat(g.matches("aade")).isFalse();
        assertThat(g.matches("aabdefff")).isFalse();
    }

    @Test
    void unicodeClassesNegationAndEscapes() {
        Grammar g = Grammar.parse("root ::= [^a-z\\n] [α-ω] \"\\u00e9\\x41\\t\" .\n");
        assertThat(g.matches("Zλé" + "A\t€")).isTrue();
        assertThat(g.matches("😀βéA\tx")).isTrue();
        assertThat(g.matches("zβéA\tx")).isFalse();
        assertThat(g.matches("\nβéA\tx")).isFalse();
        assertThat(g.matches("ZbéA\tx")).isFalse();
    }

    @Test
    void multiLineRulesInsideGroupsAndAfterBars() {
        Grammar g = Grammar.parse("root ::= (\n  \"x\"\n  \"y\"\n) |\n  \"z\"\n");
        assertThat(g.matches("xy")).isTrue();
        assertThat(g.matches("z")).isTrue();
        assertThat(g.matches("x")).isFalse();
    }

    @Test
    void jsonGrammar() {
        Grammar g = JsonGrammar.object();
        assertThat(g.matches("{\"a\": [1, -2.5e3, true, null, \"x\\n\\u00e9\"], \"b\": {}}")).isTrue();
        assertThat(g.matches("{}")).isTrue();
        assertThat(g.matches("{\"a\": 01}")).isFalse();
        assertThat(g.matches("{\"a\" 1}")).isFalse();
        assertThat(g.matches("[1]")).isFalse();
        assertThat(g.matches("{\"a\": \"tab\there\"}")).isFalse();
    }

    @Test
    void syntaxErrorsNameLineAndColumn() {
        assertThatThrownBy(() -> Grammar.parse("root ::= \"a\"\nfoo := \"b\"\n"))
                .isInstanceOf(GrammarException.class).hasMessage("grammar error at 2:5: expected '::=' after rule name 'foo'");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"abc\n"))
                .hasMessage("grammar error at 1:14: unterminated string literal (expected '\"')");
        assertThatThrownBy(() -> Grammar.parse("root ::= [a-z\n"))
                .hasMessage("grammar error at 1:14: unterminated character class (expected ']')");
        assertThatThrownBy(() -> Grammar.parse("root ::= (\"a\" \"b\"\n"))
                .hasMessage("grammar error at 2:1: expected ')' to close the group");
        assertThatThrownBy(() -> Grammar.parse("root ::= * \"a\"\n"))
                .hasMessage("grammar error at 1:10: '*' has nothing before it to repeat");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"\\q\"\n"))
                .hasMessageStartingWith("grammar error at 1:11: unknown escape '\\q'");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"a\"{3,1}\n"))
                .hasMessage("grammar error at 1:17: repetition {3,1} has its maximum below its minimum");
        assertThatThrownBy(() -> Grammar.parse("   \n# only a comment\n"))
                .hasMessageContaining("the grammar is empty");
    }

    @Test
    void semanticErrorsNameTheRule() {
        assertThatThrownBy(() -> Grammar.parse("root ::= item\n"))
                .isInstanceOf(GrammarException.class).hasMessage("undefined rule 'item' (used at 1:10)");
        assertThatThrownBy(() -> Grammar.parse("start ::= \"a\"\n"))
                .hasMessage("the grammar has no rule named 'root' (the rule generation starts from)");
        assertThatThrownBy(() -> Grammar.parse("root ::= \"a\"\nroot ::= \"b\"\n"))
                .hasMessage("grammar error at 2:1: rule 'root' is defined twice");
        assertThatThrownBy(() -> Grammar.parse("root ::= list\nlist ::= list \",\" \"x\" | \"x\"\n"))
                .hasMessageStartingWith("rule 'list' is left-recursive (list -> list");
        assertThatThrownBy(() -> Grammar.parse("root ::= a \"x\"\na ::= b? root\nb ::= \"y\"\n"))
                .hasMessageContaining("is left-recursive");
    }
}
