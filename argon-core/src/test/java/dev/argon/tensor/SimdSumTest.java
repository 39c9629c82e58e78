package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scalar lane folds give the vector fold's exact bits (kernels mix the two), at whatever lane
 * count {@link Simd#F} has: {@link Simd#sum} is checked against {@link Simd#sumLanes} for that
 * count, and the 16-lane folds ({@link Simd#sumLanes16}, {@link Simd#sumLanes16x4}, used by the
 * 16-lane kernels) against {@code sumLanes} of 16 lanes, and against {@code sum} itself when
 * vectors have 16 lanes.
 */
class SimdSumTest {
    /** Wide magnitudes, so that the order of additions matters. */
    private static float wide(Random rnd) {
        return (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(12) - 6));
    }

    /** {@link Simd#sumLanes} of {@code a[o..o+n)} on a copy (it overwrites its input). */
    private static float scalarFold(float[] a, int o, int n) {
        return Simd.sumLanes(a.clone(), o, n);
    }

    @Test
    void scalarFoldEqualsVectorFoldBitForBit() {
        int lanes = Simd.F.length();
        Random rnd = new Random(3);
        float[] a = new float[16];
        int orderMattered = 0;
        for (int k = 0; k < 10_000; k++) {
            for (int i = 0; i < 16; i++) {
                a[i] = wide(rnd);
            }
            float vector = Simd.sum(FloatVector.fromArray(Simd.F, a, 0));
            assertThat(Float.floatToRawIntBits(scalarFold(a, 0, lanes))).as("case %d, %d lanes", k, lanes)
                    .isEqualTo(Float.floatToRawIntBits(vector));
            float fold16 = scalarFold(a, 0, 16);
            assertThat(Float.floatToRawIntBits(Simd.sumLanes16(a, 0))).as("case %d", k)
                    .isEqualTo(Float.floatToRawIntBits(fold16));
            if (lanes == 16) {
                assertThat(Float.floatToRawIntBits(Simd.sumLanes16(a, 0))).as("case %d", k)
                        .isEqualTo(Float.floatToRawIntBits(vector));
            }
            float inOrder = 0;
            for (int i = 0; i < lanes; i++) {
                inOrder += a[i];
            }
            if (inOrder != vector) {
                orderMattered++;
            }
        }
        // the data does tell fold orders apart: a left-to-right sum differs in many cases
        assertThat(orderMattered).isGreaterThan(1_000);
    }

    @Test
    void transposedFourWayFoldEqualsFourVectorFoldsBitForBit() {
        int lanes = Simd.F.length();
        Random rnd = new Random(4);
        MemorySegment segment = Simd.laneSegment();
        float[] copy = new float[128];
        float[] out = new float[4 * 7];
        for (int k = 0; k < 10_000; k++) {
            for (int i = 0; i < 128; i++) {
                copy[i] = wide(rnd);
                segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, copy[i]);
            }
            Simd.sumLanes16x4(segment, 256, out, 2, 7);
            for (int t = 0; t < 4; t++) {
                int o = 64 + 16 * t;
                assertThat(Float.floatToRawIntBits(out[2 + 7 * t])).as("case %d token %d", k, t)
                        .isEqualTo(Float.floatToRawIntBits(scalarFold(copy, o, 16)));
                if (lanes == 16) {
                    float vector = Simd.sum(FloatVector.fromArray(Simd.F, copy, o));
                    assertThat(Float.floatToRawIntBits(out[2 + 7 * t])).as("case %d token %d", k, t)
                            .isEqualTo(Float.floatToRawIntBits(vector));
                }
            }
        }
    }
}
