package dev.argon.server;

import io.javalin.http.Context;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Finds out whether the client of a non-streaming request is still connected, while its answer
 * is being generated and nothing has been written yet. (A stream finds out when a write fails;
 * a plain JSON answer writes nothing until the end, and Jetty does not read from a connection
 * whose request is being handled, so a client that closed its socket goes unnoticed.)
 *
 * <p>The probe reads from the connection without blocking: end of input (the client closed or
 * shut down its side) or an error means the client is gone. A client waiting for its answer
 * sends nothing, so nothing is lost; bytes that do arrive (a pipelined next request) cannot be
 * put back, so the probe stops looking and the answer asks to close the connection
 * ({@code Connection: close}), after which an HTTP/1.1 client retries what it pipelined
 * (RFC 9112, section 9.3.2). Probes run at most every {@value #INTERVAL_MS} ms. Thread-safe.
 */
final class ConnectionProbe {
    /** Least time between two reads of the connection. */
    static final long INTERVAL_MS = 50;

    private final EndPoint endPoint;
    private volatile boolean gone;
    private boolean stopped;
    private long lastProbe;

    private ConnectionProbe(EndPoint endPoint) {
        this.endPoint = endPoint;
        this.stopped = endPoint == null;
    }

    /** @return a probe of the connection {@code ctx} arrived on (one that never finds it gone if that is not a Jetty connection) */
    static ConnectionProbe of(Context ctx) {
        EndPoint ep = null;
        try {
            Request base = Request.getBaseRequest(ctx.req());
            if (base != null && base.getHttpChannel() != null) {
                ep = base.getHttpChannel().getEndPoint();
            }
        } catch (RuntimeException e) {
            ep = null;
        }
        return new ConnectionProbe(ep);
    }

    /** @return whether the client is gone, probing the connection unless it was probed less than {@value #INTERVAL_MS} ms ago */
    boolean gone() {
        if (gone) {
            return true;
        }
        synchronized (this) {
            long now = System.nanoTime();
            if (stopped || now - lastProbe < INTERVAL_MS * 1_000_000L) {
                return gone;
            }
            lastProbe = now;
            if (!endPoint.isOpen() || endPoint.isInputShutdown()) {
                gone = true;
                return true;
            }
            try {
                ByteBuffer buf = BufferUtil.allocate(64);
                int n = endPoint.fill(buf);
                if (n < 0) {
                    gone = true;
                } else if (n > 0) {
                    stopped = true; // the client sent more: cannot tell any more; see class comment
                }
            } catch (IOException | RuntimeException e) {
                gone = true;
            }
            return gone;
        }
    }

    /** @return whether an earlier probe found the client gone (no new probe: cheap enough for every scheduler step) */
    boolean knownGone() {
        return gone;
    }

    /** @return whether bytes after the request were read (and lost): the answer must close the connection */
    synchronized boolean readAhead() {
        return stopped && endPoint != null && !gone;
    }
}
