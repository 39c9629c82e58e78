package dev.argon.compress;

import dev.argon.ArgonException;
import dev.argon.tokenizer.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Any bytes to token ids and back, exactly: the concatenated {@link Tokenizer#tokenBytes} of the
 * ids are the input. Valid UTF-8 runs are tokenized as the model's tokenizer does (plain text, no
 * BOS, control-token text not recognised), bytes that are not valid UTF-8 become the
 * vocabulary's single-byte tokens (SentencePiece byte fallback {@code <0xAB>}, or the byte-level
 * BPE characters). Where the tokenizer's output does not reproduce its text, it is repaired:
 * the space that SentencePiece's {@code add_space_prefix} puts in front is taken off the first
 * token; a line that still does not round-trip (a character the vocabulary lacks becoming
 * {@code <unk>}) is coded byte by byte.
 */
public final class LosslessTokens {
    private final Tokenizer tokenizer;
    private final int[] byteToken = new int[256];
    private final Map<Key, Integer> byBytes = new HashMap<>();

    /**
     * @throws ArgonException if the vocabulary has no token for some single byte (neither byte
     *     fallback nor byte-level), so arbitrary bytes cannot be represented
     */
    public LosslessTokens(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        Arrays.fill(byteToken, -1);
        for (int id = tokenizer.vocabSize() - 1; id >= 0; id--) {
            if (tokenizer.isControl(id)) {
                continue;
            }
            byte[] b = tokenizer.tokenBytes(id);
            if (b.length == 0) {
                continue;
            }
            byBytes.put(new Key(b), id);
            if (b.length == 1) {
                byteToken[b[0] & 0xFF] = id;
            }
        }
        for (int b = 0; b < 256; b++) {
            if (byteToken[b] < 0) {
                throw new ArgonException(String.format(
                        "the model's vocabulary has no token for the byte 0x%02X, so it cannot code arbitrary bytes;"
                                + " compression needs a SentencePiece vocabulary with byte fallback (<0x00>..<0xFF>) or a byte-level BPE one", b));
            }
        }
    }

    /** @return token ids whose bytes are exactly {@code data} */
    public int[] encode(byte[] data) {
        IntList out = new IntList(data.length / 3 + 16);
        int i = 0;
        while (i < data.length) {
            int end = i;
            while (end < data.length) {
                int n = Utf8.validLength(data, end);
                if (n == 0) {
                    break;
                }
                end += n;
            }
            if (end > i) {
                encodeText(data, i, end, out);
                i = end;
            } else {
                out.add(byteToken[data[i] & 0xFF]);
                i++;
            }
        }
        return out.toArray();
    }

    /** @return the bytes of {@code ids} concatenated */
    public byte[] decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            out.writeBytes(tokenizer.tokenBytes(id));
        }
        return out.toByteArray();
    }

    private void encodeText(byte[] data, int from, int to, IntList out) {
        byte[] text = Arrays.copyOfRange(data, from, to);
        if (tryEncode(text, out)) {
            return;
        }
        // line by line; a line that still fails goes byte by byte
        int start = 0;
        for (int k = 0; k < text.length; k++) {
            if (text[k] == '\n' || k == text.length - 1) {
                byte[] line = Arrays.copyOfRange(text, start, k + 1);
                if (!tryEncode(line, out)) {
                    for (byte b : line) {
                        out.add(byteToken[b & 0xFF]);
                    }
                }
                start = k + 1;
            }
        }
    }

    /** Appends the tokens of valid UTF-8 {@code text} if they reproduce it; returns whether they did. */
    private boolean tryEncode(byte[] text, IntList out) {
        int[] ids = tokenizer.encode(new String(text, StandardCharsets.UTF_8), false, false);
        byte[] back = decode(ids);
        if (Arrays.equals(back, text)) {
            out.addAll(ids, 0, ids.length);
            return true;
        }
        if (ids.length > 0 && back.length == text.length + 1 && back[0] == ' '
                && Arrays.equals(back, 1, back.length, text, 0, text.length)) {
            byte[] first = tokenizer.tokenBytes(ids[0]);
            byte[] rest = Arrays.copyOfRange(first, 1, first.length);
            if (rest.length > 0) {
                Integer same = byBytes.get(new Key(rest));
                if (same != null) {
                    out.add(same);
                } else {
                    for (byte b : rest) {
                        out.add(byteToken[b & 0xFF]);
                    }
                }
            }
            out.addAll(ids, 1, ids.length - 1);
            return true;
        }
        return false;
    }

    private record Key(byte[] b) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(b, k.b);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(b);
        }
    }

    /** A growable int array. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
            a = new int[Math.max(16, capacity)];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] v, int from, int len) {
            while (n + len > a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            System.arraycopy(v, from, a, n, len);
            n += len;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    /** UTF-8 validation (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
    static final class Utf8 {
        private Utf8() {
        }

        /** @return the length of the valid UTF-8 character at {@code i}, or 0 if none starts there */
        static int validLength(byte[] d, int i) {
            int b0 = d[i] & 0xFF;
            if (b0 < 0x80) {
                return 1;
            }
            int n;
            int min;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                n = 2;
                min = 0x80;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                n = 3;
                min = 0x800;
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                n = 4;
                min = 0x10000;
            } else {
                return 0;
            }
            if (i + n > d.length) {
                return 0;
            }
            int cp = b0 & (0x7F >> n);
            for (int k = 1; k < n; k++) {
                int b = d[i + k] & 0xFF;
                if ((b & 0xC0) != 0x80) {
                    return 0;
                }
                cp = (cp << 6) | (b & 0x3F);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                return 0;
            }
            return n;
        }
    }
}
