package dev.argon.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Little-endian value layouts and scalar field readers shared by the tensor types. GGUF stores all
 * multi-byte fields little-endian and blocks are packed without alignment, so every layout here is
 * unaligned.
 */
final class Le {
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Le() {
    }

    /** @return the IEEE half at byte {@code offset}, widened to float */
    static float f16(MemorySegment s, long offset) {
        return Float.float16ToFloat(s.get(SHORT, offset));
    }

    /** @return the bfloat16 at byte {@code offset}, widened to float */
    static float bf16(MemorySegment s, long offset) {
        return Float.intBitsToFloat((s.get(SHORT, offset) & 0xFFFF) << 16);
    }

    /** @return the unsigned byte at byte {@code offset} (0..255) */
    static int u8(MemorySegment s, long offset) {
        return s.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }

    /** @return the signed byte at byte {@code offset} (-128..127) */
    static int i8(MemorySegment s, long offset) {
        return s.get(ValueLayout.JAVA_BYTE, offset);
    }
}
