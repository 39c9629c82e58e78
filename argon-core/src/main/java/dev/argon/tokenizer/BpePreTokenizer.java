package dev.argon.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pre-tokenizer rule sets of byte-level BPE vocabularies, selected by the GGUF key
 * {@code tokenizer.ggml.pre}. Each rule set is the regex list llama.cpp uses for it
 * ({@code llm_tokenizer_bpe} in llama-vocab.cpp), which mirrors the {@code pre_tokenizer} of the
 * model's Hugging Face {@code tokenizer.json}: the regexes are applied one after another, each
 * splitting every piece from the previous step into its matches and the text between them (HF's
 * {@code Split} with behaviour {@code Isolated}); the pieces are then BPE-encoded separately.
 *
 * <p>Java regex notes: patterns are compiled with {@link Pattern#UNICODE_CHARACTER_CLASS}, so
 * {@code \s} is the Unicode White_Space property as in Oniguruma (HF) rather than ASCII
 * whitespace. Each piece is matched as a region with opaque bounds, so a lookahead such as
 * {@code \s+(?!\S)} and the end anchor see the end of the piece, as when HF matches the piece as
 * its own string. The patterns use only greedy quantifiers, ordered alternation and a negative
 * lookahead, which backtrack the same way in Java and Oniguruma (no possessive or atomic groups
 * occur in these rule sets; Java would support them natively, unlike llama.cpp's std::regex). The
 * case-insensitive contraction group {@code (?i:'s|'t|...)} of Llama 3 and Qwen2 is written
 * {@code '[sS]|'[tT]|...} as in llama.cpp (Oniguruma would also let {@code 'ſ} match {@code 's}).
 * Like llama.cpp, no HF normalizer runs before splitting (Qwen2's {@code tokenizer.json}, for one,
 * declares NFC, which only matters for text that is not already NFC).
 */
public enum BpePreTokenizer {
    /**
     * llama.cpp's rule set for "default" (and a missing {@code tokenizer.ggml.pre}): punctuation
     * runs, the GPT-2 pattern, digit runs, then groups of three ASCII digits.
     */
    DEFAULT(false, new String[] {"default"},
            Rx.PUNCT_RUNS_DEFAULT, Rx.GPT2, "\\p{N}+", "[0-9][0-9][0-9]"),
    /** GPT-2 ({@code encoder.py}): contractions, letters, numbers, other symbols, whitespace; also MPT/GPT-NeoX, Phi-2, OLMo. */
    GPT2(false, new String[] {"gpt-2", "phi-2", "mpt", "olmo"}, Rx.GPT2),
    /**
     * Llama 3 ({@code tokenizer.json} of Meta-Llama-3): numbers in groups of at most three digits,
     * a leading non-letter glued to letters, newlines kept with the punctuation or whitespace
     * before them. Llama 3 also skips the merges for pieces that are whole vocabulary tokens
     * (HF {@code ignore_merges}) and adds BOS by default.
     */
    LLAMA3(true, new String[] {"llama-bpe", "llama3", "llama-v3", "falcon3"},
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    /** Qwen2 / Qwen2.5 (also DeepSeek-R1 distilled Qwen, StableLM 2): as Llama 3 but single digits. */
    QWEN2(false, new String[] {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"},
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    /**
     * DeepSeek LLM: newlines, cased-letter runs (an explicit list of ranges in the original),
     * ASCII and full-width punctuation runs, trailing whitespace, CJK/Hangul runs, digit runs.
     */
    DEEPSEEK_LLM(false, new String[] {"deepseek-llm"},
            "[\\r\\n]",
            "\\s?[" + Rx.DEEPSEEK_CASED_LETTERS + "]+",
            "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
            "\\s+\\z", // "\s+$" in the original; pieces hold no '\n' here, so $ is the end of the piece
            Rx.CJK_RUNS,
            "\\p{N}+"),
    /** DeepSeek Coder: newlines, letter runs, punctuation runs, CJK/Hangul runs, single digits. */
    DEEPSEEK_CODER(false, new String[] {"deepseek-coder"},
            "[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", Rx.CJK_RUNS, "\\p{N}"),
    /** Falcon: punctuation runs (HF {@code Punctuation}), the GPT-2 pattern, groups of three ASCII digits. */
    FALCON(false, new String[] {"falcon"},
            "[\\p{P}\\$\\+<=>\\^~\\|`]+", Rx.GPT2, "[0-9][0-9][0-9]"),
    /** StarCoder (also Refact, SmolLM, Command-R, CodeShell, EXAONE, Minerva): single digits, then the GPT-2 pattern. */
    STARCODER(false, new String[] {"starcoder", "refact", "smollm", "command-r", "codeshell", "exaone", "minerva-7b"},
            "\\p{N}", Rx.GPT2);

    /** Shared pattern texts (a holder class, since enum constants cannot refer to the enum's own static fields). */
    private static final class Rx {
        static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
        static final String PUNCT_RUNS_DEFAULT = "[\\p{P}\\$\\+<=>\\^~\\|]+";
        static final String CJK_RUNS = "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";
        // the cased letters (Unicode L&) as listed in DeepSeek LLM's tokenizer.json
        static final String DEEPSEEK_CASED_LETTERS = "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}"
                + "\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"
                + "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}"
                + "\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
                + "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
                + "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}"
                + "\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}"
                + "\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
                + "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}"
                + "\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"
                + "\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}"
                + "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}"
                + "\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
                + "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
                + "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
                + "\\x{1E900}-\\x{1E943}";
    }

    private static final Map<String, BpePreTokenizer> BY_NAME = new LinkedHashMap<>();

    static {
        for (BpePreTokenizer p : values()) {
            for (String n : p.names) {
                BY_NAME.put(n, p);
            }
        }
    }

    private final boolean llama3Style;
    private final String[] names;
    private final Pattern[] patterns;

    BpePreTokenizer(boolean llama3Style, String[] names, String... regexes) {
        this.llama3Style = llama3Style;
        this.names = names;
        this.patterns = Arrays.stream(regexes).map(r -> Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS))
                .toArray(Pattern[]::new);
    }

    /** @return the rule set for a {@code tokenizer.ggml.pre} value, or {@code null} if unknown */
    public static BpePreTokenizer forName(String name) {
        return BY_NAME.get(name);
    }

    /** @return every supported {@code tokenizer.ggml.pre} value, in a stable order */
    public static List<String> supportedNames() {
        return List.copyOf(BY_NAME.keySet());
    }

    /** @return the {@code tokenizer.ggml.pre} values that select this rule set */
    public List<String> names() {
        return List.of(names);
    }

    /** @return whether a piece that is itself a vocabulary token skips merging (HF {@code ignore_merges}) */
    public boolean ignoresMerges() {
        return llama3Style;
    }

    /** @return whether encoding adds BOS unless the file says otherwise (llama.cpp sets it for Llama 3) */
    public boolean addsBosByDefault() {
        return llama3Style;
    }

    /** @return the regexes, applied in order */
    public List<Pattern> patterns() {
        return List.of(patterns);
    }

    /** @return the pieces of {@code text} in order; together they are exactly the text */
    public List<String> split(String text) {
        int[] cuts = {0, text.length()}; // piece i is [cuts[2i], cuts[2i+1])
        int n = text.isEmpty() ? 0 : 1;
        for (Pattern p : patterns) {
            Matcher m = p.matcher(text);
            int[] next = new int[Math.max(8, n * 4)];
            int k = 0;
            for (int i = 0; i < n; i++) {
                int start = cuts[2 * i];
                int end = cuts[2 * i + 1];
                m.region(start, end);
                int pos = start;
                while (m.find()) {
                    if (m.end() == m.start()) {
                        continue;
                    }
                    if (2 * k + 4 > next.length) {
                        next = Arrays.copyOf(next, next.length * 2);
                    }
                    if (m.start() > pos) {
                        next[2 * k] = pos;
                        next[2 * k + 1] = m.start();
                        k++;
                    }
                    next[2 * k] = m.start();
                    next[2 * k + 1] = m.end();
                    k++;
                    pos = m.end();
                }
                if (pos < end) {
                    if (2 * k + 2 > next.length) {
                        next = Arrays.copyOf(next, next.length * 2);
                    }
                    next[2 * k] = pos;
                    next[2 * k + 1] = end;
                    k++;
                }
            }
            cuts = next;
            n = k;
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(text.substring(cuts[2 * i], cuts[2 * i + 1]));
        }
        return out;
    }
}
