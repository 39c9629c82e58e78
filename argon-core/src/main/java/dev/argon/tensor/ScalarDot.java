package dev.argon.tensor;

/**
 * Implemented by tensor types whose fast {@link Tensor#dot} has a scalar fallback (used when the
 * Vector API is off or unsuitable), so tests can check both paths against {@link Tensor#dotReference}.
 */
interface ScalarDot {
    /** Same contract as {@link Tensor#dot}, computed with scalar code and no allocation. */
    float dotScalar(long offset, float[] x, int xOffset, int n);
}
