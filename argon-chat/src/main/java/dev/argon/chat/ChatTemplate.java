package dev.argon.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;
import dev.argon.tokenizer.PromptText;
import dev.argon.tokenizer.Tokenizer;
import jinjava.javax.el.CompositeELResolver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template: turns a conversation into the prompt text the model was trained on.
 *
 * <p>The template is the Hugging Face Jinja template stored in the GGUF key
 * {@value #METADATA_KEY}, rendered as {@code transformers}' {@code apply_chat_template} does:
 * Jinja2 with {@code trim_blocks} and {@code lstrip_blocks}, loop controls, the globals
 * {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token},
 * {@code tools}, {@code raise_exception(msg)}, {@code strftime_now(fmt)}, and a {@code tojson}
 * filter that is {@code json.dumps} keeping non-ASCII text ({@code ensure_ascii=False}, as
 * Hugging Face's; pass {@code ensure_ascii=true} for {@code \}{@code uXXXX} escapes). The engine is
 * Jinjava with Python's string methods, {@code namespace()}, loop filters,
 * {@code loop.previtem}/{@code nextitem} and stepped slices added. A template that calls
 * {@code raise_exception}, or uses a filter, test, tag or method that is not available, fails
 * with an {@link ArgonException} naming the template line.
 *
 * <p><b>Fallback.</b> A GGUF without a template gets a simple one, chosen explicitly: ChatML
 * ({@link #CHATML}) when the vocabulary has an {@code <|im_start|>} token, else Llama 2's
 * {@code [INST]} format ({@link #LLAMA2}), which needs no special tokens besides BOS/EOS.
 *
 * <p>Instances are immutable and may be shared between threads.
 */
public final class ChatTemplate {
    /** The GGUF metadata key of the template. */
    public static final String METADATA_KEY = "tokenizer.chat_template";

    /** The ChatML fallback: {@code <|im_start|>ROLE\nCONTENT<|im_end|>\n} per message. */
    public static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
            + " + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /**
     * The Llama 2 fallback (Meta's Llama-2-chat template): {@code <s>[INST] <<SYS>>\nSYSTEM\n<</SYS>>\n\nUSER [/INST] ANSWER </s>}.
     * User and assistant turns must alternate.
     */
    public static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
            + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
            + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if loop.index0 == 0 and system_message != false %}"
            + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
            + "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
            + "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
            + "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    /** Render time budget in milliseconds: a template that loops longer fails with a clear error. */
    public static final long RENDER_MILLIS = 2_000;
    /** The longest rendered prompt and template string, in characters (16 Mi). */
    public static final int MAX_OUTPUT_CHARS = 16 << 20;
    /** The most items of a list or map a template may build. */
    static final int MAX_COLLECTION_SIZE = 100_000;

    /** End-of-turn markers; those a template writes are also useful as stop strings. */
    private static final List<String> END_MARKERS = List.of("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>",
            "<|end_of_turn|>", "<|endoftext|>", "<|END_OF_TURN_TOKEN|>", "</s>");

    private final String source;
    private final TemplateSource.Result rewritten;
    private final Map<String, String> specialTokens;
    private final LiteralMarks.Specials specials;
    private final boolean fallback;

    private ChatTemplate(String source, Map<String, String> specialTokens, List<String> specialTexts, boolean fallback) {
        this(source, specialTokens, LiteralMarks.Specials.of(specialTexts), fallback);
    }

    private ChatTemplate(String source, Map<String, String> specialTokens, LiteralMarks.Specials specials, boolean fallback) {
        this.source = source;
        this.specialTokens = Map.copyOf(specialTokens);
        this.specials = specials;
        this.fallback = fallback;
        this.rewritten = TemplateSource.rewrite(source);
        Context global = Engine.JINJAVA.getGlobalContext();
        for (TemplateSource.Reference r : rewritten.references()) {
            boolean known = "filter".equals(r.kind()) ? global.getFilter(r.name()) != null : global.getExpTest(r.name()) != null;
            if (!known) {
                throw new ArgonException("chat template line " + r.line() + ": the " + r.kind() + " '" + r.name()
                        + "' is not supported");
            }
        }
    }

    /**
     * A template that knows no control tokens: {@link #renderPrompt} cannot tell them in data
     * from the template's own, so use {@link #of(String, String, String, List)} (or
     * {@link #fromGguf}) for prompts that are tokenized; this form suits rendering text to look at.
     *
     * @param template a Hugging Face Jinja chat template
     * @param bosToken the text of the BOS token ({@code bos_token}), or ""
     * @param eosToken the text of the EOS token ({@code eos_token}), or ""
     * @throws ArgonException if the template uses a filter or test that is not supported
     */
    public static ChatTemplate of(String template, String bosToken, String eosToken) {
        return of(template, bosToken, eosToken, List.of());
    }

    /**
     * @param specialTexts the texts of the vocabulary's control tokens ({@link Tokenizer#specialTexts()}):
     *     where they occur in message content, {@link #renderPrompt} keeps them plain text
     * @throws ArgonException if the template uses a filter or test that is not supported
     */
    public static ChatTemplate of(String template, String bosToken, String eosToken, List<String> specialTexts) {
        return new ChatTemplate(template, Map.of("bos_token", bosToken, "eos_token", eosToken), specialTexts, false);
    }

    /**
     * The template of a GGUF model: its {@value #METADATA_KEY}, else the fallback for its
     * vocabulary (see {@link #fallback(Tokenizer)}). {@code bos_token}, {@code eos_token} and, when
     * the file names them, {@code unk_token} and {@code pad_token} are the vocabulary's strings;
     * {@code bos_token} and {@code eos_token} are empty when the vocabulary has no such token.
     */
    public static ChatTemplate fromGguf(GgufFile file, Tokenizer tokenizer) {
        Map<String, String> tokens = new HashMap<>();
        tokens.put("bos_token", text(tokenizer, tokenizer.bos()));
        tokens.put("eos_token", text(tokenizer, tokenizer.eos()));
        tokens.put("unk_token", text(tokenizer, id(file, "tokenizer.ggml.unknown_token_id")));
        tokens.put("pad_token", text(tokenizer, id(file, "tokenizer.ggml.padding_token_id")));
        tokens.values().removeIf(String::isEmpty);
        tokens.putIfAbsent("bos_token", "");
        tokens.putIfAbsent("eos_token", "");
        String template = file.has(METADATA_KEY) ? file.getString(METADATA_KEY) : null;
        if (template == null || template.isBlank()) {
            return new ChatTemplate(hasToken(tokenizer, "<|im_start|>") ? CHATML : LLAMA2, tokens, tokenizer.specialTexts(), true);
        }
        try {
            return new ChatTemplate(template, tokens, tokenizer.specialTexts(), false);
        } catch (ArgonException e) {
            throw new ArgonException(file.path() + ": " + e.getMessage(), e);
        }
    }

    /** @return the fallback template for a vocabulary: {@link #CHATML} if it has {@code <|im_start|>}, else {@link #LLAMA2} */
    public static ChatTemplate fallback(Tokenizer tokenizer) {
        String bos = text(tokenizer, tokenizer.bos());
        String eos = text(tokenizer, tokenizer.eos());
        return new ChatTemplate(hasToken(tokenizer, "<|im_start|>") ? CHATML : LLAMA2,
                Map.of("bos_token", bos, "eos_token", eos), tokenizer.specialTexts(), true);
    }

    /** @return a token id from the metadata, or -1 when absent or out of range (such as 4294967295 for "none") */
    private static int id(GgufFile file, String key) {
        return file.metadata().get(key) instanceof Number n && n.longValue() >= 0 && n.longValue() < Integer.MAX_VALUE
                ? n.intValue() : -1;
    }

    private static String text(Tokenizer t, int id) {
        return id >= 0 && id < t.vocabSize() ? t.piece(id) : "";
    }

    private static boolean hasToken(Tokenizer t, String piece) {
        for (int i = 0; i < t.vocabSize(); i++) {
            if (piece.equals(t.piece(i))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Renders a plain conversation.
     *
     * @param addGenerationPrompt end with the header of an assistant turn, so the model answers next
     * @return the prompt text, exactly as {@link #renderPrompt} gives it
     * @throws ArgonException if the template raises an error or fails
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return renderPrompt(maps(messages), null, addGenerationPrompt, Map.of()).text();
    }

    /**
     * Renders a conversation given as maps; see {@link #renderPrompt}.
     *
     * @return the prompt text
     * @throws ArgonException if the template raises an error or fails
     */
    public String render(List<? extends Map<String, ?>> messages, List<? extends Map<String, ?>> tools,
                         boolean addGenerationPrompt, Map<String, ?> extraVariables) {
        return renderPrompt(messages, tools, addGenerationPrompt, extraVariables).text();
    }

    /** Renders a plain conversation for tokenizing; see {@link #renderPrompt}. */
    public PromptText renderPrompt(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return renderPrompt(maps(messages), null, addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation given as maps (with {@code tool_calls} and other fields where the
     * template uses them) into the prompt to tokenize. Maps keep their iteration order, which
     * {@code tojson} writes.
     *
     * <p><b>Data stays data.</b> Every value in the messages, the tools and the extra variables
     * is passed to the template as a value and rendered literally: text such as
     * <code>{{ 7*7 }}</code> or <code>{% include %}</code> inside a message is printed as
     * written, never interpreted. Control-token text inside those values (say
     * {@code <|eot_id|>} in a user message) is marked as literal in the returned
     * {@link PromptText}, so the tokenizer keeps it plain text, while the template's own control
     * tokens (role markers, {@code bos_token}) become control tokens.
     *
     * @param tools tool (function) descriptions for {@code tools}, or null
     * @param extraVariables further template variables (for example {@code enable_thinking}); they
     *     do not replace {@code messages}, {@code tools} or {@code add_generation_prompt}
     * @return the prompt: special parsing on, the control-token text of data literal
     * @throws ArgonException if the template raises an error, fails, reads a file, or exceeds the
     *     output size or render time bounds
     */
    public PromptText renderPrompt(List<? extends Map<String, ?>> messages, List<? extends Map<String, ?>> tools,
                                   boolean addGenerationPrompt, Map<String, ?> extraVariables) {
        List<Object> data = new ArrayList<>();
        data.add(messages);
        data.add(extraVariables);
        if (tools != null) {
            data.add(tools);
        }
        LiteralMarks marks = LiteralMarks.choose(specials, rewritten.text(), data);
        String plain = render(marks, LiteralMarks.Mode.PLAIN, messages, tools, addGenerationPrompt, extraVariables);
        if (specials.isEmpty()) {
            return PromptText.parsed(marks.restore(plain));
        }
        // which characters came from data: see LiteralMarks (a second render, else a marked third)
        String neutral = render(marks, LiteralMarks.Mode.NEUTRAL, messages, tools, addGenerationPrompt, extraVariables);
        PromptText aligned = marks.aligned(plain, neutral);
        if (aligned != null) {
            return aligned;
        }
        if (marks.controlTokenCounts(plain).equals(marks.controlTokenCounts(neutral))) {
            return PromptText.parsed(marks.restore(plain)); // another path, but no control token more than the template wrote
        }
        return marks.unmark(render(marks, LiteralMarks.Mode.MARKED, messages, tools, addGenerationPrompt, extraVariables));
    }

    private String render(LiteralMarks marks, LiteralMarks.Mode mode, List<? extends Map<String, ?>> messages,
                          List<? extends Map<String, ?>> tools, boolean addGenerationPrompt, Map<String, ?> extraVariables) {
        Map<String, Object> context = new HashMap<>(specialTokens);
        extraVariables.forEach((k, v) -> context.put(k, marks.copy(v, mode)));
        context.put("messages", marks.copy(messages, mode));
        context.put("add_generation_prompt", addGenerationPrompt);
        if (tools != null) {
            context.put("tools", marks.copy(tools, mode));
        }
        return Engine.render(rewritten.text(), context);
    }

    private static List<Map<String, Object>> maps(List<ChatMessage> messages) {
        List<Map<String, Object>> maps = new ArrayList<>();
        for (ChatMessage m : messages) {
            maps.add(m.toMap());
        }
        return maps;
    }

    /**
     * The old, unsafe behaviour, for trusted callers that write control tokens into messages on
     * purpose (pre-formatted turns): {@link #renderPrompt} marks nothing, so control-token text in
     * message content becomes control tokens, as llama.cpp, vLLM and Hugging Face tokenize.
     *
     * @return this template with control-token text in data parsed like the template's own
     */
    public ChatTemplate withSpecialTokensInContent() {
        return new ChatTemplate(source, specialTokens, LiteralMarks.Specials.NONE, fallback);
    }

    /**
     * This template's BOS/EOS texts and control tokens with another template text: for
     * {@code --chat-template}, which overrides a file's template.
     *
     * @param template a Hugging Face Jinja chat template, or a name of {@link #builtin(String)}
     * @throws ArgonException if the template uses a filter or test that is not supported
     */
    public ChatTemplate withSource(String template) {
        String named = builtin(template);
        return new ChatTemplate(named != null ? named : template, specialTokens, specials, false);
    }

    /** The names {@link #builtin(String)} knows, as llama.cpp's {@code --chat-template} names them. */
    public static final List<String> BUILTIN_NAMES = List.of("chatml", "llama2", "llama3", "phi3", "gemma", "zephyr");

    /**
     * A well-known chat format by llama.cpp's name for it (the formats as their model cards
     * describe them): {@code chatml}, {@code llama2}, {@code llama3}, {@code phi3}, {@code gemma}
     * (assistant turns as {@code model}), {@code zephyr}.
     *
     * @return the template text, or null when {@code name} is none of {@link #BUILTIN_NAMES}
     */
    public static String builtin(String name) {
        return switch (name) {
            case "chatml" -> CHATML;
            case "llama2" -> LLAMA2;
            case "llama3" -> "{% for message in messages %}{% if loop.index0 == 0 %}{{ bos_token }}{% endif %}"
                    + "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
                    + "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
            case "phi3" -> "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
                    + "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}";
            case "gemma" -> "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
                    + "{% else %}{% set role = message['role'] %}{% endif %}"
                    + "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
                    + "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}";
            case "zephyr" -> "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
                    + "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}";
            default -> null;
        };
    }

    /** @return the template text (the fallback's when {@link #isFallback()}) */
    public String source() {
        return source;
    }

    /** @return whether this is the fallback for a file without a template */
    public boolean isFallback() {
        return fallback;
    }

    /** @return the text of the BOS token given to the template ("" when none) */
    public String bosToken() {
        return specialTokens.getOrDefault("bos_token", "");
    }

    /** @return the text of the EOS token given to the template ("" when none) */
    public String eosToken() {
        return specialTokens.getOrDefault("eos_token", "");
    }

    /**
     * @return texts that end an answer when the model writes them as text: the end-of-turn
     *     markers the template uses (and {@code [INST]} for the Llama 2 format). Generation also
     *     stops at end-of-generation tokens, which render as no text.
     */
    public List<String> stopStrings() {
        List<String> stops = new ArrayList<>();
        for (String m : END_MARKERS) {
            if (source.contains(m) || (m.equals(eosToken()) && source.contains("eos_token"))) {
                stops.add(m);
            }
        }
        if (fallback && source.equals(LLAMA2)) {
            stops.add("[INST]");
        }
        if (fallback && source.equals(CHATML)) {
            stops.add("<|im_start|>");
        }
        return List.copyOf(stops);
    }

    /** The shared Jinjava engine, configured like Hugging Face's Jinja2 environment, with bounds. */
    private static final class Engine {
        private static final java.util.Set<TemplateError.ErrorReason> LIMITS = java.util.EnumSet.of(
                TemplateError.ErrorReason.OVER_LIMIT, TemplateError.ErrorReason.OUTPUT_TOO_BIG,
                TemplateError.ErrorReason.COLLECTION_TOO_BIG);
        static final Jinjava JINJAVA = create();

        /** Renders the rewritten template; all failures become one {@link ArgonException} naming the line. */
        static String render(String template, Map<String, Object> context) {
            RenderResult result;
            TemplateFunctions.begin(RENDER_MILLIS * 1_000_000L);
            try {
                result = JINJAVA.renderForResult(template, context);
            } catch (OutOfMemoryError e) {
                throw new ArgonException("chat template: rendering ran out of memory", e);
            } catch (StackOverflowError e) {
                throw new ArgonException("chat template: rendering nested too deeply (a value that contains itself,"
                        + " or recursion without end)", e);
            } finally {
                TemplateFunctions.end();
                TemplateFunctions.Raised raised = TemplateFunctions.takeRaised();
                if (raised != null) {
                    throw new ArgonException(where(raised.line())
                            + raised.message().replaceAll("\\s*\\R\\s*", " "));
                }
            }
            for (TemplateError e : result.getErrors()) {
                // a limit that was hit is an error even where Jinjava only warns (macro recursion renders nothing)
                String m = String.valueOf(e.getMessage());
                if (e.getSeverity() == TemplateError.ErrorType.FATAL || LIMITS.contains(e.getReason())
                        || m.contains("recursion limit") || m.startsWith("Cycle detected")) {
                    throw new ArgonException(where(e.getLineno())
                            + TemplateFunctions.describe(e).replaceAll("\\s*\\R\\s*", " "));
                }
            }
            String out = result.getOutput();
            if (out.length() > MAX_OUTPUT_CHARS) {
                throw new ArgonException("chat template: the rendered prompt is longer than " + MAX_OUTPUT_CHARS + " characters");
            }
            return out;
        }

        private static String where(int line) {
            return line >= 1 ? "chat template line " + line + ": " : "chat template: ";
        }

        private static Jinjava create() {
            CompositeELResolver resolver = new CompositeELResolver();
            resolver.add(new PyMethods());
            resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
            JinjavaConfig config = JinjavaConfig.newBuilder()
                    // trim_blocks/lstrip_blocks are applied by TemplateSource (keeps line numbers right)
                    .withTrimBlocks(false)
                    .withLstripBlocks(false)
                    // values are data: text such as "{{ x }}" in a message is never rendered again
                    .withNestedInterpretationEnabled(false)
                    .withMaxOutputSize(MAX_OUTPUT_CHARS)
                    .withMaxStringLength(MAX_OUTPUT_CHARS)
                    .withMaxListSize(MAX_COLLECTION_SIZE)
                    .withMaxMapSize(MAX_COLLECTION_SIZE)
                    .withMaxRenderDepth(10)
                    .withMaxMacroRecursionDepth(20)
                    .withElResolver(resolver)
                    .withLegacyOverrides(LegacyOverrides.newBuilder()
                            .withEvaluateMapKeys(true)
                            .withIterateOverMapKeys(true)
                            .withUsePyishObjectMapper(true)
                            .withUseNaturalOperatorPrecedence(true)
                            .withParseWhitespaceControlStrictly(true)
                            .withAllowAdjacentTextNodes(true)
                            .withUseTrimmingForNotesAndExpressions(true)
                            // not KeepNullableLoopValues: its NullValue placeholder is truthy
                            .build())
                    .build();
            Jinjava jinjava = new Jinjava(config);
            // templates cannot read files or classpath resources
            jinjava.setResourceLocator((name, encoding, interpreter) -> {
                throw TemplateFunctions.stop("templates cannot read files ('" + name + "')", interpreter.getLineNumber());
            });
            Context global = jinjava.getGlobalContext();
            TemplateFilters.all().forEach(global::registerFilter);
            TemplateFilters.tests().forEach(global::registerExpTest);
            global.registerTag(new PyForTag());
            global.registerTag(new TemplateFunctions.GenerationTag());
            for (String tag : List.of("include", "import", "from", "extends")) {
                global.registerTag(new TemplateFunctions.RefusedTag(tag));
            }
            global.registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class, "raiseException",
                    Object.class));
            global.registerFunction(new ELFunctionDefinition("", "range", TemplateFunctions.class, "range",
                    Object.class, Object[].class));
            global.registerFunction(new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class, "strftimeNow",
                    String.class));
            return jinjava;
        }
    }
}
