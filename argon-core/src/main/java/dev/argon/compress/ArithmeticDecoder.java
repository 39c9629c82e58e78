package dev.argon.compress;

import static dev.argon.compress.ArithmeticEncoder.HALF;
import static dev.argon.compress.ArithmeticEncoder.QUARTER;
import static dev.argon.compress.ArithmeticEncoder.TOP;

/**
 * Integer arithmetic coder, decoding side of {@link ArithmeticEncoder} (Witten, Neal and Cleary,
 * CACM 1987). Bits past the end of the code read as zeros. Use: {@link #target(long)} gives the
 * scaled value, the caller finds the symbol whose {@code [cumLow, cumHigh)} holds it, then
 * {@link #consume(long, long, long)} removes that symbol.
 */
public final class ArithmeticDecoder {
    private final byte[] code;
    private final int offset;
    private final long lengthBits;
    private long next;
    private long low;
    private long high = TOP;
    private long value;

    /**
     * @param code the bytes holding the code
     * @param offset its first byte
     * @param length its length in bytes (bits beyond read as zeros)
     */
    public ArithmeticDecoder(byte[] code, int offset, int length) {
        this.code = code;
        this.offset = offset;
        this.lengthBits = 8L * length;
        for (int i = 0; i < 32; i++) {
            value = (value << 1) | bit();
        }
    }

    /** @return the cumulative frequency, in {@code [0, total)}, of the symbol coded next */
    public long target(long total) {
        long range = high - low + 1;
        return ((value - low + 1) * total - 1) / range;
    }

    /** Removes the symbol {@code [cumLow, cumHigh)} of {@code total} (the one {@link #target} pointed into). */
    public void consume(long cumLow, long cumHigh, long total) {
        long range = high - low + 1;
        high = low + range * cumHigh / total - 1;
        low = low + range * cumLow / total;
        while (true) {
            if (high < HALF) {
                // nothing to subtract
            } else if (low >= HALF) {
                value -= HALF;
                low -= HALF;
                high -= HALF;
            } else if (low >= QUARTER && high < 3 * QUARTER) {
                value -= QUARTER;
                low -= QUARTER;
                high -= QUARTER;
            } else {
                break;
            }
            low <<= 1;
            high = (high << 1) | 1;
            value = (value << 1) | bit();
        }
    }

    private int bit() {
        long i = next++;
        if (i >= lengthBits) {
            return 0;
        }
        return (code[offset + (int) (i >>> 3)] >>> (7 - (int) (i & 7))) & 1;
    }
}
