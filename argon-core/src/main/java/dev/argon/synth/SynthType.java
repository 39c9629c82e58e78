package dev.argon.synth;

import dev.argon.ArgonException;
import dev.argon.tensor.GgmlType;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The weight formats {@code argon synth} writes, with their {@code general.file_type} (llama.cpp's
 * {@code llama_ftype}). Norm vectors are always F32. F32, F16, BF16, Q8_0 and Q4_0 use their type for
 * every matrix (like {@code llama-quantize --pure}); {@link #Q4_K_M} and {@link #Q5_K_M} are
 * llama.cpp's mixes, see {@link #matrixType}.
 */
public enum SynthType {
    /** All F32 ({@code LLAMA_FTYPE_ALL_F32}). */
    F32("f32", 0, GgmlType.F32),
    /** Matrices F16 ({@code LLAMA_FTYPE_MOSTLY_F16}). */
    F16("f16", 1, GgmlType.F16),
    /** Matrices Q8_0 ({@code LLAMA_FTYPE_MOSTLY_Q8_0}). */
    Q8_0("q8_0", 7, GgmlType.Q8_0),
    /** Matrices Q4_0 ({@code LLAMA_FTYPE_MOSTLY_Q4_0}). */
    Q4_0("q4_0", 2, GgmlType.Q4_0),
    /** llama.cpp's Q4_K_M mix of Q4_K and Q6_K ({@code LLAMA_FTYPE_MOSTLY_Q4_K_M}). */
    Q4_K_M("q4_k_m", 15, GgmlType.Q4_K),
    /** llama.cpp's Q5_K_M mix of Q5_K and Q6_K ({@code LLAMA_FTYPE_MOSTLY_Q5_K_M}). */
    Q5_K_M("q5_k_m", 17, GgmlType.Q5_K),
    /** Matrices BF16 ({@code LLAMA_FTYPE_MOSTLY_BF16}). */
    BF16("bf16", 32, GgmlType.BF16);

    /** What a matrix is, as far as the type rules care. */
    public enum Role {
        TOKEN_EMBD, OUTPUT, ATTN_Q, ATTN_K, ATTN_V, ATTN_OUTPUT, FFN_GATE, FFN_UP, FFN_DOWN
    }

    private final String cliName;
    private final int fileType;
    private final GgmlType base;

    SynthType(String cliName, int fileType, GgmlType base) {
        this.cliName = cliName;
        this.fileType = fileType;
        this.base = base;
    }

    /** @return the name used on the command line, such as {@code q4_k_m} */
    public String cliName() {
        return cliName;
    }

    /** @return the value of {@code general.file_type} (llama.cpp's {@code llama_ftype}) */
    public int fileType() {
        return fileType;
    }

    /** @return the type of most matrices */
    public GgmlType baseType() {
        return base;
    }

    /** @return whether this is one of llama.cpp's K-quant mixes (Q6_K for the output and some layers) */
    public boolean mixed() {
        return this == Q4_K_M || this == Q5_K_M;
    }

    /** @return whether matrices are block-quantized (then {@code general.quantization_version} is written) */
    public boolean quantized() {
        return base.quantized();
    }

    /** @return the command-line names of all types, comma-separated, for messages */
    public static String names() {
        return Arrays.stream(values()).map(SynthType::cliName).collect(Collectors.joining(", "));
    }

    /**
     * Looks a type up by its command-line name (case-insensitive; {@code q4_k_m} may also be written
     * {@code q4_k}, {@code q5_k_m} {@code q5_k}).
     *
     * @throws ArgonException listing the valid names if there is none of that name
     */
    public static SynthType parse(String name) {
        String n = name.toLowerCase(Locale.ROOT).replace('-', '_');
        for (SynthType t : values()) {
            if (t.cliName.equals(n)) {
                return t;
            }
        }
        if (n.equals("q4_k")) {
            return Q4_K_M;
        }
        if (n.equals("q5_k")) {
            return Q5_K_M;
        }
        throw new ArgonException("unknown type '" + name + "'; valid types: " + names());
    }

    /**
     * The type of one weight matrix, chosen as llama.cpp's {@code llama_tensor_get_type}
     * (src/llama-quant.cpp) does for the {@code llama} architecture without an importance matrix:
     * <ul>
     *   <li>the output projection ({@code output.weight}, or {@code token_embd.weight} when the
     *       embedding is tied) is Q6_K, or Q8_0 when its rows are not a multiple of 256;</li>
     *   <li>{@code attn_v} and {@code ffn_down} are Q6_K in the layers where
     *       {@code use_more_bits(i, n)} holds: the first and last eighth of the layers and every
     *       third one in between ({@code i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2});</li>
     *   <li>everything else, the untied token embedding included, is Q4_K (Q5_K in Q5_K_M);</li>
     *   <li>a K-quant (256-element blocks) whose row length is not a multiple of 256 falls back to
     *       a 32-element type, as llama.cpp does: Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, and to F16 if the
     *       row is not a multiple of 32 either (where llama.cpp refuses an output of such rows,
     *       this writes F16).</li>
     * </ul>
     * For the other types every matrix is {@link #baseType()}.
     *
     * @param role the matrix
     * @param layer its block index (ignored for the embedding and output)
     * @param nLayers number of blocks
     * @param rowLength elements per row ({@code ne[0]}, the contiguous dimension)
     * @param tied whether {@code token_embd.weight} doubles as the output projection
     */
    public GgmlType matrixType(Role role, int layer, int nLayers, long rowLength, boolean tied) {
        GgmlType t = preferredType(role, layer, nLayers, tied);
        if (mixed() && t == GgmlType.Q6_K && isOutput(role, tied)) {
            // llama.cpp: an output whose rows do not fill 256-element blocks is Q8_0
            return rowLength % t.blockSize() != 0 ? fallback(GgmlType.Q8_0, rowLength) : t;
        }
        return fallback(t, rowLength);
    }

    /**
     * The type {@link #matrixType} chooses before looking at the row length, that is, without
     * llama.cpp's fallback for rows that do not fill the type's blocks.
     */
    public GgmlType preferredType(Role role, int layer, int nLayers, boolean tied) {
        if (!mixed()) {
            return base;
        }
        if (isOutput(role, tied)) {
            return GgmlType.Q6_K;
        }
        return (role == Role.ATTN_V || role == Role.FFN_DOWN) && useMoreBits(layer, nLayers) ? GgmlType.Q6_K : base;
    }

    private static boolean isOutput(Role role, boolean tied) {
        return role == Role.OUTPUT || (tied && role == Role.TOKEN_EMBD);
    }

    /** llama.cpp's {@code use_more_bits}: the layers of {@code attn_v}/{@code ffn_down} that get Q6_K in Q4_K_M and Q5_K_M. */
    public static boolean useMoreBits(int layer, int nLayers) {
        return layer < nLayers / 8 || layer >= 7 * nLayers / 8 || (layer - nLayers / 8) % 3 == 2;
    }

    /** @return {@code t}, or llama.cpp's replacement when rows of {@code rowLength} do not fill its blocks */
    static GgmlType fallback(GgmlType t, long rowLength) {
        if (rowLength % t.blockSize() == 0) {
            return t;
        }
        GgmlType f = switch (t) {
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> GgmlType.F16;
        };
        return rowLength % f.blockSize() == 0 ? f : GgmlType.F16;
    }
}
