package dev.argon.tokenizer;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufValueType;

import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a {@link Vocabulary} from GGUF metadata the way llama.cpp's {@code llama_vocab::load}
 * does: default special ids by tokenizer model (SentencePiece "llama": BOS 1, EOS 2, UNK 0;
 * WordPiece "bert": [CLS] 101 as BOS, [SEP] 102 as EOS, [UNK] 100; byte-level BPE "gpt2": none,
 * where llama.cpp takes id 11, a comma in GPT-2-style vocabularies), optional overrides from
 * {@code tokenizer.ggml.*_token_id} (ignored when out of range), {@code add_bos_token} /
 * {@code add_eos_token} (nothing is added when the vocabulary has no such token), and llama.cpp's recognition of end-of-turn / end-of-generation / fill-in-the-middle
 * tokens by their text, which also promotes those tokens to control tokens. Scores and token
 * types are required for "llama" and optional (0, normal) for the other models, as in llama.cpp.
 *
 * <p>The same rules serve vocabularies assembled from tokenizer files ({@link BpeFiles}), which
 * pass their settings as a metadata map ({@link Meta#of(String, Map)}).
 */
final class VocabularyLoader {
    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    private static final String P = "tokenizer.ggml.";

    // llama.cpp (llama-vocab.cpp, load) as of early 2025 (c392e50, the version the test fixtures
    // were checked with): texts that identify special roles when the metadata lacks them
    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>");
    private static final List<String> EOM_TEXTS = List.of("<|eom_id|>");
    private static final List<String> FIM_PRE_TEXTS = List.of("<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>");
    private static final List<String> FIM_SUF_TEXTS = List.of("<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>");
    private static final List<String> FIM_MID_TEXTS = List.of("<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>");
    private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<PAD>");
    private static final List<String> FIM_REP_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>");
    private static final List<String> FIM_SEP_TEXTS = List.of("<|file_sep|>");
    private static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|eom_id|>", "<EOT>");

    /** The metadata a vocabulary is configured from: a GGUF file or a plain map. */
    interface Meta {
        /** @return the file name (or other source description) used in error messages */
        String source();

        boolean has(String key);

        long getLong(String key);

        boolean getBool(String key, boolean def);

        String getString(String key, String def);

        static Meta of(GgufFile f) {
            return new Meta() {
                public String source() {
                    return f.path().toString();
                }

                public boolean has(String key) {
                    return f.has(key);
                }

                public long getLong(String key) {
                    return f.getLong(key);
                }

                public boolean getBool(String key, boolean def) {
                    return f.getBool(key, def);
                }

                public String getString(String key, String def) {
                    return f.getString(key, def);
                }
            };
        }

        /** @param values GGUF-style keys with {@link Number}, {@link Boolean} or {@link String} values */
        static Meta of(String source, Map<String, Object> values) {
            return new Meta() {
                public String source() {
                    return source;
                }

                public boolean has(String key) {
                    return values.containsKey(key);
                }

                public long getLong(String key) {
                    return ((Number) values.get(key)).longValue();
                }

                public boolean getBool(String key, boolean def) {
                    return values.get(key) instanceof Boolean b ? b : def;
                }

                public String getString(String key, String def) {
                    return values.get(key) instanceof String s ? s : def;
                }
            };
        }
    }

    private final Meta file;
    private final String[] tokens;
    private final int[] types;
    private final String model;

    private VocabularyLoader(Meta file, String[] tokens, int[] types, String model) {
        this.file = file;
        this.tokens = tokens;
        this.types = types;
        this.model = model;
    }

    /** @throws ArgonException if the token, score or type arrays are missing, mistyped or of different lengths */
    static Vocabulary load(GgufFile f) {
        String model = f.getString(MODEL, "llama");
        boolean spm = model.equals("llama");
        String[] tokens = readTokens(f);
        float[] scores = spm || f.has(SCORES) ? readScores(f, tokens.length) : new float[tokens.length];
        int[] types;
        if (spm || f.has(TOKEN_TYPE)) {
            types = readTypes(f, tokens.length);
        } else {
            types = new int[tokens.length];
            Arrays.fill(types, Vocabulary.NORMAL);
        }
        return new VocabularyLoader(Meta.of(f), tokens, types, model).build(scores);
    }

    /**
     * Builds a vocabulary from arrays and settings given as metadata (same keys as GGUF).
     *
     * @param types GGUF token types; modified in place where llama.cpp promotes tokens to control
     */
    static Vocabulary fromArrays(Meta meta, String model, String[] tokens, int[] types) {
        return new VocabularyLoader(meta, tokens, types, model).build(new float[tokens.length]);
    }

    private Vocabulary build(float[] scores) {
        int n = tokens.length;
        int bos;
        int eos;
        int unk;
        int pad;
        boolean addBos;
        boolean addEos;
        boolean addSpacePrefix = false;
        switch (model) {
            case "gpt2" -> {
                // llama.cpp defaults both to 11, which is ',' in GPT-2-style vocabularies: no default here
                bos = specialId("bos_token_id", -1);
                eos = specialId("eos_token_id", -1);
                unk = specialId("unknown_token_id", -1);
                pad = specialId("padding_token_id", -1);
                BpePreTokenizer pre = BpePreTokenizer.forName(file.getString(PRE, "default"));
                addBos = file.getBool(P + "add_bos_token", pre != null && pre.addsBosByDefault());
                addEos = file.getBool(P + "add_eos_token", false);
            }
            case "bert" -> { // llama.cpp WPM: [CLS] first and [SEP] last when adding special tokens
                bos = specialId("bos_token_id", specialId("cls_token_id", n > 101 ? 101 : -1));
                eos = specialId("seperator_token_id", specialId("eos_token_id", n > 102 ? 102 : -1));
                unk = specialId("unknown_token_id", n > 100 ? 100 : -1);
                pad = specialId("padding_token_id", n > 0 ? 0 : -1);
                addBos = file.getBool(P + "add_bos_token", true);
                addEos = file.getBool(P + "add_sep_token", file.getBool(P + "add_eos_token", true));
            }
            default -> {
                bos = specialId("bos_token_id", n > 1 ? 1 : -1);
                eos = specialId("eos_token_id", n > 2 ? 2 : -1);
                unk = specialId("unknown_token_id", n > 0 ? 0 : -1);
                pad = specialId("padding_token_id", -1);
                addBos = file.getBool(P + "add_bos_token", true);
                addEos = file.getBool(P + "add_eos_token", false);
                addSpacePrefix = file.getBool(P + "add_space_prefix", true);
            }
        }
        int eot = specialId("eot_token_id", -1);
        int eom = specialId("eom_token_id", -1);
        int fimPre = specialId("prefix_token_id", specialId("fim_pre_token_id", -1));
        int fimSuf = specialId("suffix_token_id", specialId("fim_suf_token_id", -1));
        int fimMid = specialId("middle_token_id", specialId("fim_mid_token_id", -1));
        int fimPad = specialId("fim_pad_token_id", -1);
        int fimRep = specialId("fim_rep_token_id", -1);
        int fimSep = specialId("fim_sep_token_id", -1);
        // add_bos_token / add_eos_token without such a token: nothing is added (never a stand-in token)
        addBos &= bos >= 0;
        addEos &= eos >= 0;

        // same order as llama.cpp: each role is looked up by text only when the metadata did not set it
        eot = detect(eot, EOT_TEXTS);
        eom = detect(eom, EOM_TEXTS);
        detect(fimPre, FIM_PRE_TEXTS);
        detect(fimSuf, FIM_SUF_TEXTS);
        detect(fimMid, FIM_MID_TEXTS);
        fimPad = detect(fimPad, FIM_PAD_TEXTS);
        fimRep = detect(fimRep, FIM_REP_TEXTS);
        fimSep = detect(fimSep, FIM_SEP_TEXTS);

        BitSet eog = new BitSet(n);
        for (int id : new int[] {fimPad, fimRep, fimSep}) {
            if (id >= 0) {
                eog.set(id);
            }
        }
        for (int i = 0; i < n; i++) {
            if (EOG_TEXTS.contains(tokens[i])) {
                eog.set(i);
                promote(i);
            }
        }

        var specials = new Vocabulary.Specials(bos, eos, unk, pad, eot, eom, addBos, addEos, addSpacePrefix);
        return new Vocabulary(tokens, scores, types, specials, eog, rstripTokens());
    }

    // llama.cpp sets RSTRIP on Phi-3's special tokens by model name (general.name contains phi-3/phi3)
    private BitSet rstripTokens() {
        BitSet rstrip = new BitSet(tokens.length);
        String name = file.getString("general.name", "").toLowerCase(Locale.ROOT);
        if (!name.contains("phi-3") && !name.contains("phi3")) {
            return rstrip;
        }
        for (int i = 0; i < tokens.length; i++) {
            int t = types[i];
            if (t == Vocabulary.CONTROL || t == Vocabulary.USER_DEFINED || t == Vocabulary.UNKNOWN) {
                rstrip.set(i);
            }
        }
        setIfPresent(rstrip, "</s>", true);
        for (String s : List.of("<unk>", "<s>", "<|endoftext|>")) {
            setIfPresent(rstrip, s, false);
        }
        return rstrip;
    }

    private void setIfPresent(BitSet bits, String text, boolean value) {
        for (int i = tokens.length - 1; i >= 0; i--) { // last duplicate wins, as in the lookup map
            if (tokens[i].equals(text)) {
                bits.set(i, value);
                return;
            }
        }
    }

    // first id (ascending) whose text is listed; llama.cpp iterates a hash map, so its choice among
    // several candidates is unspecified
    private int detect(int current, List<String> texts) {
        if (current >= 0) {
            return current;
        }
        for (int i = 0; i < tokens.length; i++) {
            if (texts.contains(tokens[i])) {
                promote(i);
                return i;
            }
        }
        return -1;
    }

    private void promote(int id) {
        types[id] = Vocabulary.CONTROL;
    }

    private int specialId(String key, int def) {
        String k = P + key;
        if (!file.has(k)) {
            return def;
        }
        long v = file.getLong(k);
        // llama.cpp: "bad special token ... using default id"
        return v >= 0 && v < tokens.length ? (int) v : def;
    }

    private static String[] readTokens(GgufFile f) {
        GgufArray a = requireArray(f, TOKENS);
        if (!(a.values() instanceof String[] s)) {
            throw new ArgonException(f.path() + ": metadata '" + TOKENS + "' must be an array of strings, found array of "
                    + a.elementType().name().toLowerCase(Locale.ROOT));
        }
        return s.clone();
    }

    private static float[] readScores(GgufFile f, int n) {
        GgufArray a = requireArray(f, SCORES);
        checkLength(f, SCORES, a, n);
        if (a.values() instanceof float[] v) {
            return v.clone();
        }
        if (a.elementType() == GgufValueType.INT32) { // llama.cpp also accepts integer scores
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = a.getLong(i);
            }
            return v;
        }
        throw new ArgonException(f.path() + ": metadata '" + SCORES + "' must be an array of float32, found array of "
                + a.elementType().name().toLowerCase(Locale.ROOT));
    }

    private static int[] readTypes(GgufFile f, int n) {
        GgufArray a = requireArray(f, TOKEN_TYPE);
        checkLength(f, TOKEN_TYPE, a, n);
        if (a.values() instanceof String[] || a.values() instanceof float[] || a.values() instanceof double[]
                || a.values() instanceof GgufArray[]) {
            throw new ArgonException(f.path() + ": metadata '" + TOKEN_TYPE + "' must be an array of int32, found array of "
                    + a.elementType().name().toLowerCase(Locale.ROOT));
        }
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = (int) a.getLong(i);
        }
        return v;
    }

    private static GgufArray requireArray(GgufFile f, String key) {
        if (!f.has(key)) {
            throw new ArgonException(f.path() + ": tokenizer metadata '" + key + "' is missing (required for tokenizer.ggml.model '"
                    + f.getString("tokenizer.ggml.model", "?") + "')");
        }
        return f.getArray(key);
    }

    private static void checkLength(GgufFile f, String key, GgufArray a, int n) {
        if (a.size() != n) {
            throw new ArgonException(f.path() + ": metadata '" + key + "' has " + a.size() + " entries but '" + TOKENS
                    + "' has " + n);
        }
    }
}
