package dev.argon.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * IEEE 754 half-precision elements (ggml {@code GGML_TYPE_F16}), 2 bytes each, little-endian.
 * Any offset and length.
 */
public final class F16Tensor extends HalfWidthTensor implements ScalarDot {
    /** 0: not scanned yet; 1: no infinite or NaN half; -1: some (then {@link #dot} runs for all rows). */
    private volatile int finite;

    /**
     * Batched decode ({@link #dotRows}) scales the activations by 2^90, so that a half's bits,
     * sign-extended, shifted 13 up and masked with {@code 0x8FFFE000} (sign in bit 31, exponent and
     * mantissa in bits 27..13, read by a float with exponent bias 127 instead of 15: the half's
     * value times 2^-112, exact for finite halves, subnormal ones included) multiply them without
     * a rebias: each product is the exact one times 2^-22, and the sum times 2^22 has the bits of
     * {@link #dot} (scaling by a power of two commutes with rounding while values stay normal
     * floats, i.e. while partial sums exceed ~5e-32 in magnitude, where the two may differ in the
     * last place). Activations of magnitude 2^37 or more (they would overflow) and tensors with an
     * infinite or NaN half take {@link #dot} instead.
     */
    F16Tensor(MemorySegment data, long size) {
        super(data, size, true, 0x1p90f, 0x1p22f, 0x1p37f);
    }

    @Override
    float element(long at) {
        return Le.f16(data, at);
    }

    @Override
    boolean weightsConvertible() {
        return finiteWeights();
    }

    /** @return whether every half of this tensor is finite (scanned once, on first use) */
    private boolean finiteWeights() {
        int f = finite;
        if (f == 0) {
            f = scanFinite() ? 1 : -1;
            finite = f;
        }
        return f > 0;
    }

    private boolean scanFinite() {
        VectorSpecies<Short> sp = ShortVector.SPECIES_PREFERRED;
        long bytes = size * 2;
        long at = 0;
        for (; at + sp.vectorByteSize() <= bytes; at += sp.vectorByteSize()) {
            ShortVector h = ShortVector.fromMemorySegment(sp, data, at, ByteOrder.LITTLE_ENDIAN);
            if (h.and((short) 0x7C00).eq((short) 0x7C00).anyTrue()) {
                return false;
            }
        }
        for (; at < bytes; at += 2) {
            if ((data.get(Le.SHORT, at) & 0x7C00) == 0x7C00) {
                return false;
            }
        }
        return true;
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float getFloat(long index) {
        return Le.f16(data, index * 2);
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        // an int counter and a loop-invariant base: C2 turns this loop into vector half-to-float
        // conversions (with (offset + i) * 2 as the address it stayed scalar: 10% of F16 prefill)
        long base = offset * 2;
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = Le.f16(data, base + 2L * i);
        }
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        if (!Simd.ENABLED) {
            return dotScalar(offset, x, xOffset, n);
        }
        long base = offset * 2;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            // widen L halves: move sign and exponent/mantissa bits to float positions and multiply
            // by 2^112, which rebiases the exponent exactly for normal and subnormal halves;
            // infinities and NaNs (exponent 31) get the float's all-ones exponent instead
            ShortVector h = ShortVector.fromMemorySegment(SH, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector v = (IntVector) h.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            IntVector bits = v.and(0x7FFF).lanewise(VectorOperators.LSHL, 13)
                    .or(v.and(0x8000).lanewise(VectorOperators.LSHL, 16));
            FloatVector w = bits.reinterpretAsFloats().mul(0x1p112f);
            VectorMask<Integer> special = v.and(0x7C00).eq(0x7C00);
            if (special.anyTrue()) {
                w = w.blend(bits.or(0x7F800000).reinterpretAsFloats(), special.cast(F));
            }
            // two accumulators, swapped every step, halve the FMA dependency chain
            FloatVector t = acc0;
            acc0 = acc1;
            acc1 = w.fma(FloatVector.fromArray(F, x, xOffset + i), t);
        }
        float sum = Simd.sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += Le.f16(data, base + 2L * i) * x[xOffset + i];
        }
        return sum;
    }

    @Override
    public float dotScalar(long offset, float[] x, int xOffset, int n) {
        long base = offset * 2;
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += Le.f16(data, base + 2L * i) * x[xOffset + i];
        }
        return sum;
    }
}
