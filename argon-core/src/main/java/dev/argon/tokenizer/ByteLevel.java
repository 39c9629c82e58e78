package dev.argon.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's reversible byte-to-unicode mapping ({@code bytes_to_unicode} in OpenAI's
 * {@code encoder.py}; llama.cpp {@code unicode_byte_to_utf8}; HF tokenizers {@code ByteLevel}).
 * Byte-level BPE vocabularies are written in this alphabet: every byte of the UTF-8 text is one
 * printable character, so the printable bytes {@code !..~}, {@code ¡..¬} and {@code ®..ÿ} stand
 * for themselves and the other 68 bytes (space, controls, ...) become U+0100.. in byte order
 * (a space is {@code 'Ġ'} U+0120, a newline {@code 'Ċ'} U+010A).
 */
public final class ByteLevel {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final short[] CHAR_TO_BYTE = new short[324]; // -1 where the char is no byte's image

    static {
        Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    private ByteLevel() {
    }

    /** @return the character that stands for byte {@code b} (0..255) */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** @return the byte a character stands for, or -1 if it is not in the byte alphabet */
    public static int byteOf(int c) {
        return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** @return the text's UTF-8 bytes written one character per byte */
    public static String encode(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        }
        return new String(out);
    }

    /**
     * @return the bytes a byte-level string stands for; a character outside the byte alphabet
     *     (which a well-formed byte-level vocabulary does not contain) contributes its own UTF-8
     *     bytes
     */
    public static byte[] decode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int b = byteOf(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
            i += Character.charCount(cp);
        }
        return out.toByteArray();
    }
}
