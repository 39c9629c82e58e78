package dev.argon.tokenizer;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufFile;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = "gpt2"}: GPT-2, Llama 3, Qwen2, DeepSeek,
 * Falcon, StarCoder, MPT ...), as in Radford et al., "Language Models are Unsupervised Multitask
 * Learners" (2019) and OpenAI's {@code encoder.py}, and as llama.cpp runs it
 * ({@code llm_tokenizer_bpe_session}).
 *
 * <p>Encoding: special and user-defined tokens are cut out first ({@link SpecialTokenSplitter});
 * each remaining fragment is split into pieces by the vocabulary's {@link BpePreTokenizer}; each
 * piece is written in GPT-2's byte alphabet ({@link ByteLevel}) and its characters are merged
 * pairwise, always the adjacent pair with the lowest merge rank first (ties: leftmost), until no
 * listed pair remains. Pieces that are a whole token skip merging when the rule set says so
 * (Llama 3). The merge loop keeps the symbols in a linked list and candidate pairs in a heap, so
 * a piece of n bytes costs O(n log n); results for short pieces are cached.
 *
 * <p>Decoding maps token characters back through the inverse byte mapping; user-defined tokens
 * render as their text, control tokens as nothing (llama.cpp {@code token_to_piece}).
 */
public final class BpeTokenizer extends VocabularyTokenizer {
    private static final byte[] EMPTY = new byte[0];
    private static final int CACHE_MAX_ENTRIES = 1 << 15;
    private static final int CACHE_MAX_PIECE = 64;

    private final BpePreTokenizer pre;
    private final SpecialTokenSplitter splitter;
    private final MergeTable merges;
    private final int[] byteToken = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param vocab the vocabulary, token strings in GPT-2's byte alphabet
     * @param merges the merge list, {@code "left right"} per entry, in rank order
     * @param pre the pre-tokenizer rule set
     */
    public BpeTokenizer(Vocabulary vocab, String[] merges, BpePreTokenizer pre) {
        super(vocab);
        this.pre = pre;
        this.splitter = new SpecialTokenSplitter(vocab);
        this.merges = new MergeTable(merges, vocab);
        for (int b = 0; b < 256; b++) {
            byteToken[b] = vocab.id(String.valueOf(ByteLevel.charOf(b)));
        }
        int n = vocab.size();
        this.tokenBytes = new byte[n][];
        for (int id = 0; id < n; id++) {
            String text = vocab.token(id);
            tokenBytes[id] = switch (vocab.tokenType(id)) {
                case Vocabulary.NORMAL, Vocabulary.BYTE -> ByteLevel.decode(text);
                case Vocabulary.USER_DEFINED, Vocabulary.UNKNOWN -> text.getBytes(StandardCharsets.UTF_8);
                default -> EMPTY; // control, unused, undefined
            };
        }
    }

    /**
     * Builds the tokenizer from GGUF metadata: {@code tokenizer.ggml.tokens}, {@code token_type},
     * {@code merges} and {@code pre} (a missing {@code pre} means "default", as in llama.cpp).
     *
     * @throws ArgonException naming the file if the merges are missing or the pre-tokenizer is unknown
     */
    public static BpeTokenizer fromGguf(GgufFile f) {
        BpePreTokenizer pre = preTokenizer(f);
        String key = "tokenizer.ggml.merges";
        if (!f.has(key)) {
            throw new ArgonException(f.path() + ": tokenizer metadata '" + key
                    + "' is missing (required for tokenizer.ggml.model 'gpt2')");
        }
        GgufArray a = f.getArray(key);
        if (!(a.values() instanceof String[] merges)) {
            throw new ArgonException(f.path() + ": metadata '" + key + "' must be an array of strings, found array of "
                    + a.elementType().name().toLowerCase(Locale.ROOT));
        }
        return new BpeTokenizer(Vocabulary.fromGguf(f), merges, pre);
    }

    static BpePreTokenizer preTokenizer(GgufFile f) {
        String name = f.getString(VocabularyLoader.PRE, "default");
        BpePreTokenizer pre = BpePreTokenizer.forName(name);
        if (pre == null) {
            throw new ArgonException(f.path() + ": unknown tokenizer.ggml.pre '" + name
                    + "' for tokenizer.ggml.model 'gpt2' (supported: " + String.join(", ", BpePreTokenizer.supportedNames())
                    + ")");
        }
        return pre;
    }

    /** @return the pre-tokenizer rule set */
    public BpePreTokenizer preTokenizer() {
        return pre;
    }

    /** @return the number of usable merges */
    public int mergeCount() {
        return merges.size();
    }

    @Override
    public int[] encode(PromptText prompt, boolean addSpecial) {
        String text = prompt.text();
        var out = new SentencePieceTokenizer.IntList(text.length() / 2 + 2);
        if (addSpecial && vocab.addBos()) {
            out.add(vocab.bos());
        }
        if (!text.isEmpty()) {
            for (SpecialTokenSplitter.Fragment f : splitter.split(prompt)) {
                if (f.isToken()) {
                    out.add(f.token());
                } else {
                    for (String piece : pre.split(text.substring(f.start(), f.end()))) {
                        out.addAll(encodePiece(ByteLevel.encode(piece)));
                    }
                }
            }
        }
        if (addSpecial && vocab.addEos()) {
            out.add(vocab.eos());
        }
        return out.toArray();
    }

    private int[] encodePiece(String word) {
        if (word.length() > CACHE_MAX_PIECE) {
            return bpe(word);
        }
        int[] ids = cache.get(word);
        if (ids == null) {
            ids = bpe(word);
            if (cache.size() >= CACHE_MAX_ENTRIES) {
                cache.clear();
            }
            cache.put(word, ids);
        }
        return ids;
    }

    // the merge loop of llama.cpp's llm_tokenizer_bpe_session / HF's BPE::merge_word
    private int[] bpe(String word) {
        if (pre.ignoresMerges()) {
            int whole = vocab.id(word);
            if (whole >= 0) {
                return new int[] {whole};
            }
        }
        int n = 0;
        int[] id = new int[word.length()];
        for (int i = 0; i < word.length(); i++) {
            int t = byteToken[ByteLevel.byteOf(word.charAt(i))];
            if (t >= 0) { // a byte without a token is dropped, as llama.cpp and HF (without unk) do
                id[n++] = t;
            }
        }
        if (n < 2) {
            return Arrays.copyOf(id, n);
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            if (i + 1 < n) {
                push(heap, id[i], id[i + 1], i);
            }
        }
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            int right = id[pos] < 0 ? -1 : next[pos];
            if (right < 0) {
                continue; // the left symbol was merged away, or nothing follows it any more
            }
            long m = merges.lookup(id[pos], id[right]);
            if (m < 0 || (int) (m >>> 32) != rank) {
                continue; // stale: a rank names exactly one pair, and this pair is no longer here
            }
            id[pos] = (int) m;
            id[right] = -1;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
                push(heap, id[pos], id[next[pos]], pos);
            }
            if (prev[pos] >= 0) {
                push(heap, id[prev[pos]], id[pos], prev[pos]);
            }
        }
        int[] out = new int[n];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            out[k++] = id[i];
        }
        return Arrays.copyOf(out, k);
    }

    private void push(LongHeap heap, int a, int b, int pos) {
        long m = merges.lookup(a, b);
        if (m >= 0) {
            heap.push((m >>> 32) << 32 | pos); // lowest rank first, then leftmost
        }
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int n;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return n == 0;
        }

        void push(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            int i = n++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (a[parent] <= v) {
                    break;
                }
                a[i] = a[parent];
                i = parent;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long v = a[--n];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= n) {
                    break;
                }
                if (c + 1 < n && a[c + 1] < a[c]) {
                    c++;
                }
                if (a[c] >= v) {
                    break;
                }
                a[i] = a[c];
                i = c;
            }
            a[i] = v;
            return top;
        }
    }
}
