package dev.argon.tensor;

import dev.argon.ArgonException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Tensor#of} wiring and argument checks, and block alignment of quantized ranges. */
class TensorOfTest {
    static Stream<GgmlType> types() {
        return TensorTestSupport.TYPES.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void wrapsEachSupportedType(GgmlType type) {
        long n = 2L * Math.max(type.blockSize(), 32);
        Tensor t = Tensor.of(type, MemorySegment.ofArray(new byte[(int) type.bytesFor(n)]), n);
        assertThat(t.type()).isEqualTo(type);
        assertThat(t.size()).isEqualTo(n);
        assertThat(t).isInstanceOf(ScalarDot.class);
        assertThat(type.supported()).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void rejectsByteSizeThatDoesNotMatch(GgmlType type) {
        long n = 2L * type.blockSize();
        long bytes = type.bytesFor(n);
        assertThatThrownBy(() -> Tensor.of(type, MemorySegment.ofArray(new byte[(int) bytes - 1]), n))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(type.name());
        assertThatThrownBy(() -> Tensor.of(type, MemorySegment.ofArray(new byte[(int) bytes + 1]), n))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Tensor.of(type, MemorySegment.ofArray(new byte[(int) bytes]), n + type.blockSize()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void rejectsElementCountThatIsNotWholeBlocks(GgmlType type) {
        if (type.quantized()) {
            assertThatThrownBy(() -> Tensor.of(type, MemorySegment.ofArray(new byte[type.blockBytes()]), type.blockSize() + 1))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void quantizedRangesMustBeBlockAligned(GgmlType type) {
        if (!type.quantized()) {
            return;
        }
        int bs = type.blockSize();
        Tensor t = TensorTestSupport.tensor(type, new float[2 * bs]);
        float[] x = new float[2 * bs];
        assertThatThrownBy(() -> t.dot(1, x, 0, bs)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> t.dot(0, x, 0, bs - 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> t.dequantize(bs / 2, x, 0, bs)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ((ScalarDot) t).dotScalar(0, x, 0, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void unsupportedTypeIsNamed() {
        assertThatThrownBy(() -> Tensor.of(GgmlType.Q2_K, MemorySegment.ofArray(new byte[84]), 256))
                .isInstanceOf(ArgonException.class).hasMessageContaining("Q2_K");
    }

    @Test
    void quantizerRejectsPartialBlocksAndUnsupportedTypes() {
        assertThatThrownBy(() -> Quantizer.quantize(GgmlType.Q4_K, new float[255])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Quantizer.quantize(GgmlType.Q2_K, new float[256])).isInstanceOf(IllegalArgumentException.class);
        assertThat(Quantizer.quantize(GgmlType.Q4_K, new float[512]).byteSize()).isEqualTo(2 * 144);
    }
}
