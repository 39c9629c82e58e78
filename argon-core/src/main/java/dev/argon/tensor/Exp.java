package dev.argon.tensor;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code (float) e^x} evaluated in double precision from exactly specified operations only
 * (multiply, fused multiply-add, add, integer add on the bits), in a scalar and a vector form that
 * give the same bits for every input. Rounded to float, the result equals {@code (float) Math.exp(x)}
 * except where the exact value lies within ~1e-15 (relative) of a float rounding boundary, so swapping
 * it for {@code Math.exp} leaves model outputs as they were, while the vector form runs several
 * exponentials per instruction. (A float-precision polynomial, within 1 ulp, moved TinyLLama-v0's
 * perplexity by 0.05%; the Vector API's own {@code EXP} differs between the interpreter and C2.)
 *
 * <p>Method (Cody and Waite's range reduction): the input is clamped to [-104, 100] (float results
 * are 0 or infinity beyond ±104 and ±89 anyway; the clamp keeps {@code 2^k} a normal double);
 * {@code k = rint(x / ln 2)} (by adding and subtracting 1.5 * 2^52); {@code r = x - k ln 2} with
 * ln 2 in two parts, |r| ≤ 0.35; {@code e^r} by its Taylor series to degree 12 (truncation error
 * below 1e-16 relative), Horner with fused multiply-adds; {@code 2^k} enters as an addition to the
 * exponent bits; the double is rounded to float.
 */
final class Exp {
    private static final double LO = -104;
    private static final double HI = 100;
    private static final double LOG2E = 1.4426950408889634;
    /** ln 2's upper bits (k * LN2_HI is exact for |k| < 2^11). */
    private static final double LN2_HI = 6.93147180369123816490e-01;
    private static final double LN2_LO = 1.90821492927058770002e-10;
    private static final double ROUND = 6755399441055744.0; // 1.5 * 2^52
    private static final long ROUND_BITS = Double.doubleToRawLongBits(ROUND);
    /** 1 / n! for n = 12 down to 2. */
    private static final double[] C = new double[11];

    static {
        for (int n = 12, i = 0; n >= 2; n--, i++) {
            double f = 1;
            for (int m = 2; m <= n; m++) {
                f *= m;
            }
            C[i] = 1 / f;
        }
    }

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats as many as {@link #D} has doubles. */
    static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * 32));

    private Exp() {
    }

    /** @return {@code (float) e^x} (see the class comment) */
    static float exp(float x) {
        double v = Math.min(Math.max(x, LO), HI);
        double t = v * LOG2E + ROUND;
        double k = t - ROUND;
        double r = Math.fma(k, -LN2_HI, v);
        r = Math.fma(k, -LN2_LO, r);
        double p = C[0];
        for (int i = 1; i < C.length; i++) {
            p = Math.fma(p, r, C[i]);
        }
        double y = Math.fma(p, r * r, r) + 1;
        return (float) Double.longBitsToDouble(Double.doubleToRawLongBits(y) + ((Double.doubleToRawLongBits(t) - ROUND_BITS) << 52));
    }

    /** @return {@code (float) e^x} per lane of {@link #F}, bit for bit {@link #exp(float)} */
    static FloatVector exp(FloatVector x) {
        DoubleVector v = ((DoubleVector) x.convertShape(VectorOperators.F2D, D, 0)).max(LO).min(HI);
        DoubleVector t = v.mul(LOG2E).add(ROUND);
        DoubleVector k = t.sub(ROUND);
        DoubleVector r = k.fma(DoubleVector.broadcast(D, -LN2_HI), v);
        r = k.fma(DoubleVector.broadcast(D, -LN2_LO), r);
        DoubleVector p = DoubleVector.broadcast(D, C[0]);
        for (int i = 1; i < C.length; i++) {
            p = p.fma(r, DoubleVector.broadcast(D, C[i]));
        }
        DoubleVector y = p.fma(r.mul(r), r).add(1);
        // k as an integer without a conversion: t's low mantissa bits hold it (t = 1.5 * 2^52 + k)
        LongVector shift = t.reinterpretAsLongs().sub(ROUND_BITS).lanewise(VectorOperators.LSHL, 52);
        DoubleVector scaled = y.reinterpretAsLongs().add(shift).reinterpretAsDoubles();
        return (FloatVector) scaled.convertShape(VectorOperators.D2F, F, 0);
    }
}
