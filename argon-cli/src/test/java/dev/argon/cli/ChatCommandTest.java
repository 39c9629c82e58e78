package dev.argon.cli;

import dev.argon.TestFiles;
import dev.argon.chat.ChatMessage;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.gguf.GgufWriter;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.DumbTerminal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ChatCommandTest {
    static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    static final String GEMMA = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
            + "{% endif %}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
            + "{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim"
            + " + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

    @Test
    void oneShotWithoutATemplateUsesTheLlama2Fallback() {
        CliRun r = CliRun.of("chat", "-m", TestFiles.model(STORIES).toString(), "-p", "hi", "-n", "8", "--temp", "0", "-t", "2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isNotBlank().endsWith(System.lineSeparator());
        assertThat(r.err()).contains("using the Llama 2 [INST] format").contains("generated 8 tokens").contains("finish: length");
        // the prompt is the rendered conversation; its written <s> is dropped since the tokenizer adds BOS
        CliRun g = CliRun.of("generate", "-m", TestFiles.model(STORIES).toString(), "-p", "[INST] hi [/INST]", "--parse-special",
                "-n", "8", "--temp", "0", "-t", "2");
        assertThat(r.out()).isEqualTo(g.out());
        assertThat(r.err()).as("greedy: no seed to report").doesNotContain("| seed");
    }

    @Test
    void aSampledOneShotReportsItsSeedAndTheSeedRepeatsTheAnswer() {
        CliRun r = CliRun.of("chat", "-m", TestFiles.model(STORIES).toString(), "-p", "hi", "-n", "8", "--temp", "1", "-t", "2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\| seed (\\d+)").matcher(r.err());
        assertThat(m.find()).as(r.err()).isTrue();
        CliRun again = CliRun.of("chat", "-m", TestFiles.model(STORIES).toString(), "-p", "hi", "-n", "8", "--temp", "1", "-t", "2",
                "--seed", m.group(1));
        assertThat(again.out()).isEqualTo(r.out());
        assertThat(again.err()).contains("| seed " + m.group(1));
    }

    @Test
    void templateFromTheFileIsUsedAndItsErrorsAreOneLine(@TempDir Path dir) throws IOException {
        Path model = withTemplate(dir, GEMMA);
        CliRun ok = CliRun.of("chat", "-m", model.toString(), "-p", "hi", "-n", "4", "--temp", "0");
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(ok.err()).contains("chat template from the file");
        CliRun g = CliRun.of("generate", "-m", model.toString(), "-p", "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
                "--parse-special", "-n", "4", "--temp", "0");
        assertThat(ok.out()).isEqualTo(g.out());

        CliRun bad = CliRun.of("chat", "-m", model.toString(), "--system", "be brief", "-p", "hi", "-n", "4");
        assertThat(bad.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err().lines().filter(l -> l.startsWith("argon: error:")).toList())
                .containsExactly("argon: error: chat template line 1: raise_exception: System role not supported");
        // interactive too: the conversation is checked before the first prompt
        CliRun interactive = CliRun.of("chat", "-m", model.toString(), "--system", "be brief");
        assertThat(interactive.exitCode()).isEqualTo(Main.USAGE_ERROR);
        assertThat(interactive.err()).contains("argon: error: chat template line 1: raise_exception: System role not supported");
    }

    @Test
    void interactiveConversationKeepsTheHistory() throws IOException {
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        byte[] typed = "hi\n\nhow are you\n".getBytes(StandardCharsets.UTF_8);
        try (Terminal terminal = new DumbTerminal("test", Terminal.TYPE_DUMB, new ByteArrayInputStream(typed), screen,
                StandardCharsets.UTF_8)) {
            CommandLine cl = new CommandLine(new Main(Main.Streams.of(new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8))));
            ((ChatCommand) cl.getSubcommands().get("chat").getCommandSpec().userObject()).terminal = terminal;
            int code = cl.execute("chat", "-m", TestFiles.model(STORIES).toString(), "-n", "8", "--temp", "0", "-t", "2");
            assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        }
        String shown = screen.toString(StandardCharsets.UTF_8);
        String first = CliRun.of("chat", "-m", TestFiles.model(STORIES).toString(), "-p", "hi", "-n", "8", "--temp", "0").out().strip();
        // the dumb terminal does not echo what is typed: each answer follows its prompt
        assertThat(shown).startsWith("argon chat: ").contains("> " + first + "\n");
        assertThat(shown.split("> ", -1)).hasSize(5); // hi, the blank line, how are you, then end of input
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void badFlagsAreOneLineErrors() {
        String m = TestFiles.model(STORIES).toString();
        for (String[] args : new String[][]{{"-c", "-1"}, {"--cache-type", "q9"}, {"-n", "-5"}, {"--temp", "-1"}}) {
            String[] full = new String[args.length + 5];
            full[0] = "chat";
            full[1] = "-m";
            full[2] = m;
            full[3] = "-p";
            full[4] = "hi";
            System.arraycopy(args, 0, full, 5, args.length);
            CliRun r = CliRun.of(full);
            assertThat(r.exitCode()).as(String.join(" ", args)).isEqualTo(Main.USAGE_ERROR);
            assertThat(r.err()).startsWith("argon: error: ");
            assertThat(r.err().lines().toList()).as(r.err()).hasSize(2).last().isEqualTo("Try 'argon chat --help' for usage.");
        }
    }

    /** What an interactive chat showed on its terminal and wrote to standard error, and its exit code. */
    record Interactive(int exitCode, String screen, String err) {
        /** @return the answers shown, in order (the text after each "> " prompt, up to the end of its line) */
        List<String> answers() {
            String[] parts = screen.split("> ", -1);
            List<String> out = new ArrayList<>();
            for (int i = 1; i < parts.length - 1; i++) {
                out.add(parts[i].lines().findFirst().orElse(""));
            }
            return out;
        }
    }

    static Interactive interactive(String typed, String... args) throws IOException {
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (Terminal terminal = new DumbTerminal("test", Terminal.TYPE_DUMB,
                new ByteArrayInputStream(typed.getBytes(StandardCharsets.UTF_8)), screen, StandardCharsets.UTF_8)) {
            CommandLine cl = new CommandLine(new Main(Main.Streams.of(new PrintStream(new ByteArrayOutputStream(), true,
                    StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))));
            ((ChatCommand) cl.getSubcommands().get("chat").getCommandSpec().userObject()).terminal = terminal;
            List<String> all = new ArrayList<>(List.of("chat", "-m", TestFiles.model(STORIES).toString(), "--temp", "0", "-t", "1"));
            all.addAll(List.of(args));
            int code = cl.execute(all.toArray(String[]::new));
            return new Interactive(code, screen.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void droppingTheOldestTurnKeepsTheSystemMessageAndTheLastQuestion() {
        List<ChatMessage> c = new ArrayList<>(List.of(ChatMessage.system("S"), ChatMessage.user("a"), ChatMessage.assistant("b"),
                ChatMessage.user("c"), ChatMessage.assistant("d"), ChatMessage.user("e")));
        assertThat(ChatCommand.dropOldestTurn(c)).isEqualTo(2);
        assertThat(c).containsExactly(ChatMessage.system("S"), ChatMessage.user("c"), ChatMessage.assistant("d"), ChatMessage.user("e"));
        assertThat(ChatCommand.dropOldestTurn(c)).isEqualTo(2);
        assertThat(c).containsExactly(ChatMessage.system("S"), ChatMessage.user("e"));
        assertThat(ChatCommand.dropOldestTurn(c)).isZero();
        assertThat(c).containsExactly(ChatMessage.system("S"), ChatMessage.user("e"));
    }

    @Test
    void aConversationLongerThanTheContextDropsItsOldestTurnsAndSaysSoOnce() throws IOException {
        Interactive r = interactive("hi\n".repeat(8), "-c", "64", "-n", "8", "--system", "be brief");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.answers()).hasSize(8).allSatisfy(a -> assertThat(a).isNotBlank().doesNotStartWith("argon: error"));
        assertThat(r.screen()).doesNotContain("argon: error");
        assertThat(r.err().lines().filter(l -> l.startsWith("argon: ") && !l.contains(" loaded in ")
                && !l.startsWith("argon: KV cache ")).toList()).containsExactly(
                "argon: the conversation no longer fits in the context of 64 tokens (-c): dropping its oldest turns"
                        + " (the system message stays); /clear forgets it");
    }

    @Test
    void aMessageThatCannotFitIsRefusedAndTheHistoryKept() throws IOException {
        String tooLong = "once upon a time ".repeat(20);
        Interactive r = interactive("hi\n" + tooLong + "\nhow are you\n", "-c", "64", "-n", "8");
        Interactive plain = interactive("hi\nhow are you\n", "-c", "64", "-n", "8");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.answers()).hasSize(3);
        assertThat(r.answers().get(1)).startsWith("argon: error: the prompt is ").contains("but the context holds 64 (-c)");
        assertThat(r.answers().get(2)).isEqualTo(plain.answers().get(1));
        assertThat(r.err()).doesNotContain("no longer fits");
    }

    @Test
    void clearForgetsTheConversationButKeepsTheSystemMessage() throws IOException {
        String first = CliRun.of("chat", "-m", TestFiles.model(STORIES).toString(), "--system", "be brief", "-p", "hi",
                "-n", "8", "--temp", "0").out().strip();
        Interactive r = interactive("hi\nhow are you\n/clear\nhi\n", "-n", "8", "--system", "be brief");
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> answers = r.answers();
        assertThat(answers).hasSize(4);
        assertThat(answers.get(0)).isEqualTo(first);
        assertThat(answers.get(2)).isEqualTo("[conversation cleared]");
        assertThat(answers.get(3)).isEqualTo(first); // as if "hi" were the first message after the system message
        // without /clear the same "hi" follows the earlier turns and gets another answer
        Interactive kept = interactive("hi\nhow are you\nhi\n", "-n", "8", "--system", "be brief");
        assertThat(kept.answers().get(2)).isNotEqualTo(first);
    }

    /** A copy of stories260K with a chat template in its metadata. */
    static Path withTemplate(Path dir, String template) {
        Path target = dir.resolve("with-template.gguf");
        try (GgufFile src = GgufFile.open(TestFiles.model(STORIES))) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, Object> e : src.metadata().entrySet()) {
                w.put(e.getKey(), src.typeOf(e.getKey()), e.getValue());
            }
            w.putString("tokenizer.chat_template", template);
            for (GgufTensorInfo t : src.tensors()) {
                w.addTensor(t.name(), t.type(), t.shape(), src.tensorData(t));
            }
            w.write(target);
        }
        return target;
    }
}
