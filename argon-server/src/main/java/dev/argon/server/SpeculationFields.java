package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.argon.ArgonException;
import dev.argon.generate.DraftAcceptance;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.SpeculationParams;

import java.util.List;

/**
 * Per-request speculative decoding, with llama.cpp server's field names {@code speculative.n_max},
 * {@code speculative.n_min} and {@code speculative.p_min}, plus Argon's {@code speculative.type}
 * ({@code none}, {@code ngram}, {@code draft}, {@code lookahead}), {@code speculative.ngram_min},
 * {@code speculative.ngram_max}, {@code speculative.lookahead_window/_ngram/_guess} and {@code speculative.accept} with
 * {@code speculative.typical_epsilon/_delta} ({@link DraftAcceptance}). Each absent field keeps the server's setting ({@code --spec},
 * {@code --draft-max}, ...). Speculation never changes the output, only its speed, unless the lossy
 * {@code "speculative.accept": "typical"} is asked for.
 */
final class SpeculationFields {
    private SpeculationFields() {
    }

    /**
     * @param defaults the server's settings
     * @return {@code req} with the speculation these fields and the defaults give
     * @throws ApiException 400 naming the field when a value is invalid, or for a nested {@code "speculative": {...}} object
     */
    static GenerationRequest apply(JsonNode body, GenerationRequest req, SpeculationParams defaults) {
        JsonNode nested = body.get("speculative");
        if (nested != null && !nested.isNull()) {
            // llama.cpp's server reads flat keys only; an object here would be ignored without a word
            throw ApiException.badRequest("speculative", "'speculative' is not a field; use the flat fields 'speculative.type',"
                    + " 'speculative.n_max', 'speculative.n_min', 'speculative.p_min', 'speculative.ngram_min', 'speculative.ngram_max',"
                    + " 'speculative.lookahead_window', 'speculative.lookahead_ngram', 'speculative.lookahead_guess',"
                    + " 'speculative.accept', 'speculative.typical_epsilon', 'speculative.typical_delta'");
        }
        String type = Json.string(body, "speculative.type", null);
        SpeculationParams.Mode mode = defaults.mode();
        if (type != null) {
            try {
                mode = SpeculationParams.Mode.parse(type, "'speculative.type'");
            } catch (ArgonException e) {
                throw ApiException.badRequest("speculative.type", e.getMessage());
            }
        }
        Long nMax = Json.integer(body, "speculative.n_max", 1, SpeculationParams.MAX_DRAFT);
        Long nMin = Json.integer(body, "speculative.n_min", 0, SpeculationParams.MAX_DRAFT);
        float pMin = Json.number(body, "speculative.p_min", defaults.pMin(), 0, 1);
        Long gMin = Json.integer(body, "speculative.ngram_min", 1, SpeculationParams.MAX_NGRAM);
        Long gMax = Json.integer(body, "speculative.ngram_max", 1, SpeculationParams.MAX_NGRAM);
        int max = nMax == null ? defaults.draftMax() : nMax.intValue();
        int min = nMin == null ? Math.min(defaults.draftMin(), max) : nMin.intValue();
        if (min > max) {
            throw ApiException.badRequest(nMin != null ? "speculative.n_min" : "speculative.n_max",
                    "'speculative.n_min' (" + min + ") must not exceed 'speculative.n_max' (" + max + ")");
        }
        int ngramMax = gMax == null ? defaults.ngramMax() : gMax.intValue();
        int ngramMin = gMin == null ? Math.min(defaults.ngramMin(), ngramMax) : gMin.intValue();
        if (ngramMin > ngramMax) {
            throw ApiException.badRequest(gMin != null ? "speculative.ngram_min" : "speculative.ngram_max",
                    "'speculative.ngram_min' (" + ngramMin + ") must not exceed 'speculative.ngram_max' (" + ngramMax + ")");
        }
        Long lw = Json.integer(body, "speculative.lookahead_window", 1, SpeculationParams.MAX_DRAFT);
        Long ln = Json.integer(body, "speculative.lookahead_ngram", 2, SpeculationParams.MAX_NGRAM);
        Long lg = Json.integer(body, "speculative.lookahead_guess", 1, 1000);
        SpeculationParams.Lookahead la = defaults.lookahead();
        la = new SpeculationParams.Lookahead(lw == null ? la.window() : lw.intValue(), ln == null ? la.ngram() : ln.intValue(),
                lg == null ? la.guess() : lg.intValue());
        if (la.rows() > SpeculationParams.MAX_DRAFT) {
            throw ApiException.badRequest(lw != null ? "speculative.lookahead_window" : "speculative.lookahead_ngram",
                    "'speculative.lookahead_window' + 'speculative.lookahead_ngram' - 1 is " + la.rows() + "; expected at most "
                            + SpeculationParams.MAX_DRAFT);
        }
        DraftAcceptance acceptance = acceptance(body, defaults.acceptance());
        refuseIgnored(body, mode);
        SpeculationParams p = new SpeculationParams(mode, min, max, ngramMin, ngramMax, pMin, defaults.disableBatchSize(), la,
                acceptance);
        return req.withSpeculation(p);
    }

    /** The fields that tune speculative decoding (every {@code speculative.*} field but the type). */
    private static final List<String> TUNING = List.of("speculative.n_max", "speculative.n_min", "speculative.p_min",
            "speculative.ngram_min", "speculative.ngram_max", "speculative.lookahead_window", "speculative.lookahead_ngram",
            "speculative.lookahead_guess", "speculative.accept", "speculative.typical_epsilon", "speculative.typical_delta");

    /**
     * As the CLI refuses a flag that would be ignored: a tuning field without speculation, a
     * {@code speculative.lookahead_*} field with another kind, {@code speculative.p_min} (a draft
     * model's) with {@code ngram}, {@code speculative.ngram_*} with {@code draft}.
     *
     * @param mode the request's kind of speculation (its {@code speculative.type} or the server's)
     * @throws ApiException 400 naming the first such field
     */
    private static void refuseIgnored(JsonNode body, SpeculationParams.Mode mode) {
        if (mode == SpeculationParams.Mode.NONE) {
            String f = firstGiven(body, TUNING);
            if (f != null) {
                throw ApiException.badRequest(f, "'" + f + "' needs speculation, which this request does not use: set"
                        + " 'speculative.type' (ngram, draft, lookahead) or start the server with --spec");
            }
            return;
        }
        String wrong = null;
        String owner = null;
        if (mode != SpeculationParams.Mode.LOOKAHEAD) {
            wrong = firstGiven(body, List.of("speculative.lookahead_window", "speculative.lookahead_ngram", "speculative.lookahead_guess"));
            owner = "lookahead";
        }
        if (wrong == null && mode == SpeculationParams.Mode.NGRAM) {
            wrong = firstGiven(body, List.of("speculative.p_min"));
            owner = "draft";
        } else if (wrong == null && mode == SpeculationParams.Mode.DRAFT) {
            wrong = firstGiven(body, List.of("speculative.ngram_min", "speculative.ngram_max"));
            owner = "ngram";
        }
        if (wrong != null) {
            throw ApiException.badRequest(wrong, "'" + wrong + "' applies to 'speculative.type': '" + owner + "', but this request uses '"
                    + mode.flagName() + "'");
        }
    }

    /**
     * Refuses speculation a request asks for ({@code speculative.type} other than {@code none}, or any
     * tuning field) together with what the scheduler does not speculate with: classifier-free guidance
     * ({@code guidance_scale}) and backtracking ({@code banned_strings}, {@code backspace_token}). (The
     * server's own {@code --spec} default simply does not apply to such requests.) Call after the
     * guidance and backtracking fields are applied.
     *
     * @throws ApiException 400 naming the speculative field
     */
    static void checkCombinations(JsonNode body, GenerationRequest req) {
        if (!req.speculation().active() || !(req.guided() || req.backtracking().active())) {
            return;
        }
        String f = body.hasNonNull("speculative.type") ? "speculative.type" : firstGiven(body, TUNING);
        if (f == null) {
            return;
        }
        String other = req.guided() ? "classifier-free guidance ('guidance_scale')" : "'banned_strings' / 'backspace_token'";
        throw ApiException.badRequest(f, "speculative decoding ('" + f + "') cannot be combined with " + other
                + ": drop the 'speculative.*' fields or set 'speculative.type': 'none'");
    }

    private static String firstGiven(JsonNode body, List<String> fields) {
        for (String f : fields) {
            if (body.hasNonNull(f)) {
                return f;
            }
        }
        return null;
    }

    /**
     * {@code speculative.accept} ({@code exact} or the lossy {@code typical}), {@code speculative.typical_epsilon} and
     * {@code speculative.typical_delta} (0..1 each); absent fields keep the server's {@code --spec-accept},
     * {@code --spec-typical-epsilon}, {@code --spec-typical-delta}.
     *
     * @throws ApiException 400 naming the field for a bad value, or a threshold given with exact acceptance
     */
    private static DraftAcceptance acceptance(JsonNode body, DraftAcceptance defaults) {
        String accept = Json.string(body, "speculative.accept", null);
        DraftAcceptance.Rule rule = defaults.rule();
        if (accept != null) {
            try {
                rule = DraftAcceptance.Rule.parse(accept, "'speculative.accept'");
            } catch (ArgonException e) {
                throw ApiException.badRequest("speculative.accept", e.getMessage());
            }
        }
        float epsilon = Json.number(body, "speculative.typical_epsilon", defaults.epsilon(), 0, 1);
        float delta = Json.number(body, "speculative.typical_delta", defaults.delta(), 0, 1);
        if (rule != DraftAcceptance.Rule.TYPICAL) {
            for (String f : new String[] {"speculative.typical_epsilon", "speculative.typical_delta"}) {
                JsonNode v = body.get(f);
                if (v != null && !v.isNull()) {
                    throw ApiException.badRequest(f, "'" + f + "' applies to \"speculative.accept\": \"typical\", but this request"
                            + " uses exact acceptance");
                }
            }
        }
        return new DraftAcceptance(rule, epsilon, delta);
    }
}
