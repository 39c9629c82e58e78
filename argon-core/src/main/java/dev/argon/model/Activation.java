package dev.argon.model;

/**
 * Activation functions of feed-forward blocks, computed as llama.cpp's CPU backend does.
 * <ul>
 *   <li>{@link #SILU}: {@code x / (1 + e^-x)} (SwiGLU, Shazeer 2020: Llama, Qwen, Phi-3);</li>
 *   <li>{@link #GELU_TANH}: GELU's tanh approximation (Hendrycks and Gimpel, 2016)
 *       {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} (GPT-2's MLP, Gemma's GeGLU).
 *       ggml evaluates it from a table indexed by the F16-rounded input and returns the F16
 *       result ({@code GGML_GELU_FP16} in {@code ggml-cpu/vec.h}; identity above 10, zero below -10);
 *       {@link #apply} does the same when asked for llama.cpp's arithmetic.</li>
 * </ul>
 */
public enum Activation {
    SILU, GELU_TANH;

    private static final float SQRT_2_OVER_PI = 0.79788456080286535587989211986876f;
    private static final float GELU_COEF_A = 0.044715f;

    /** ggml's table: F16 bits of x to gelu(x) rounded to F16, as a float. */
    private static final class GeluTable {
        static final float[] TABLE = new float[1 << 16];

        static {
            for (int h = 0; h < TABLE.length; h++) {
                float x = Float.float16ToFloat((short) h);
                TABLE[h] = Float.float16ToFloat(Float.floatToFloat16(gelu(x)));
            }
        }
    }

    /** @return GELU (tanh approximation) of {@code x} in float arithmetic */
    static float gelu(float x) {
        return 0.5f * x * (1f + (float) Math.tanh(SQRT_2_OVER_PI * x * (1f + GELU_COEF_A * x * x)));
    }

    /**
     * @param llamaCpp evaluate GELU through ggml's F16 table (llama.cpp's CPU arithmetic) rather than exactly
     * @return the activation of {@code x}
     */
    public float apply(float x, boolean llamaCpp) {
        return switch (this) {
            case SILU -> x / (1f + (float) Math.exp(-x));
            case GELU_TANH -> {
                if (!llamaCpp) {
                    yield gelu(x);
                }
                if (x <= -10f) {
                    yield 0f;
                }
                yield x >= 10f ? x : GeluTable.TABLE[Float.floatToFloat16(x) & 0xFFFF];
            }
        };
    }
}
