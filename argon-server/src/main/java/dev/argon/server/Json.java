package dev.argon.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * JSON plumbing of the routes: reading a request body (bounded in size) into an object, typed
 * access to its fields with 400 errors that name the field, and writing JSON responses.
 */
final class Json {
    /** The shared mapper; trailing tokens after the JSON value are an error. */
    static final ObjectMapper MAPPER = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** An oversized body is still read (and discarded) up to this size, so that the client sees the 413. */
    private static final long DRAIN_LIMIT = 64L << 20;

    private Json() {
    }

    /**
     * Reads the request body as a JSON object.
     *
     * @param maxBytes largest accepted body
     * @throws ApiException 413 for a larger body, 400 for one that is not a JSON object
     */
    static ObjectNode readObject(Context ctx, int maxBytes) {
        return parseObject(readBody(ctx, maxBytes));
    }

    /**
     * Parses a request body as a JSON object.
     *
     * @throws ApiException 400 for one that is not a JSON object
     */
    static ObjectNode parseObject(byte[] bytes) {
        JsonNode node;
        try {
            node = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            String what = e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source:[^\\]]*\\]\\)", "")
                    .replaceAll("\\s*at \\[Source:[^\\]]*\\]", "")
                    // Jackson's advice on its own parser features means nothing to a client
                    .replaceAll(":?\\s*enable\\s+`?[A-Za-z.]*Feature\\.[A-Z_]+`?\\s*(to allow)?", "")
                    // nor do its Java class names: "Trailing token (of type X) found after value (bound as `...`): not allowed as per `...`"
                    .replaceAll("^Trailing token .*", "more content after the JSON object");
            throw ApiException.badRequest(null, "the request body is not valid JSON: " + what + where);
        } catch (IOException e) {
            throw ApiException.badRequest(null, "the request body could not be read: " + e.getMessage());
        }
        if (node == null || node.isMissingNode()) {
            throw ApiException.badRequest(null, "the request body is empty; expected a JSON object");
        }
        if (!node.isObject()) {
            throw ApiException.badRequest(null, "the request body must be a JSON object");
        }
        return (ObjectNode) node;
    }

    private static byte[] readBody(Context ctx, int maxBytes) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > DRAIN_LIMIT) {
            ctx.header("Connection", "close");
            throw tooLarge(declared, maxBytes);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(declared > 0 && declared <= maxBytes ? (int) declared : 8192);
        long total = 0;
        byte[] buf = new byte[65536];
        try {
            InputStream in = ctx.req().getInputStream();
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total <= maxBytes) {
                    out.write(buf, 0, n);
                } else if (total > DRAIN_LIMIT) {
                    ctx.header("Connection", "close");
                    break;
                }
            }
        } catch (IOException e) {
            throw ApiException.badRequest(null, "the request body could not be read: " + e.getMessage());
        }
        if (total > maxBytes) {
            throw tooLarge(total, maxBytes);
        }
        return out.toByteArray();
    }

    private static ApiException tooLarge(long size, int maxBytes) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "the request body is larger than the limit of " + maxBytes + " bytes (" + (maxBytes / 1048576) + " MiB)");
    }

    /** @return the boolean field, or {@code dflt} when absent or null */
    static boolean bool(JsonNode body, String name, boolean dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiException.badRequest(name, "'" + name + "' must be true or false");
        }
        return v.booleanValue();
    }

    /** @return the string field, or {@code dflt} when absent or null */
    static String string(JsonNode body, String name, String dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw ApiException.badRequest(name, "'" + name + "' must be a string");
        }
        return v.textValue();
    }

    /** @return the number field, or {@code dflt} when absent or null */
    static float number(JsonNode body, String name, float dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiException.badRequest(name, "'" + name + "' must be a number");
        }
        double d = v.doubleValue();
        if (!(Math.abs(d) <= Float.MAX_VALUE)) {
            // not Infinity in a later message: the client never sent that
            throw ApiException.badRequest(name, "'" + name + "' is " + shown(v) + "; it must be a number within the range of a 32-bit float");
        }
        return (float) d;
    }

    /** @return the integer field (a whole number such as {@code 16} or {@code 16.0}), or null when absent or null */
    static Long integer(JsonNode body, String name) {
        return integer(body, name, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /**
     * @return the integer field (a whole number such as {@code 16} or {@code 16.0}) within
     *     {@code [min, max]}, or null when absent or null
     * @throws ApiException 400 naming the field and the valid range when it is out of range (also
     *     when it overflows a 64-bit integer), or naming the field when it is not a whole number
     */
    static Long integer(JsonNode body, String name, long min, long max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        java.math.BigInteger value = null;
        if (v.isIntegralNumber()) {
            value = v.bigIntegerValue();
        } else if (v.isNumber() && Double.isFinite(v.doubleValue()) && v.doubleValue() == Math.rint(v.doubleValue())) {
            value = new java.math.BigDecimal(v.doubleValue()).toBigInteger();
        }
        if (value == null) {
            boolean anyLong = min == Long.MIN_VALUE && max == Long.MAX_VALUE;
            throw ApiException.badRequest(name, "'" + name + "' must be an integer" + (anyLong ? "" : " between " + min + " and " + max));
        }
        if (value.compareTo(java.math.BigInteger.valueOf(min)) < 0 || value.compareTo(java.math.BigInteger.valueOf(max)) > 0) {
            throw ApiException.badRequest(name, "'" + name + "' is " + value + "; it must be an integer between " + min + " and " + max);
        }
        return value.longValue();
    }

    /**
     * @return the number field within {@code [min, max]}, or {@code dflt} when absent or null
     * @throws ApiException 400 naming the field and the valid range
     */
    static float number(JsonNode body, String name, float dflt, double min, double max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiException.badRequest(name, "'" + name + "' must be a number between " + plain(min) + " and " + plain(max));
        }
        double d = v.doubleValue();
        if (!(d >= min && d <= max)) {
            throw ApiException.badRequest(name, "'" + name + "' is " + shown(v) + "; it must be a number between "
                    + plain(min) + " and " + plain(max));
        }
        return (float) d;
    }

    /** @return the number as the client may have written it: a value beyond a double's range (parsed as Infinity) is named so */
    private static String shown(JsonNode v) {
        return Double.isFinite(v.doubleValue()) ? v.asText() : "beyond the range of a number";
    }

    /** {@code 2.0} as {@code 2}, {@code 0.5} as {@code 0.5}. */
    private static String plain(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    /** @return {@code node} as compact JSON text */
    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sets the response to {@code node} with {@code status}. */
    static void send(Context ctx, int status, JsonNode node) {
        ctx.status(status).contentType("application/json").result(write(node));
    }

    /** @return a new empty object node */
    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }
}
