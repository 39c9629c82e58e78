package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.tokenizer.Tokenizer;
import dev.argon.watermark.TournamentDetector;
import dev.argon.watermark.TournamentScheme;
import dev.argon.watermark.TournamentWatermark;
import dev.argon.watermark.Watermark;
import dev.argon.watermark.WatermarkDetector;
import dev.argon.watermark.WatermarkScheme;
import io.javalin.http.Context;

import java.util.List;

/**
 * The watermark's request fields (Argon extensions; no OpenAI names exist): on completions,
 * {@code watermark} (the secret key) with optional {@code watermark_gamma},
 * {@code watermark_delta} and {@code watermark_context}; and {@code POST /watermark/detect}
 * ({@code text}, {@code key}, optional {@code gamma}, {@code context}, {@code window}) answering
 * {@code scored_tokens}, {@code green_tokens}, {@code green_fraction}, {@code z_score},
 * {@code p_value} and, with a window, {@code windows}. {@code watermark_scheme} / {@code scheme}
 * {@code "synthid"} selects the tournament watermark ({@link TournamentScheme}; {@code watermark_layers}
 * / {@code layers}, context default 4), whose detection answers {@code mean_g} instead of the green counts.
 */
final class WatermarkFields {
    private WatermarkFields() {
    }

    /** @return {@code req} with the watermark step when the body has a {@code watermark} key */
    static GenerationRequest apply(JsonNode body, GenerationRequest req) {
        String key = Json.string(body, "watermark", null);
        if (key == null) {
            for (String f : List.of("watermark_gamma", "watermark_delta", "watermark_context", "watermark_scheme", "watermark_layers")) {
                if (body.has(f) && !body.get(f).isNull()) {
                    throw ApiException.badRequest(f, "'" + f + "' needs 'watermark' (the key)");
                }
            }
            return req;
        }
        if (synthid(body, "watermark_scheme")) {
            return req.withSteps(List.of(new TournamentWatermark(tournament(body, "watermark", key, "watermark_layers",
                    "watermark_context"))));
        }
        WatermarkScheme s = scheme(body, "watermark", key, "watermark_gamma", "watermark_context",
                Json.number(body, "watermark_delta", (float) WatermarkScheme.DEFAULT_DELTA, 1e-6, 100));
        return req.withSteps(List.of(new Watermark(s)));
    }

    private static WatermarkScheme scheme(JsonNode body, String keyField, String key, String gammaField, String contextField,
                                          double delta) {
        if (key.isEmpty()) {
            throw ApiException.badRequest(keyField, "'" + keyField + "' (the watermark key) must not be empty");
        }
        double gamma = Json.number(body, gammaField, (float) WatermarkScheme.DEFAULT_GAMMA, 0.001, 0.999);
        Long context = Json.integer(body, contextField, 1, 8);
        try {
            return new WatermarkScheme(WatermarkScheme.keyOf(key), gamma, delta, context == null ? 1 : context.intValue());
        } catch (ArgonException e) {
            throw ApiException.badRequest(keyField, e.getMessage());
        }
    }

    /** @return whether the scheme field names the tournament scheme ({@code kgw}, the default, or {@code synthid}) */
    private static boolean synthid(JsonNode body, String field) {
        String name = Json.string(body, field, "kgw");
        return switch (name) {
            case "kgw" -> false;
            case "synthid" -> true;
            default -> throw ApiException.badRequest(field, "'" + field + "' is '" + name + "'; expected 'kgw' or 'synthid'");
        };
    }

    private static TournamentScheme tournament(JsonNode body, String keyField, String key, String layersField, String contextField) {
        if (key.isEmpty()) {
            throw ApiException.badRequest(keyField, "'" + keyField + "' (the watermark key) must not be empty");
        }
        Long layers = Json.integer(body, layersField, 1, 64);
        Long context = Json.integer(body, contextField, 1, 8);
        return new TournamentScheme(WatermarkScheme.keyOf(key), layers == null ? TournamentScheme.DEFAULT_LAYERS : layers.intValue(),
                context == null ? TournamentScheme.DEFAULT_CONTEXT : context.intValue());
    }

    /** {@code POST /watermark/detect}. */
    static void detect(Context ctx, Tokenizer tokenizer) {
        JsonNode body = Json.readObject(ctx, ServerConfig.MAX_REQUEST_BYTES);
        String text = Json.string(body, "text", null);
        if (text == null) {
            throw ApiException.badRequest("text", "'text' (the text to test) is required");
        }
        String key = Json.string(body, "key", null);
        if (key == null) {
            throw ApiException.badRequest("key", "'key' (the watermark key) is required");
        }
        boolean synthid = synthid(body, "scheme");
        TournamentScheme t = synthid ? tournament(body, "key", key, "layers", "context") : null;
        WatermarkScheme s = synthid ? null : scheme(body, "key", key, "gamma", "context", WatermarkScheme.DEFAULT_DELTA);
        int width = synthid ? t.contextWidth() : s.contextWidth();
        Long window = Json.integer(body, "window", 0, 1 << 20);
        if (window != null && window != 0 && window <= width + 1) {
            throw ApiException.badRequest("window", "'window' is " + window + "; it must be 0 (off) or more than "
                    + (width + 1) + " tokens");
        }
        int[] ids = tokenizer.encode(text, false, false);
        if (synthid) {
            TournamentDetector d = new TournamentDetector(t);
            ObjectNode out = score(Json.object(), d.detect(ids));
            if (window != null && window > 0) {
                ArrayNode ws = out.putArray("windows");
                for (TournamentDetector.Score w : d.windows(ids, window.intValue())) {
                    score(ws.addObject().put("start_token", w.start()).put("end_token", Math.min(ids.length, w.start() + window)), w);
                }
            }
            Json.send(ctx, 200, out);
            return;
        }
        WatermarkDetector d = new WatermarkDetector(s);
        ObjectNode out = score(Json.object(), d.detect(ids));
        if (window != null && window > 0) {
            ArrayNode ws = out.putArray("windows");
            for (WatermarkDetector.Score w : d.windows(ids, window.intValue())) {
                score(ws.addObject().put("start_token", w.start()).put("end_token", Math.min(ids.length, w.start() + window)), w);
            }
        }
        Json.send(ctx, 200, out);
    }

    private static ObjectNode score(ObjectNode o, TournamentDetector.Score s) {
        return o.put("scored_tokens", s.scored()).put("mean_g", s.meanG()).put("z_score", s.z()).put("p_value", s.pValue());
    }

    private static ObjectNode score(ObjectNode o, WatermarkDetector.Score s) {
        return o.put("scored_tokens", s.scored()).put("green_tokens", s.green()).put("green_fraction", s.greenFraction())
                .put("z_score", s.z()).put("p_value", s.pValue());
    }
}
