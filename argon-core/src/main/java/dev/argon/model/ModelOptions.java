package dev.argon.model;

/**
 * How to run a model.
 *
 * @param threads worker threads for the kernels, including the caller's (at least 1)
 * @param quantizedActivations compute like llama.cpp's CPU backend: products with Q4_0/Q8_0
 *     weights on activations rounded to 8 bits (ggml's Q8_0 scheme), and GELU through ggml's
 *     F16 table ({@link Activation}); false keeps activations and GELU in exact F32
 */
public record ModelOptions(int threads, boolean quantizedActivations) {
    /** @return all cores, 8-bit activations (llama.cpp's arithmetic) */
    public static ModelOptions defaults() {
        return new ModelOptions(Runtime.getRuntime().availableProcessors(), true);
    }

    /** @return these options with another thread count */
    public ModelOptions withThreads(int n) {
        return new ModelOptions(n, quantizedActivations);
    }

    /** @return these options with 8-bit activations on or off */
    public ModelOptions withQuantizedActivations(boolean on) {
        return new ModelOptions(threads, on);
    }
}
