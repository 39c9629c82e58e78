package dev.argon.tokenizer;

import dev.argon.ArgonException;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The WordPiece tokenizer of BERT-style encoders ({@code tokenizer.ggml.model = "bert"}), as in
 * Devlin et al., "BERT" (2018) with Google's {@code tokenization.py}, Hugging Face tokenizers'
 * {@code BertNormalizer} + {@code BertPreTokenizer} + {@code WordPiece}, and llama.cpp's
 * {@code llm_tokenizer_wpm}.
 *
 * <p>Basic tokenization (uncased): control characters, NUL and U+FFFD are dropped, whitespace
 * becomes a space, CJK ideographs are set apart, accents are stripped (NFD, then nonspacing marks
 * removed) and characters are lower-cased; the text is split on whitespace and every punctuation
 * character (ASCII punctuation or Unicode P*) becomes a word of its own. Each word of at most 100
 * characters is then split greedily into the longest vocabulary pieces from the left; a word that
 * cannot be split completely becomes the unknown token.
 *
 * <p>Both vocabulary spellings are understood: Hugging Face's {@code vocab.txt} (word-initial
 * pieces plain, continuations with a {@code "##"} prefix) and llama.cpp's GGUF conversion
 * (word-initial pieces with a {@code '▁'} prefix, continuations plain). With special tokens, the
 * output is {@code [CLS] ... [SEP]} (the vocabulary's BOS and EOS).
 */
public final class WordPieceTokenizer extends VocabularyTokenizer {
    /** Longest word (in characters) that is split at all (HF {@code max_input_chars_per_word}). */
    public static final int MAX_WORD_CHARS = 100;
    private static final byte[] EMPTY = new byte[0];

    private final SpecialTokenSplitter splitter;
    private final String wordPrefix;
    private final String continuationPrefix;
    private final int maxPieceChars;

    /** @param vocab a WordPiece vocabulary in either spelling (see class doc) */
    public WordPieceTokenizer(Vocabulary vocab) {
        super(vocab);
        this.splitter = new SpecialTokenSplitter(vocab);
        int hashes = 0;
        int max = 1;
        for (int i = 0; i < vocab.size(); i++) {
            String t = vocab.token(i);
            hashes += t.startsWith("##") ? 1 : 0;
            max = Math.max(max, t.length());
        }
        boolean hf = hashes > 0;
        this.wordPrefix = hf ? "" : String.valueOf(SentencePieceTokenizer.SPACE_MARK);
        this.continuationPrefix = hf ? "##" : "";
        this.maxPieceChars = max;
        this.tokenBytes = new byte[vocab.size()][];
        for (int i = 0; i < vocab.size(); i++) {
            tokenBytes[i] = render(i, hf);
        }
    }

    // word-initial pieces render with a leading space, continuations without (llama.cpp: '▁' -> ' ')
    private byte[] render(int id, boolean hf) {
        String t = vocab.token(id);
        return switch (vocab.tokenType(id)) {
            case Vocabulary.NORMAL -> {
                String s = hf ? (t.startsWith("##") ? t.substring(2) : " " + t)
                        : t.replace(SentencePieceTokenizer.SPACE_MARK, ' ');
                yield s.getBytes(StandardCharsets.UTF_8);
            }
            case Vocabulary.USER_DEFINED, Vocabulary.UNKNOWN -> t.getBytes(StandardCharsets.UTF_8);
            default -> EMPTY;
        };
    }

    @Override
    public int[] encode(PromptText prompt, boolean addSpecial) {
        String text = prompt.text();
        var out = new SentencePieceTokenizer.IntList(text.length() / 3 + 2);
        if (addSpecial && vocab.addBos()) {
            out.add(vocab.bos());
        }
        if (!text.isEmpty()) {
            for (SpecialTokenSplitter.Fragment f : splitter.split(prompt)) {
                if (f.isToken()) {
                    out.add(f.token());
                } else {
                    for (String word : basicTokenize(text.substring(f.start(), f.end()))) {
                        wordPiece(word, out);
                    }
                }
            }
        }
        if (addSpecial && vocab.addEos()) {
            out.add(vocab.eos());
        }
        return out.toArray();
    }

    /** @return the words of HF's BertNormalizer (lowercase, strip accents) and BertPreTokenizer */
    static List<String> basicTokenize(String text) {
        StringBuilder clean = new StringBuilder(text.length() + 8);
        text.codePoints().forEach(c -> {
            if (c == 0 || c == 0xFFFD || isOtherCategory(c)) {
                return;
            }
            if (isWhitespace(c)) {
                clean.append(' ');
            } else if (isChineseChar(c)) {
                clean.append(' ').appendCodePoint(c).append(' ');
            } else {
                clean.appendCodePoint(c);
            }
        });
        String nfd = Normalizer.normalize(clean, Normalizer.Form.NFD);
        StringBuilder norm = new StringBuilder(nfd.length());
        nfd.codePoints().forEach(c -> {
            if (Character.getType(c) != Character.NON_SPACING_MARK) {
                // per character, like Rust's char::to_lowercase (no final-sigma context)
                norm.append(Character.toString(c).toLowerCase(Locale.ROOT));
            }
        });
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        norm.codePoints().forEach(c -> {
            if (isWhitespace(c) || isPunctuation(c)) {
                if (!word.isEmpty()) {
                    words.add(word.toString());
                    word.setLength(0);
                }
                if (!isWhitespace(c)) {
                    words.add(Character.toString(c));
                }
            } else {
                word.appendCodePoint(c);
            }
        });
        if (!word.isEmpty()) {
            words.add(word.toString());
        }
        return words;
    }

    // greedy longest-match-first (HF WordPiece::tokenize, Google's WordpieceTokenizer)
    private void wordPiece(String word, SentencePieceTokenizer.IntList out) {
        int chars = word.codePointCount(0, word.length());
        int mark = out.size();
        boolean ok = chars <= MAX_WORD_CHARS;
        int start = 0;
        while (ok && start < word.length()) {
            String prefix = start == 0 ? wordPrefix : continuationPrefix;
            int end = Math.min(word.length(), word.offsetByCodePoints(start,
                    Math.min(maxPieceChars, word.codePointCount(start, word.length()))));
            int found = -1;
            while (end > start) {
                found = vocab.id(prefix + word.substring(start, end));
                if (found >= 0) {
                    break;
                }
                end = word.offsetByCodePoints(end, -1);
            }
            if (found < 0) {
                ok = false;
            } else {
                out.add(found);
                start = end;
            }
        }
        if (!ok) {
            if (vocab.unk() < 0) {
                throw new ArgonException("cannot encode the word '" + (chars <= 40 ? word : word.substring(0, word.offsetByCodePoints(0, 40)) + "...")
                        + "': the WordPiece vocabulary cannot split it and has no unknown token (tokenizer.ggml.unknown_token_id)");
            }
            out.truncate(mark);
            out.add(vocab.unk());
        }
    }

    // HF bert normalizer: \t \n \r and Unicode White_Space (Java's isWhitespace also counts U+001C..U+001F,
    // which are control characters and so already dropped; isSpaceChar adds the no-break spaces)
    private static boolean isWhitespace(int c) {
        return c == '\t' || c == '\n' || c == '\r' || Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    // HF bert normalizer: other (C*) categories except \t \n \r
    private static boolean isOtherCategory(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        int t = Character.getType(c);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED
                || t == Character.PRIVATE_USE || t == Character.SURROGATE;
    }

    private static boolean isPunctuation(int c) {
        if (c < 0x80) {
            return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
        }
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    // the CJK blocks of BERT's _is_chinese_char as HF tokenizers has them (0x2B920, not 0x2B820, as llama.cpp notes)
    private static boolean isChineseChar(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    /** Word-initial pieces decode with a leading space, so decoded text starts with one. */
    @Override
    public boolean addsSpacePrefix() {
        return true;
    }
}
