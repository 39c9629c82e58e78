package dev.argon.grammar;

import dev.argon.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The vocabulary as a byte trie in depth-first order, for computing which tokens a grammar allows
 * by one walk that skips every subtree whose prefix the grammar rejects. Node {@code i} holds the
 * byte {@code bytes[i]} at depth {@code depth[i]} (1 = a token's first byte); its subtree ends
 * before {@code skip[i]}; the tokens whose bytes end there are
 * {@code tokens[tokenStart[i] .. tokenStart[i + 1])}. Tokens are those with output bytes
 * ({@link Tokenizer#tokenBytes}) that are neither control nor end-of-generation tokens; the
 * end-of-generation ids are kept apart ({@link #endOfGeneration}). Immutable.
 */
public final class TokenTrie {
    private static final Map<Tokenizer, TokenTrie> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    final byte[] bytes;
    final int[] depth;
    final int[] skip;
    /** The node above each node, -1 at depth 1. */
    final int[] parent;
    final int[] tokenStart;
    final int[] tokens;
    final int[] endOfGeneration;
    final int vocabSize;
    final int maxDepth;

    private TokenTrie(Tokenizer tok) {
        int v = tok.vocabSize();
        vocabSize = v;
        List<byte[]> texts = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        List<Integer> eog = new ArrayList<>();
        for (int id = 0; id < v; id++) {
            if (tok.isEndOfGeneration(id)) {
                eog.add(id);
                continue;
            }
            if (tok.isControl(id)) {
                continue;
            }
            byte[] b = tok.tokenBytes(id);
            if (b.length > 0) {
                texts.add(b);
                ids.add(id);
            }
        }
        endOfGeneration = eog.stream().mapToInt(Integer::intValue).toArray();
        Integer[] order = new Integer[texts.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Arrays.compareUnsigned(texts.get(x), texts.get(y)));
        int cap = 0;
        for (byte[] t : texts) {
            cap += t.length;
        }
        byte[] nb = new byte[cap];
        int[] nd = new int[cap];
        int[] ns = new int[cap];
        int[] np = new int[cap];
        int[] ts = new int[cap + 1];
        int[] tk = new int[texts.size()];
        int n = 0;
        int nt = 0;
        int[] open = new int[1024]; // open[d] = node index of the current path at depth d
        int maxD = 0;
        byte[] prev = new byte[0];
        for (int oi : order) {
            byte[] t = texts.get(oi);
            int common = Arrays.mismatch(prev, t);
            if (common < 0) {
                common = t.length; // same bytes as the previous token
            }
            common = Math.min(common, Math.min(prev.length, t.length));
            // close the nodes of the previous path below the common prefix
            for (int d = common + 1; d <= prev.length; d++) {
                ns[open[d]] = n;
            }
            for (int d = common + 1; d <= t.length; d++) {
                if (d >= open.length) {
                    open = Arrays.copyOf(open, d * 2);
                }
                nb[n] = t[d - 1];
                nd[n] = d;
                np[n] = d == 1 ? -1 : open[d - 1];
                ts[n] = nt;
                open[d] = n;
                n++;
            }
            // tokens are appended in node order, so node i's tokens run from ts[i] to ts[i + 1]
            tk[nt++] = ids.get(oi);
            maxD = Math.max(maxD, t.length);
            prev = t;
        }
        for (int d = 1; d <= prev.length; d++) {
            ns[open[d]] = n;
        }
        ts[n] = nt;
        // ts[i] was set when node i was created (tokens before it); fix the ends: a node's range
        // ends where the next node's begins
        bytes = Arrays.copyOf(nb, n);
        depth = Arrays.copyOf(nd, n);
        skip = Arrays.copyOf(ns, n);
        parent = Arrays.copyOf(np, n);
        tokenStart = Arrays.copyOf(ts, n + 1);
        tokens = tk;
        maxDepth = maxD;
    }

    /** @return the trie of this tokenizer's vocabulary, built once per tokenizer instance */
    public static TokenTrie of(Tokenizer tok) {
        TokenTrie t = CACHE.get(tok);
        if (t == null) {
            t = new TokenTrie(tok);
            CACHE.put(tok, t);
        }
        return t;
    }

    /** @return the number of trie nodes */
    public int nodeCount() {
        return bytes.length;
    }
}
