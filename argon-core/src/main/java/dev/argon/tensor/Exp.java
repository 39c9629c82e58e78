package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code e^x} in float arithmetic from exactly specified operations only (multiply, fused
 * multiply-add, add, integer add on the bits), in a scalar and a vector form that give the same
 * bits for every input. The Vector API's own {@code EXP} is not used: its result may differ by an
 * ulp between the interpreter's Java fallback and C2's vector math library, so a kernel's output
 * would depend on how warm the JIT is.
 *
 * <p>Method (Cody and Waite's range reduction with Cephes' {@code expf} polynomial): the input is
 * clamped to [-86, 88]; {@code k = rint(x / ln 2)} (rounding by adding and subtracting 1.5 * 2^23,
 * exact for these magnitudes); {@code r = x - k ln 2} with ln 2 split in two parts;
 * {@code e^r ~ 1 + r + r^2 P(r)} (degree-5 P, Horner with fused multiply-adds); then {@code 2^k}
 * enters as an addition to the exponent bits. Relative error within 2 ulp of {@code Math.exp}
 * over the range ({@code ExpTest}); inputs past the clamp saturate (at most e^88 = 1.65e38, at
 * least e^-86 = 4.5e-38).
 */
final class Exp {
    static final float LO = -86f;
    static final float HI = 88f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private Exp() {
    }

    /** @return {@code e^x} (see the class comment for the method and its range) */
    static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float k = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(k, -LN2_HI, x);
        r = Math.fma(k, -LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return Float.intBitsToFloat(Float.floatToRawIntBits(y) + ((int) k << 23));
    }

    /** @return {@code e^x} per lane, bit for bit {@link #exp(float)} */
    static FloatVector exp(FloatVector x) {
        x = x.max(LO).min(HI);
        FloatVector k = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = k.fma(FloatVector.broadcast(x.species(), -LN2_HI), x);
        r = k.fma(FloatVector.broadcast(x.species(), -LN2_LO), r);
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, FloatVector.broadcast(x.species(), P2));
        p = p.fma(r, FloatVector.broadcast(x.species(), P3));
        p = p.fma(r, FloatVector.broadcast(x.species(), P4));
        p = p.fma(r, FloatVector.broadcast(x.species(), P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector shift = ((IntVector) k.convert(VectorOperators.F2I, 0)).lanewise(VectorOperators.LSHL, 23);
        return y.reinterpretAsInts().add(shift).reinterpretAsFloats();
    }
}
