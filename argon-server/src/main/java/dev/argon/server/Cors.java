package dev.argon.server;

import io.javalin.http.Context;

import java.util.List;

/**
 * Cross-origin resource sharing (the Fetch standard's CORS protocol) for the origins given with
 * {@code --cors-origin}: matching requests get {@code Access-Control-Allow-Origin}, and
 * {@code OPTIONS} preflights are answered 204 with the allowed methods and headers (403 naming the
 * origin when it is not allowed). With no origins configured nothing is added and
 * {@code OPTIONS} stays a 405, as before.
 */
final class Cors {
    /** How long a browser may cache a preflight answer, in seconds. */
    static final int MAX_AGE_SECONDS = 600;

    private final List<String> origins;
    private final boolean any;

    /** @param origins allowed origins such as {@code http://localhost:3000}; {@code *} allows any */
    Cors(List<String> origins) {
        this.origins = List.copyOf(origins);
        this.any = origins.contains("*");
    }

    /** @return whether any origin is allowed at all */
    boolean enabled() {
        return !origins.isEmpty();
    }

    private boolean allows(String origin) {
        return origin != null && (any || origins.contains(origin));
    }

    /** Before every request: the allow-origin header for an allowed {@code Origin}. */
    void headers(Context ctx) {
        String origin = ctx.header("Origin");
        if (!enabled() || !allows(origin)) {
            return;
        }
        ctx.header("Access-Control-Allow-Origin", any ? "*" : origin);
        if (!any) {
            ctx.header("Vary", "Origin");
        }
    }

    /** {@code OPTIONS} on any path: the preflight answer. */
    void preflight(Context ctx) {
        String origin = ctx.header("Origin");
        if (!allows(origin)) {
            throw new ApiException(403, "invalid_request_error", null, "origin_not_allowed",
                    origin == null ? "an OPTIONS request needs an 'Origin' header (CORS preflight)"
                            : "origin '" + origin + "' is not allowed; start the server with --cors-origin " + origin);
        }
        String asked = ctx.header("Access-Control-Request-Headers");
        ctx.header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        ctx.header("Access-Control-Allow-Headers", asked == null || asked.isBlank() ? "Authorization, Content-Type" : asked);
        ctx.header("Access-Control-Max-Age", Integer.toString(MAX_AGE_SECONDS));
        ctx.status(204);
    }
}
