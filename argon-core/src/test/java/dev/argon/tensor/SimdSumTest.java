package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The scalar 16-lane fold must give the vector fold's exact bits (kernels mix the two). */
class SimdSumTest {
    @Test
    void scalarFoldEqualsVectorFoldBitForBit() {
        assumeTrue(Simd.F.length() == 16, "16-lane vectors only");
        Random rnd = new Random(3);
        float[] a = new float[16];
        for (int k = 0; k < 10_000; k++) {
            for (int i = 0; i < 16; i++) {
                // wide magnitudes so that the order of additions matters
                a[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(12) - 6));
            }
            float vector = Simd.sum(FloatVector.fromArray(Simd.F, a, 0));
            assertThat(Float.floatToRawIntBits(Simd.sumLanes16(a, 0))).as("case %d", k).isEqualTo(Float.floatToRawIntBits(vector));
        }
    }

    @Test
    void transposedFourWayFoldEqualsFourVectorFoldsBitForBit() {
        assumeTrue(Simd.F.length() == 16, "16-lane vectors only");
        Random rnd = new Random(4);
        java.lang.foreign.MemorySegment lanes = Simd.laneSegment();
        float[] copy = new float[128];
        float[] out = new float[4 * 7];
        for (int k = 0; k < 10_000; k++) {
            for (int i = 0; i < 128; i++) {
                copy[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(12) - 6));
                lanes.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, copy[i]);
            }
            Simd.sumLanes16x4(lanes, 256, out, 2, 7);
            for (int t = 0; t < 4; t++) {
                float vector = Simd.sum(FloatVector.fromArray(Simd.F, copy, 64 + 16 * t));
                assertThat(Float.floatToRawIntBits(out[2 + 7 * t])).as("case %d token %d", k, t)
                        .isEqualTo(Float.floatToRawIntBits(vector));
            }
        }
    }
}
