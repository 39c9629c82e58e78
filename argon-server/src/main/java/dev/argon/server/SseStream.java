package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A Server-Sent Events response ({@code data: JSON} events, {@code data: [DONE]} at the end).
 * Events either go out at once ({@link #send}) or gather in the response buffer until
 * {@link #flush} ({@link #buffer}): a stream that fell behind by several tokens sends them in one
 * write.
 * The status line and headers go out with the first event, so a request refused before any
 * output still gets an ordinary JSON error. A failed write marks the client as gone; later
 * events are dropped. Thread-safe.
 */
final class SseStream {
    private final Context ctx;
    private OutputStream out;
    private volatile boolean gone;

    SseStream(Context ctx) {
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

    /** Sends one event with {@code node} as its data. */
    void send(JsonNode node) {
        write(Json.write(node), true);
    }

    /**
     * Writes one event with {@code node} as its data into the response buffer; it goes out at
     * the next {@link #flush}, {@link #send} or {@link #done} (or when the buffer fills).
     */
    void buffer(JsonNode node) {
        write(Json.write(node), false);
    }

    /** Sends what {@link #buffer} gathered. */
    synchronized void flush() {
        if (gone || out == null) {
            return;
        }
        try {
            out.flush();
        } catch (IOException | RuntimeException e) {
            gone = true;
        }
    }

    /**
     * Sends an SSE comment line ({@code : ping}, which clients ignore) to find out whether the
     * client is still connected; starts the response if nothing was sent yet.
     *
     * @return false if the client is gone
     */
    boolean ping() {
        writeRaw(": ping\n\n", true);
        return !gone;
    }

    /** Sends {@code data: [DONE]}. */
    void done() {
        write("[DONE]", true);
    }

    private void write(String data, boolean flush) {
        writeRaw("data: " + data + "\n\n", flush);
    }

    private synchronized void writeRaw(String text, boolean flush) {
        if (gone) {
            return;
        }
        try {
            if (out == null) {
                ctx.status(200);
                ctx.res().setContentType("text/event-stream; charset=utf-8");
                ctx.res().setHeader("Cache-Control", "no-cache");
                ctx.res().setHeader("X-Accel-Buffering", "no");
                out = ctx.res().getOutputStream();
            }
            out.write(text.getBytes(StandardCharsets.UTF_8));
            if (flush) {
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            gone = true;
        }
    }
}
