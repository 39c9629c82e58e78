package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reports the float vector width the tests run at and, under {@code ./mvnw verify
 * -Dvector.bits=N} (the build passes it on as {@code argon.vector.bits}), checks that the JVM
 * really uses N-bit vectors: the flag caps them with {@code -XX:MaxVectorSize}, which cannot make
 * them wider than the CPU's, so asking for 512 bits on an AVX2 machine fails here.
 */
class SimdWidthTest {
    @Test
    void vectorWidthIsTheOneAskedFor() {
        int preferred = FloatVector.SPECIES_PREFERRED.length();
        String asked = System.getProperty("argon.vector.bits", "");
        System.out.printf("SIMD: FloatVector.SPECIES_PREFERRED has %d lanes, kernels use %d (vector.bits %s)%n",
                preferred, Simd.F.length(), asked.isBlank() ? "unset" : asked);
        assertThat(preferred).isIn(2, 4, 8, 16);
        if (!asked.isBlank()) {
            assertThat(preferred * Float.SIZE)
                    .as("bits of FloatVector.SPECIES_PREFERRED under -Dvector.bits=%s", asked)
                    .isEqualTo(Integer.parseInt(asked));
        }
        if (System.getProperty("argon.simd", "").isEmpty()) {
            assertThat(Simd.F.length()).isEqualTo(preferred);
        }
    }
}
