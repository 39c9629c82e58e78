package dev.argon.compress;

/**
 * Integer arithmetic coder, encoding side: the 32-bit binary arithmetic coder of Witten, Neal and
 * Cleary ("Arithmetic coding for data compression", CACM 30(6), 1987) with its underflow ("pending
 * bit") rule. A symbol is an interval {@code [cumLow, cumHigh)} of integer frequencies out of
 * {@code total} ({@code total ≤ 2^24}, every symbol's frequency ≥ 1). Bits go to an in-memory
 * buffer; {@link #mark()}/{@link #reset(Mark)} undo symbols (used by Equal-Info Windows to try
 * whether a token still fits), and {@link #bitsIfFinished()} is the exact length the code would
 * have if {@link #finish()} were called now.
 *
 * <p>The matching decoder is {@link ArithmeticDecoder}; it reads bits past the end of the code
 * as zeros, which {@link #finish()} relies on (it writes the two to {@code pending + 2} bits that
 * pin a value inside the final interval).
 */
public final class ArithmeticEncoder {
    static final long TOP = 0xFFFF_FFFFL;
    static final long HALF = 1L << 31;
    static final long QUARTER = 1L << 30;
    /** Largest {@code total} accepted: the interval is wider than 2^30 after renormalizing. */
    public static final int MAX_TOTAL = 1 << 24;

    private long low;
    private long high = TOP;
    private long pending;
    private byte[] buf = new byte[1024];
    private long bits;

    /** A saved coder state ({@link #mark()}). */
    public record Mark(long low, long high, long pending, long bits) {
    }

    /**
     * Encodes one symbol.
     *
     * @param cumLow the symbol's cumulative frequency start
     * @param cumHigh its end ({@code > cumLow})
     * @param total the sum of all frequencies, at most {@link #MAX_TOTAL}
     */
    public void encode(long cumLow, long cumHigh, long total) {
        if (cumLow < 0 || cumHigh <= cumLow || cumHigh > total || total > MAX_TOTAL) {
            throw new IllegalArgumentException("symbol [" + cumLow + ", " + cumHigh + ") of " + total);
        }
        long range = high - low + 1;
        high = low + range * cumHigh / total - 1;
        low = low + range * cumLow / total;
        while (true) {
            if (high < HALF) {
                emit(0);
            } else if (low >= HALF) {
                emit(1);
                low -= HALF;
                high -= HALF;
            } else if (low >= QUARTER && high < 3 * QUARTER) {
                pending++;
                low -= QUARTER;
                high -= QUARTER;
            } else {
                break;
            }
            low <<= 1;
            high = (high << 1) | 1;
        }
    }

    /** Ends the code: writes the bits that select a value inside the final interval. */
    public void finish() {
        pending++;
        emit(low < QUARTER ? 0 : 1);
        pending = 0;
    }

    /** @return the code's length in bits if {@link #finish()} were called now */
    public long bitsIfFinished() {
        return bits + pending + 2;
    }

    /** @return the bits written so far (after {@link #finish()}: the code's length) */
    public long bits() {
        return bits;
    }

    /** @return the current state, to return to with {@link #reset(Mark)} */
    public Mark mark() {
        return new Mark(low, high, pending, bits);
    }

    /** Returns to a state from {@link #mark()} of this coder, dropping the bits written since. */
    public void reset(Mark m) {
        if (m.bits > bits) {
            throw new IllegalArgumentException("mark is ahead of the coder");
        }
        int end = (int) ((bits + 7) >>> 3);
        low = m.low;
        high = m.high;
        pending = m.pending;
        bits = m.bits;
        int full = (int) (bits >>> 3);
        int rest = (int) (bits & 7);
        if (rest != 0) {
            buf[full] &= (byte) (0xFF00 >>> rest);
            full++;
        }
        java.util.Arrays.fill(buf, full, end, (byte) 0);
    }

    /** @return the code as bytes, the last one padded with zero bits ({@code ceil(bits / 8)} bytes) */
    public byte[] toByteArray() {
        return java.util.Arrays.copyOf(buf, (int) ((bits + 7) >>> 3));
    }

    private void emit(int bit) {
        put(bit);
        for (; pending > 0; pending--) {
            put(bit ^ 1);
        }
    }

    private void put(int bit) {
        int i = (int) (bits >>> 3);
        if (i >= buf.length) {
            if (buf.length >= Integer.MAX_VALUE / 2) {
                throw new IllegalStateException("arithmetic code longer than 1 GiB");
            }
            buf = java.util.Arrays.copyOf(buf, buf.length * 2);
        }
        if (bit != 0) {
            buf[i] |= (byte) (0x80 >>> (bits & 7));
        }
        bits++;
    }
}
