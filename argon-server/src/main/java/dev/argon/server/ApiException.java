package dev.argon.server;

/**
 * A request failure reported to the client as OpenAI's error object
 * {@code {"error": {"message", "type", "param", "code"}}} with an HTTP status.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    /**
     * @param status HTTP status
     * @param type OpenAI error type, such as {@code invalid_request_error}
     * @param param the offending request field, or null
     * @param code a short machine-readable code, or null
     */
    public ApiException(int status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** @return a 400 {@code invalid_request_error} about {@code param} */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message);
    }

    /** @return a 503 {@code server_busy}: over capacity (the wait queue is full); retry later */
    public static ApiException overloaded(String message) {
        return new ApiException(503, "server_error", null, "server_busy", message);
    }

    /** @return a 503 {@code unavailable}: the engine cannot take the request now (closed, stopping, interrupted) */
    public static ApiException unavailable(String message) {
        return new ApiException(503, "server_error", null, "unavailable", message);
    }

    /** @return the HTTP status */
    public int status() {
        return status;
    }

    /** @return the OpenAI error type */
    public String type() {
        return type;
    }

    /** @return the offending field, or null */
    public String param() {
        return param;
    }

    /** @return the error code, or null */
    public String code() {
        return code;
    }
}
