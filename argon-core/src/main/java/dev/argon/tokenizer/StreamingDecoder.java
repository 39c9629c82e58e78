package dev.argon.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated tokens into text as they arrive. A UTF-8 character split over several byte
 * tokens (as SentencePiece byte fallback produces for emoji or rare CJK characters) is held back
 * until the token that completes it arrives, so every returned string holds whole characters only.
 *
 * <p>The concatenation of all {@link #append} results and {@link #flush()} equals
 * {@link Tokenizer#decode} of the same ids, including for malformed byte sequences (U+FFFD).
 * Malformed bytes may be held until the next character starts. Not thread-safe.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private byte[] pending = new byte[8];
    private int n;

    /** @param tokenizer the tokenizer whose {@link Tokenizer#tokenBytes} are decoded */
    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds one token.
     *
     * @return the complete characters now available (possibly empty), invalid bytes as U+FFFD
     */
    public String append(int tokenId) {
        byte[] b = tokenizer.tokenBytes(tokenId);
        if (n + b.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, n + b.length));
        }
        System.arraycopy(b, 0, pending, n, b.length);
        n += b.length;
        int cut = cutPoint(pending, n);
        if (cut == 0) {
            return "";
        }
        String s = new String(pending, 0, cut, StandardCharsets.UTF_8);
        System.arraycopy(pending, cut, pending, 0, n - cut);
        n -= cut;
        return s;
    }

    /** @return whatever is still held back (an incomplete sequence decodes to U+FFFD); resets the decoder */
    public String flush() {
        String s = new String(pending, 0, n, StandardCharsets.UTF_8);
        n = 0;
        return s;
    }

    /**
     * @return how many leading bytes of {@code buf[0, n)} can be decoded now: all of them when
     *     they end with a complete well-formed character, otherwise everything before the last
     *     byte that is not a continuation byte (10xxxxxx). Cutting only there keeps the result
     *     identical to decoding everything at once, also for malformed input, where Java's
     *     decoder may treat several bytes as one malformed unit (for example ED A0 80).
     */
    static int cutPoint(byte[] buf, int n) {
        int p = n - 1;
        while (p >= 0 && (buf[p] & 0xC0) == 0x80) {
            p--;
        }
        if (p < 0) {
            return 0; // only stray continuation bytes: wait for a lead byte (or flush)
        }
        int lead = buf[p] & 0xFF;
        int need = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
        if (need == n - p && (need < 2 || validSecond(lead, buf[p + 1] & 0xFF))) {
            return n;
        }
        return p;
    }

    // second-byte ranges of well-formed UTF-8 (Unicode Table 3-7)
    private static boolean validSecond(int lead, int b) {
        return switch (lead) {
            case 0xE0 -> b >= 0xA0 && b <= 0xBF;
            case 0xED -> b >= 0x80 && b <= 0x9F;
            case 0xF0 -> b >= 0x90 && b <= 0xBF;
            case 0xF4 -> b >= 0x80 && b <= 0x8F;
            default -> b >= 0x80 && b <= 0xBF;
        };
    }
}
