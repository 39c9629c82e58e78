package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A newline-delimited JSON response ({@code application/x-ndjson}, one object per line), as
 * Ollama streams its answers. The status line and headers go out with the first line, so a
 * request refused before any output still gets an ordinary JSON error. A failed write marks the
 * client as gone; later lines are dropped. Thread-safe.
 */
final class NdjsonStream {
    private final Context ctx;
    private OutputStream out;
    private volatile boolean gone;

    NdjsonStream(Context ctx) {
        this.ctx = ctx;
    }

    /** @return whether the status and headers have been sent */
    synchronized boolean started() {
        return out != null;
    }

    /** @return whether the client went away (a write failed) */
    boolean gone() {
        return gone;
    }

    /** Sends one line holding {@code node}. */
    synchronized void send(JsonNode node) {
        if (gone) {
            return;
        }
        try {
            if (out == null) {
                ctx.status(200);
                ctx.res().setContentType("application/x-ndjson");
                ctx.res().setHeader("Cache-Control", "no-cache");
                ctx.res().setHeader("X-Accel-Buffering", "no");
                out = ctx.res().getOutputStream();
            }
            out.write((Json.write(node) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException | RuntimeException e) {
            gone = true;
        }
    }
}
