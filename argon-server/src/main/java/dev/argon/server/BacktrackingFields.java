package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.argon.generate.Backtracking;
import dev.argon.generate.GenerationRequest;

import java.util.ArrayList;
import java.util.List;

/**
 * Backtracking request fields (Argon extensions): {@code banned_strings} (an array of strings, or
 * one string, never emitted: the sequence backs up and bans the token that started one; the name
 * text-generation-webui and KoboldCpp use) and {@code backspace_token} (a token id that deletes the
 * token before it, SequenceMatch). A streamed answer lags behind by the rollback window so that it
 * never sends text a rollback later retracts (see {@link dev.argon.generate.Backtracking}).
 */
final class BacktrackingFields {
    /** Most banned strings per request. */
    static final int MAX_STRINGS = 64;
    /** Longest banned string in chars (the rollback window, and so the stream's lag, grows with it). */
    static final int MAX_LENGTH = 128;

    private BacktrackingFields() {
    }

    /**
     * @param vocabSize the model's vocabulary size (the backspace token's range)
     * @return {@code req} with the fields' banned strings and backspace token (unchanged when absent)
     * @throws ApiException 400 naming the field for a bad value or a combination not supported
     */
    static GenerationRequest apply(JsonNode body, GenerationRequest req, int vocabSize) {
        List<String> strings = strings(body);
        Long backspace = Json.integer(body, "backspace_token", 0, vocabSize - 1);
        if (strings.isEmpty() && backspace == null) {
            return req;
        }
        String field = strings.isEmpty() ? "backspace_token" : "banned_strings";
        if (req.guided()) {
            throw ApiException.badRequest(field, "'" + field + "' cannot be combined with 'guidance_scale'");
        }
        if (req.constraint() != null) {
            throw ApiException.badRequest(field, "'" + field + "' cannot be combined with 'response_format', 'grammar', 'json_schema'"
                    + " or tools (backing up would need the grammar's state at every token)");
        }
        return req.withBacktracking(new Backtracking(strings, backspace == null ? -1 : backspace.intValue()));
    }

    private static List<String> strings(JsonNode body) {
        JsonNode v = body.get("banned_strings");
        if (v == null || v.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw ApiException.badRequest("banned_strings", "'banned_strings' must be an array of strings; found " + e.getNodeType()
                            .toString().toLowerCase(java.util.Locale.ROOT));
                }
                out.add(e.asText());
            }
        } else {
            throw ApiException.badRequest("banned_strings", "'banned_strings' must be a string or an array of strings");
        }
        if (out.size() > MAX_STRINGS) {
            throw ApiException.badRequest("banned_strings", "'banned_strings' has " + out.size() + " strings; at most " + MAX_STRINGS);
        }
        for (String s : out) {
            if (s.isEmpty()) {
                throw ApiException.badRequest("banned_strings", "'banned_strings' contains an empty string");
            }
            if (s.length() > MAX_LENGTH) {
                throw ApiException.badRequest("banned_strings", "'banned_strings' contains a string of " + s.length()
                        + " characters; at most " + MAX_LENGTH);
            }
        }
        return out;
    }
}
