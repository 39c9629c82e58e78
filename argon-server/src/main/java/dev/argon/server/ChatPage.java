package dev.argon.server;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The chat page at {@code /}: three static files shipped in the jar ({@code ui/index.html},
 * {@code ui/chat.js}, {@code ui/chat.css}; no build step, nothing from a CDN) that talk to
 * {@code /v1/chat/completions} with streaming. The page itself needs no API key (it asks for
 * one and sends it with each request); a Content-Security-Policy keeps it to this server.
 */
final class ChatPage {
    /** The page's files: URL path → resource name and content type. */
    static final Map<String, String[]> FILES = Map.of(
            "/", new String[]{"ui/index.html", "text/html; charset=utf-8"},
            "/ui/chat.js", new String[]{"ui/chat.js", "text/javascript; charset=utf-8"},
            "/ui/chat.css", new String[]{"ui/chat.css", "text/css; charset=utf-8"});

    private static final String CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private final Map<String, byte[]> bytes;

    ChatPage() {
        java.util.HashMap<String, byte[]> b = new java.util.HashMap<>();
        for (Map.Entry<String, String[]> e : FILES.entrySet()) {
            try (InputStream in = ChatPage.class.getResourceAsStream(e.getValue()[0])) {
                if (in == null) {
                    throw new IllegalStateException("the chat page's " + e.getValue()[0] + " is missing from the jar");
                }
                b.put(e.getKey(), in.readAllBytes());
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
        }
        this.bytes = Map.copyOf(b);
    }

    /** @return whether {@code path} is one of the page's files (served without an API key) */
    static boolean serves(String path) {
        return FILES.containsKey(path);
    }

    /** {@code GET} of one of the page's files. */
    void serve(Context ctx) {
        String path = ctx.path();
        ctx.status(200).contentType(FILES.get(path)[1]).header("Cache-Control", "no-cache")
                .header("Content-Security-Policy", CSP).header("X-Content-Type-Options", "nosniff").result(bytes.get(path));
    }
}
