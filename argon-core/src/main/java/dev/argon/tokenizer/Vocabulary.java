package dev.argon.tokenizer;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer vocabulary as stored in GGUF ({@code tokenizer.ggml.*}): token strings, scores,
 * token types, special token ids and the add-BOS/EOS/space-prefix flags, plus the lookup map
 * from token string to id.
 *
 * <p>Token types are the GGUF {@code token_type} values ({@link #NORMAL} 1 ... {@link #BYTE} 6).
 * Like llama.cpp, loading promotes tokens that it recognises by their text as end-of-turn,
 * end-of-generation or fill-in-the-middle markers (such as {@code <|end|>}) to {@link #CONTROL};
 * {@link #tokenType} reports the promoted type.
 */
public final class Vocabulary {
    /** GGUF token type: not set. */
    public static final int UNDEFINED = 0;
    /** GGUF token type: an ordinary piece. */
    public static final int NORMAL = 1;
    /** GGUF token type: the unknown token. */
    public static final int UNKNOWN = 2;
    /** GGUF token type: a control token (BOS, EOS, chat markers). */
    public static final int CONTROL = 3;
    /** GGUF token type: a user-defined token, always matched in text. */
    public static final int USER_DEFINED = 4;
    /** GGUF token type: an unused slot. */
    public static final int UNUSED = 5;
    /** GGUF token type: a byte-fallback token {@code <0xAB>}. */
    public static final int BYTE = 6;

    private final String[] tokens;
    private final float[] scores;
    private final int[] types;
    private final Specials specials;
    private final BitSet endOfGeneration;
    private final BitSet rstrip;
    private final Map<String, Integer> lookup;
    private final int[] specialsByLength;

    /**
     * Special token ids (-1 when absent) and flags.
     *
     * @param bos beginning of sequence
     * @param eos end of sequence
     * @param unk unknown
     * @param pad padding
     * @param eot end of turn
     * @param eom end of message
     * @param addBos {@code tokenizer.ggml.add_bos_token}
     * @param addEos {@code tokenizer.ggml.add_eos_token}
     * @param addSpacePrefix {@code tokenizer.ggml.add_space_prefix}
     */
    public record Specials(int bos, int eos, int unk, int pad, int eot, int eom,
                           boolean addBos, boolean addEos, boolean addSpacePrefix) {
        /** llama.cpp's defaults for a SentencePiece ("llama") vocabulary. */
        public static Specials llamaDefaults() {
            return new Specials(1, 2, 0, -1, -1, -1, true, false, true);
        }
    }

    /**
     * @param tokens the token strings (arrays are not copied; do not modify them afterwards)
     * @param scores one score per token
     * @param types one GGUF token type per token
     * @param specials the special ids and flags; ids must be -1 or within the vocabulary
     * @param endOfGeneration ids that end generation (eos, eot, eom are added)
     * @param rstrip special tokens after which whitespace is stripped when matched in text
     */
    public Vocabulary(String[] tokens, float[] scores, int[] types, Specials specials,
                      BitSet endOfGeneration, BitSet rstrip) {
        if (scores.length != tokens.length || types.length != tokens.length) {
            throw new IllegalArgumentException("tokens, scores and types differ in length: "
                    + tokens.length + ", " + scores.length + ", " + types.length);
        }
        this.tokens = tokens;
        this.scores = scores;
        this.types = types;
        this.specials = specials;
        for (int id : new int[] {specials.bos, specials.eos, specials.unk, specials.pad, specials.eot, specials.eom}) {
            if (id < -1 || id >= tokens.length) {
                throw new IllegalArgumentException("special token id " + id + " outside vocabulary of " + tokens.length);
            }
        }
        this.endOfGeneration = (BitSet) endOfGeneration.clone();
        for (int id : new int[] {specials.eos, specials.eot, specials.eom}) {
            if (id >= 0) {
                this.endOfGeneration.set(id);
            }
        }
        this.rstrip = (BitSet) rstrip.clone();
        // like llama.cpp (token_to_id[word] = i before duplicates were rejected): a later duplicate wins
        Map<String, Integer> map = HashMap.newHashMap(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            if (!tokens[i].isEmpty()) {
                map.put(tokens[i], i);
            }
        }
        this.lookup = map;
        this.specialsByLength = sortSpecials();
    }

    /**
     * Reads the vocabulary from GGUF metadata ({@code tokenizer.ggml.tokens}, {@code scores},
     * {@code token_type}, special ids and flags) as llama.cpp does, with the defaults of the
     * file's {@code tokenizer.ggml.model} ("llama", "gpt2" or "bert").
     *
     * @throws dev.argon.ArgonException if the arrays are missing, mistyped or differ in length
     */
    public static Vocabulary fromGguf(dev.argon.gguf.GgufFile f) {
        return VocabularyLoader.load(f);
    }

    /** A vocabulary with llama.cpp's SentencePiece defaults, for tests and tools. */
    public static Vocabulary of(String[] tokens, float[] scores, int[] types) {
        return new Vocabulary(tokens, scores, types, Specials.llamaDefaults(), new BitSet(), new BitSet());
    }

    // llama.cpp's cache_special_tokens: control, user-defined and unknown tokens, longest (in UTF-8
    // bytes) first. llama.cpp's std::sort is not stable; ties are ordered by id here.
    private int[] sortSpecials() {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            if ((types[i] == CONTROL || types[i] == USER_DEFINED || types[i] == UNKNOWN) && !tokens[i].isEmpty()) {
                ids.add(i);
            }
        }
        int[] bytes = new int[tokens.length];
        for (int id : ids) {
            bytes[id] = utf8Length(tokens[id]);
        }
        ids.sort(Comparator.<Integer>comparingInt(id -> -bytes[id]).thenComparingInt(id -> id));
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /** @return the number of tokens */
    public int size() {
        return tokens.length;
    }

    /** @return the string of token {@code id} */
    public String token(int id) {
        return tokens[id];
    }

    /** @return the score of token {@code id} (SentencePiece log probability) */
    public float score(int id) {
        return scores[id];
    }

    /** @return the GGUF token type of token {@code id} (after llama.cpp's promotions, see class doc) */
    public int tokenType(int id) {
        return types[id];
    }

    /** @return the token with exactly this string, or -1 */
    public int id(String piece) {
        Integer id = lookup.get(piece);
        return id == null ? -1 : id;
    }

    /** @return the special ids and flags */
    public Specials specials() {
        return specials;
    }

    /** @return the BOS id or -1 */
    public int bos() {
        return specials.bos;
    }

    /** @return the EOS id or -1 */
    public int eos() {
        return specials.eos;
    }

    /** @return the unknown-token id or -1 */
    public int unk() {
        return specials.unk;
    }

    /** @return the padding id or -1 */
    public int pad() {
        return specials.pad;
    }

    /** @return the end-of-turn id or -1 */
    public int eot() {
        return specials.eot;
    }

    /** @return the end-of-message id or -1 */
    public int eom() {
        return specials.eom;
    }

    /** @return whether encoding with special tokens adds BOS */
    public boolean addBos() {
        return specials.addBos;
    }

    /** @return whether encoding with special tokens adds EOS */
    public boolean addEos() {
        return specials.addEos;
    }

    /** @return whether a space is put in front of text that starts a fragment (SentencePiece dummy prefix) */
    public boolean addSpacePrefix() {
        return specials.addSpacePrefix;
    }

    /** @return whether the token ends generation */
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && endOfGeneration.get(id);
    }

    /** @return whether whitespace after this special token is dropped when it is matched in text */
    public boolean rstrip(int id) {
        return rstrip.get(id);
    }

    /** @return control, user-defined and unknown token ids, longest text first (llama.cpp's match order) */
    int[] specialsByLength() {
        return specialsByLength;
    }
}
