package dev.argon.tokenizer;

import dev.argon.ArgonException;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The SentencePiece BPE tokenizer ("llama" vocabularies: Llama 1/2, Mistral, Phi-3, TinyLlama ...)
 * exactly as llama.cpp runs it ({@code llm_tokenizer_spm} and the SPM branch of
 * {@code llama_vocab::impl::tokenize}); see Kudo and Richardson, "SentencePiece: A simple and
 * language independent subword tokenizer" (2018) for the model.
 *
 * <p>Encoding: the text is first split around special tokens ({@link SpecialTokenSplitter}).
 * Each plain-text fragment gets a leading space when the vocabulary asks for a space prefix and
 * it follows a special token or starts the input (BOS counts as special); spaces become '▁'
 * (U+2581); the fragment is split into characters and the adjacent pair whose concatenation is
 * the highest-scoring vocabulary token is merged repeatedly (ties: leftmost). Characters that
 * end up outside the vocabulary are emitted as byte tokens {@code <0xAB>} of their UTF-8 bytes.
 */
public final class SentencePieceTokenizer extends VocabularyTokenizer {
    /** SentencePiece's whitespace marker '▁' (U+2581). */
    public static final char SPACE_MARK = '\u2581';
    private static final byte[] EMPTY = new byte[0];

    private final SpecialTokenSplitter splitter;
    private final int[] byteToken;

    /** @param vocab a SentencePiece vocabulary */
    public SentencePieceTokenizer(Vocabulary vocab) {
        super(vocab);
        this.splitter = new SpecialTokenSplitter(vocab);
        int n = vocab.size();
        this.tokenBytes = new byte[n][];
        for (int id = 0; id < n; id++) {
            tokenBytes[id] = renderToken(vocab, id);
        }
        // llama.cpp byte_to_token: "<0xAB>" (upper-case hex), else the single character, else (our choice) unk
        this.byteToken = new int[256];
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format(Locale.ROOT, "<0x%02X>", b));
            if (id < 0 && b < 0x80) {
                id = vocab.id(String.valueOf((char) b));
            }
            byteToken[b] = id;
        }
    }

    @Override
    public int[] encode(PromptText prompt, boolean addSpecial) {
        String text = prompt.text();
        IntList out = new IntList(text.length() + 2);
        boolean prevSpecial = true; // the first fragment gets the space prefix too
        if (addSpecial && vocab.addBos()) {
            out.add(vocab.bos());
        }
        if (!text.isEmpty()) {
            for (SpecialTokenSplitter.Fragment f : splitter.split(prompt)) {
                if (f.isToken()) {
                    out.add(f.token());
                    prevSpecial = true;
                } else {
                    String raw = text.substring(f.start(), f.end());
                    String s = vocab.addSpacePrefix() && prevSpecial ? " " + raw : raw;
                    new Session(s.replace(' ', SPACE_MARK), out).tokenize();
                    prevSpecial = false;
                }
            }
        }
        if (addSpecial && vocab.addEos()) {
            out.add(vocab.eos());
        }
        return out.toArray();
    }
    // llama.cpp token_to_piece (SPM) except that the unknown token renders as its text
    private static byte[] renderToken(Vocabulary v, int id) {
        String text = v.token(id);
        return switch (v.tokenType(id)) {
            case Vocabulary.NORMAL -> text.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
            case Vocabulary.UNKNOWN, Vocabulary.USER_DEFINED -> text.getBytes(StandardCharsets.UTF_8);
            case Vocabulary.BYTE -> byteTokenValue(text);
            default -> EMPTY; // control, unused, undefined
        };
    }

    private static byte[] byteTokenValue(String text) {
        if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
            int hi = Character.digit(text.charAt(3), 16);
            int lo = Character.digit(text.charAt(4), 16);
            if (hi >= 0 && lo >= 0) {
                return new byte[] {(byte) (hi << 4 | lo)};
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private int byteToToken(int b) {
        int id = byteToken[b];
        if (id < 0) {
            id = vocab.unk();
        }
        if (id < 0) {
            throw new ArgonException("cannot encode byte 0x" + Integer.toHexString(b)
                    + ": the vocabulary has neither a byte token <0x..> for it nor an unknown token");
        }
        return id;
    }

    /**
     * One run of llama.cpp's {@code llm_tokenizer_spm_session}: symbols are a doubly linked list
     * over the text; candidate merges wait in a priority queue and are dropped lazily when one of
     * their symbols has changed since (detected by the combined length).
     */
    private final class Session {
        private final String s;
        private final IntList out;
        private final int[] start;
        private final int[] len;
        private final int[] prev;
        private final int[] next;
        private final BigramQueue queue;
        // merge log (instead of llama.cpp's rev_merge map): for each merge, the left part's length
        // before it, the right symbol, and the left symbol's previous merge; head[sym] = its latest
        private final int[] head;
        private final int[] logLeftLen;
        private final int[] logRight;
        private final int[] logPrev;
        private int merges;

        Session(String s, IntList out) {
            this.s = s;
            this.out = out;
            int n = s.codePointCount(0, s.length());
            start = new int[n];
            len = new int[n];
            prev = new int[n];
            next = new int[n];
            int offs = 0;
            for (int i = 0; i < n; i++) {
                int cp = s.codePointAt(offs);
                start[i] = offs;
                len[i] = Character.charCount(cp);
                offs += len[i];
                prev[i] = i - 1;
                next[i] = offs == s.length() ? -1 : i + 1;
            }
            queue = new BigramQueue(Math.max(16, n));
            head = new int[n];
            Arrays.fill(head, -1);
            logLeftLen = new int[Math.max(0, n - 1)];
            logRight = new int[logLeftLen.length];
            logPrev = new int[logLeftLen.length];
        }

        void tokenize() {
            if (start.length == 0) {
                return;
            }
            for (int i = 1; i < start.length; i++) {
                tryAddBigram(i - 1, i);
            }
            while (!queue.isEmpty()) {
                int left = queue.topLeft();
                int right = queue.topRight();
                int size = queue.topSize();
                queue.pop();
                if (len[left] == 0 || len[right] == 0 || len[left] + len[right] != size) {
                    continue; // stale: one side was merged into something else meanwhile
                }
                logLeftLen[merges] = len[left];
                logRight[merges] = right;
                logPrev[merges] = head[left];
                head[left] = merges++;
                len[left] += len[right];
                len[right] = 0;
                next[left] = next[right];
                if (next[right] >= 0) {
                    prev[next[right]] = left;
                }
                tryAddBigram(prev[left], left);
                tryAddBigram(left, next[left]);
            }
            for (int i = 0; i != -1; i = next[i]) {
                resegment(i, len[i], head[i]);
            }
        }

        private void tryAddBigram(int left, int right) {
            if (left == -1 || right == -1) {
                return;
            }
            String text = s.substring(start[left], start[left] + len[left] + len[right]);
            int id = vocab.id(text);
            if (id < 0) {
                return;
            }
            queue.push(vocab.score(id), left, right, text.length());
        }

        // emits the span [start[sym], +length) built by merge log entry e (-1: a single character)
        private void resegment(int sym, int length, int e) {
            String text = s.substring(start[sym], start[sym] + length);
            int id = vocab.id(text);
            if (id >= 0) {
                out.add(id);
                return;
            }
            if (e < 0) {
                for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
                    out.add(byteToToken(b & 0xFF));
                }
                return;
            }
            // a merge result outside the vocabulary cannot occur (merges are vocabulary tokens);
            // like llama.cpp's resegment, split it into the two parts it was merged from
            int right = logRight[e];
            resegment(sym, logLeftLen[e], logPrev[e]);
            resegment(right, length - logLeftLen[e], head[right]);
        }
    }

    /** A growable int array. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] v) {
            if (n + v.length > a.length) {
                a = Arrays.copyOf(a, Math.max(a.length * 2, n + v.length));
            }
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        int size() {
            return n;
        }

        void truncate(int size) {
            n = size;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    @Override
    public boolean addsSpacePrefix() {
        return vocab.addSpacePrefix();
    }
}
