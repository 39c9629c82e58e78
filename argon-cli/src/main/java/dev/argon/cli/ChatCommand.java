package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.chat.ChatMessage;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.generate.Generator;
import dev.argon.gguf.GgufFile;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.generate.TokenConstraint;
import dev.argon.sampling.SamplingParams;
import dev.argon.tokenizer.PromptText;
import dev.argon.tokenizer.Tokenizer;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * {@code argon chat}: a multi-turn conversation using the model's chat template (see
 * {@link ChatTemplate}; files without one get the documented fallback). Each turn renders the
 * whole conversation and generates until an end-of-generation token or a stop marker of the
 * template. Interactive with line editing and history (JLine): Ctrl-C stops an answer, Ctrl-C or
 * Ctrl-D at the prompt exits, {@code /clear} forgets the conversation (not the system message).
 * When the conversation outgrows the context, the oldest turns are dropped (the system message
 * stays), which standard error says once. With {@code -p} it answers one message on standard
 * output and exits.
 */
@Command(name = "chat", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Chat with a model using its chat template (or a fallback format when the file has none).",
                "Interactive: Ctrl-C stops an answer, Ctrl-C or Ctrl-D at the prompt exits, /clear forgets the conversation"
                        + " (not the system message); the oldest turns are dropped when the context is full.",
                "With -p: print one answer and exit."})
final class ChatCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Mixin
    RunOptions run;

    @Mixin
    StructuredOutputOptions structured;

    @Option(names = "--system", paramLabel = "TEXT", description = "System message that starts the conversation.")
    String system;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT",
            description = "One-shot: answer this message on standard output and exit (for scripts).")
    String prompt;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "1024",
            description = "Most tokens per answer; -1 = until the end of the answer or a full context (default: ${DEFAULT-VALUE}).")
    int nPredict;

    @Option(names = "--parse-special-in-content",
            description = "Let control-token text in messages (such as </s> or <|im_end|>) become control tokens. Unsafe with"
                    + " untrusted text; by default message text is always plain text and only the template writes control tokens.")
    boolean parseSpecialInContent;

    @Mixin
    ChatTemplateOptions chatTemplate;

    @Mixin
    SpeculationOptions speculation;

    /** The terminal of the interactive mode; null = the system's (tests set their own). */
    Terminal terminal;

    @Override
    public void run() {
        PrintStream out = parent.streams().out();
        PrintStream err = parent.streams().err();
        SamplingParams sampling = run.sampling();
        run.validate(new GenerationRequest("", nPredict, sampling, List.of(), true, true));
        TokenConstraint.Factory constraint = structured.constraint();
        dev.argon.generate.SpeculationParams spec = speculation.params();
        SpeculationOptions.checkPolicy(spec, run.contextPolicy);
        int nThreads = run.threadCount();
        Path path = modelOption.resolve();
        long loadStart = System.nanoTime();
        LanguageModel draft = null;
        try (LanguageModel model = Models.load(path, run.modelOptions())) {
            ChatTemplate template;
            try (GgufFile file = GgufFile.open(path)) {
                template = chatTemplate.apply(ChatTemplate.fromGguf(file, model.tokenizer()));
            }
            if (parseSpecialInContent) {
                template = template.withSpecialTokensInContent();
            }
            int ctx = run.contextFor(model, err);
            Generator generator = run.generator(model, ctx);
            if (spec.mode() == dev.argon.generate.SpeculationParams.Mode.DRAFT) {
                draft = Models.load(speculation.draftModel, run.modelOptions());
                generator = generator.withDraftModel(dev.argon.generate.DraftModelProposer.factory(model, draft, ctx,
                        run.cachePrecision(), spec.pMin()));
            }
            Session session = new Session(generator, model.tokenizer(), template, sampling, nPredict, ctx,
                    ids -> run.printPrompt(model.tokenizer(), ids, err), constraint, spec);
            err.printf(Locale.ROOT, "argon: %s (%s, %d parameters) loaded in %.2f s, context %d, %d threads, %s%n",
                    path.getFileName(), model.config().architecture(), model.parameterCount(),
                    (System.nanoTime() - loadStart) / 1e9, ctx, nThreads, describe(template));
            run.printKvCache(model, ctx, 1, err);
            List<ChatMessage> conversation = new ArrayList<>();
            if (system != null) {
                conversation.add(ChatMessage.system(system));
            }
            if (prompt != null) {
                conversation.add(ChatMessage.user(prompt));
                // a closed pipe (| head) stops the answer instead of generating on unseen
                GenerationResult r = session.answer(conversation, piece -> {
                    out.print(piece);
                    out.flush();
                }, out::checkError);
                out.println();
                out.flush();
                if (out.checkError() && !CheckedOutput.readerClosed(out)) {
                    throw new ArgonException("cannot write the answer to standard output (full disk or another write error)");
                }
                err.printf(Locale.ROOT, "argon: prompt %d tokens %.1f tokens/s | generated %d tokens %.1f tokens/s | finish: %s%s%n",
                        r.promptTokens().length, r.prefillTokensPerSecond(), r.generatedTokens().length,
                        r.decodeTokensPerSecond(), r.finishReason().name().toLowerCase(Locale.ROOT),
                        run.temperature > 0 ? " | seed " + r.seed() : "");
                SpeculationOptions.report(spec, generator.speculationStats(), err);
            } else {
                // a template that rejects the conversation (a system message, say) fails now, not at every turn
                List<ChatMessage> probe = new ArrayList<>(conversation);
                probe.add(ChatMessage.user("hi"));
                template.render(probe, true);
                interactive(session, conversation, err);
            }
        } finally {
            if (draft != null) {
                draft.close();
            }
        }
    }

    private static String describe(ChatTemplate t) {
        if (!t.isFallback()) {
            return "chat template from the file";
        }
        return "no chat template in the file: using the " + (t.source().equals(ChatTemplate.CHATML) ? "ChatML" : "Llama 2 [INST]")
                + " format";
    }

    private void interactive(Session session, List<ChatMessage> conversation, PrintStream err) {
        Terminal term = terminal;
        try {
            if (term == null) {
                term = TerminalBuilder.builder().system(true).dumb(true).build();
            }
            try {
                converse(term, session, conversation, err);
            } finally {
                if (terminal == null) {
                    term.close();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void converse(Terminal term, Session session, List<ChatMessage> conversation, PrintStream err) {
        LineReader reader = LineReaderBuilder.builder().terminal(term).appName("argon").build();
        PrintWriter w = term.writer();
        w.println("argon chat: type a message and press Enter; /clear forgets the conversation. Ctrl-C stops an answer;"
                + " Ctrl-C or Ctrl-D here exits.");
        w.flush();
        boolean toldDropping = false;
        while (true) {
            String line;
            try {
                line = reader.readLine("> ");
            } catch (UserInterruptException | EndOfFileException e) {
                break;
            }
            if (line.isBlank()) {
                continue;
            }
            if (line.strip().equals("/clear")) {
                conversation.subList(leadingSystemMessages(conversation), conversation.size()).clear();
                w.println("[conversation cleared]");
                w.flush();
                continue;
            }
            conversation.add(ChatMessage.user(line));
            AtomicBoolean cancelled = new AtomicBoolean();
            Terminal.SignalHandler previous = term.handle(Terminal.Signal.INT, s -> cancelled.set(true));
            GenerationResult r;
            try {
                if (session.dropOldestTurns(conversation) > 0 && !toldDropping) {
                    err.println("argon: the conversation no longer fits in the context of " + session.contextLength()
                            + " tokens (-c): dropping its oldest turns (the system message stays); /clear forgets it");
                    err.flush();
                    toldDropping = true;
                }
                r = session.answer(conversation, piece -> {
                    w.print(piece);
                    w.flush();
                }, cancelled::get);
            } catch (ArgonException e) {
                conversation.removeLast(); // the turn did not happen; the conversation goes on without it
                w.println("argon: error: " + e.getMessage());
                w.flush();
                continue;
            } finally {
                term.handle(Terminal.Signal.INT, previous);
            }
            w.println();
            if (r.finishReason() == FinishReason.CANCELLED) {
                w.println("[stopped]");
            } else if (r.finishReason() == FinishReason.CONTEXT_FULL) {
                w.println("[the context is full: the answer is cut short]");
            }
            w.flush();
            conversation.add(ChatMessage.assistant(r.text().strip()));
        }
    }

    /** @return the number of system messages the conversation starts with (kept by /clear and by dropping turns) */
    static int leadingSystemMessages(List<ChatMessage> conversation) {
        int n = 0;
        while (n < conversation.size() && conversation.get(n).role().equals("system")) {
            n++;
        }
        return n;
    }

    /**
     * Removes the oldest turn: the first message after the leading system messages and what follows
     * it up to the next user message. The last user message (the one to answer) is never removed.
     *
     * @return the number of messages removed (0 if only system messages and the last turn are left)
     */
    static int dropOldestTurn(List<ChatMessage> conversation) {
        int first = leadingSystemMessages(conversation);
        int next = first + 1;
        while (next < conversation.size() && !conversation.get(next).role().equals("user")) {
            next++;
        }
        if (next >= conversation.size()) {
            return 0;
        }
        conversation.subList(first, next).clear();
        return next - first;
    }

    /** Renders the conversation and generates one answer. */
    private record Session(Generator generator, Tokenizer tokenizer, ChatTemplate template, SamplingParams sampling,
                           int maxTokens, int contextLength, Consumer<int[]> onPrompt, boolean tokenizerAddsBos,
                           TokenConstraint.Factory constraint, dev.argon.generate.SpeculationParams speculation) {
        Session(Generator generator, Tokenizer tokenizer, ChatTemplate template, SamplingParams sampling, int maxTokens,
                int contextLength, Consumer<int[]> onPrompt, TokenConstraint.Factory constraint,
                dev.argon.generate.SpeculationParams speculation) {
            this(generator, tokenizer, template, sampling, maxTokens, contextLength, onPrompt, addsBos(tokenizer), constraint,
                    speculation);
        }

        private static boolean addsBos(Tokenizer t) {
            int[] ids = t.encode("", true, false);
            return t.bos() >= 0 && ids.length > 0 && ids[0] == t.bos();
        }

        /**
         * Drops the oldest turns ({@link #dropOldestTurn}) until the prompt leaves room for an answer
         * of {@code -n} tokens, at most a quarter of the context. Changes nothing if even the last
         * turn alone does not fit (answering it then fails with the usual error).
         *
         * @return the number of messages dropped
         */
        int dropOldestTurns(List<ChatMessage> conversation) {
            int room = Math.max(1, Math.min(maxTokens < 0 ? contextLength : maxTokens, contextLength / 4));
            List<ChatMessage> kept = new ArrayList<>(conversation);
            int dropped = 0;
            while (promptTokens(kept) + room > contextLength) {
                int n = dropOldestTurn(kept);
                if (n == 0) {
                    break;
                }
                dropped += n;
            }
            if (dropped == 0 || promptTokens(kept) >= contextLength) {
                return 0;
            }
            conversation.clear();
            conversation.addAll(kept);
            return dropped;
        }

        /** @return the length of the prompt {@link #answer} would generate from */
        private int promptTokens(List<ChatMessage> conversation) {
            return tokenizer.encode(prompt(conversation), true).length;
        }

        /** @return the rendered conversation, without the BOS the template writes when the tokenizer adds one */
        private PromptText prompt(List<ChatMessage> conversation) {
            PromptText prompt = template.renderPrompt(conversation, true);
            // Templates write bos_token themselves; the tokenizer adds BOS too, so drop the written one.
            String bos = template.bosToken();
            if (tokenizerAddsBos && !bos.isEmpty() && prompt.text().startsWith(bos) && !prompt.isLiteral(0, bos.length())) {
                prompt = prompt.substring(bos.length());
            }
            return prompt;
        }

        GenerationResult answer(List<ChatMessage> conversation, Consumer<String> onText, BooleanSupplier cancelled) {
            GenerationRequest req = new GenerationRequest(prompt(conversation), maxTokens, sampling, template.stopStrings(), true, -1)
                    .withConstraint(constraint).withSpeculation(speculation);
            int[] ids = generator.tokenizePrompt(req, contextLength);
            onPrompt.accept(ids);
            return generator.generate(req, ids, contextLength, onText, cancelled);
        }
    }
}
