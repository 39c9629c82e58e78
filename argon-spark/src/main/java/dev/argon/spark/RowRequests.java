package dev.argon.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.ArgonException;
import dev.argon.generate.FinishReason;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.sampling.SamplingParams;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON text of {@link ArgonCompletion}'s per-row columns.
 *
 * <p>Request column (one object per row; every field optional, a missing one takes the
 * transformer's param): {@code max_tokens}, {@code temperature}, {@code top_k}, {@code top_p},
 * {@code min_p}, {@code repeat_penalty}, {@code repeat_last_n}, {@code presence_penalty},
 * {@code frequency_penalty}, {@code seed}, {@code stop} (array of strings), {@code logit_bias}
 * (object token id → bias). The names are the OpenAI / llama.cpp server's. For a prompt given as
 * token ids, {@code prompt_text_empty} (boolean, default false) says that the text they came from
 * was empty: a SentencePiece model then drops the space before the first generated word, as
 * {@code generate} does for an empty prompt.
 *
 * <p>Detail column (one object per finished row): {@code finish_reason} (Argon's
 * {@link FinishReason} name), {@code prompt_tokens}, {@code cached_tokens}, {@code seed} and
 * {@code tokens} (the generated token ids).
 */
final class RowRequests {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("max_tokens", "temperature", "top_k", "top_p", "min_p", "repeat_penalty",
            "repeat_last_n", "presence_penalty", "frequency_penalty", "seed", "stop", "logit_bias", "prompt_text_empty");
    /** The prompt text of a request whose prompt is given as token ids (only its being non-empty matters). */
    static final String TOKEN_IDS_PROMPT = "(token ids)";

    private RowRequests() {
    }

    /** @return the request column's text for {@code r} (its prompt, log-probabilities, steps and constraint are not carried) */
    static String encode(GenerationRequest r) {
        SamplingParams p = r.sampling();
        ObjectNode o = JSON.createObjectNode();
        o.put("max_tokens", r.maxTokens());
        o.put("temperature", p.temperature());
        o.put("top_k", p.topK());
        o.put("top_p", p.topP());
        o.put("min_p", p.minP());
        o.put("repeat_penalty", p.repeatPenalty());
        o.put("repeat_last_n", p.repeatLastN());
        o.put("presence_penalty", p.presencePenalty());
        o.put("frequency_penalty", p.frequencyPenalty());
        o.put("seed", p.seed());
        o.put("prompt_text_empty", r.prompt().isEmpty());
        ArrayNode stop = o.putArray("stop");
        r.stop().forEach(stop::add);
        if (p.logitBias() != null && !p.logitBias().isEmpty()) {
            ObjectNode bias = o.putObject("logit_bias");
            p.logitBias().forEach((k, v) -> bias.put(Integer.toString(k), v));
        }
        return o.toString();
    }

    /**
     * @param json a row's request text, or null for {@code defaults} unchanged
     * @param defaults the transformer's params as a request (its prompt is kept)
     * @throws ArgonException naming the field when the text is not such an object or a value is invalid
     */
    static GenerationRequest decode(String json, GenerationRequest defaults) {
        if (json == null) {
            return defaults;
        }
        JsonNode o;
        try {
            o = JSON.readTree(json);
        } catch (IOException e) {
            String why = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new ArgonException("the request column is not valid JSON: " + why);
        }
        if (o == null || !o.isObject()) {
            throw new ArgonException("the request column must be a JSON object");
        }
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new ArgonException("the request column has an unknown field '" + f + "'; known: "
                        + String.join(", ", new java.util.TreeSet<>(FIELDS)));
            }
        }
        SamplingParams d = defaults.sampling();
        Map<Integer, Float> bias = d.logitBias();
        if (o.has("logit_bias")) {
            JsonNode b = o.get("logit_bias");
            if (!b.isObject()) {
                throw new ArgonException("the request column's 'logit_bias' must be an object of token id to bias");
            }
            bias = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = b.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                try {
                    bias.put(Integer.parseInt(e.getKey()), num(e.getValue(), "logit_bias." + e.getKey()).floatValue());
                } catch (NumberFormatException nfe) {
                    throw new ArgonException("the request column's 'logit_bias' key '" + e.getKey() + "' is not a token id");
                }
            }
        }
        List<String> stop = defaults.stop();
        if (o.has("stop")) {
            JsonNode s = o.get("stop");
            if (!s.isArray()) {
                throw new ArgonException("the request column's 'stop' must be an array of strings");
            }
            stop = new ArrayList<>();
            for (JsonNode t : s) {
                if (!t.isTextual()) {
                    throw new ArgonException("the request column's 'stop' must be an array of strings");
                }
                stop.add(t.textValue());
            }
        }
        SamplingParams p = new SamplingParams(
                f(o, "temperature", d.temperature()), i(o, "top_k", d.topK()), f(o, "top_p", d.topP()), f(o, "min_p", d.minP()),
                f(o, "repeat_penalty", d.repeatPenalty()), i(o, "repeat_last_n", d.repeatLastN()),
                o.has("seed") ? num(o.get("seed"), "seed").longValue() : d.seed(),
                f(o, "presence_penalty", d.presencePenalty()), f(o, "frequency_penalty", d.frequencyPenalty()), bias);
        GenerationRequest r = new GenerationRequest(defaults.prompt(), i(o, "max_tokens", defaults.maxTokens()), p, stop,
                defaults.addSpecial(), -1);
        r.validate();
        return r;
    }

    /**
     * @return the prompt text standing for token ids: empty when the request column says the text
     *     they came from was empty, else {@link #TOKEN_IDS_PROMPT}
     */
    static String tokenIdsPrompt(String json) {
        if (json == null) {
            return TOKEN_IDS_PROMPT;
        }
        try {
            JsonNode o = JSON.readTree(json);
            return o != null && o.path("prompt_text_empty").asBoolean(false) ? "" : TOKEN_IDS_PROMPT;
        } catch (IOException e) {
            return TOKEN_IDS_PROMPT; // decode reports the bad JSON
        }
    }

    private static Number num(JsonNode v, String name) {
        if (v == null || !v.isNumber()) {
            throw new ArgonException("the request column's '" + name + "' must be a number");
        }
        return v.numberValue();
    }

    private static float f(JsonNode o, String name, float d) {
        return o.has(name) ? num(o.get(name), name).floatValue() : d;
    }

    private static int i(JsonNode o, String name, int d) {
        if (!o.has(name)) {
            return d;
        }
        JsonNode v = o.get(name);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new ArgonException("the request column's '" + name + "' must be an integer");
        }
        return v.intValue();
    }

    /** @return the detail column's text for a finished generation */
    static String detail(GenerationResult r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("finish_reason", r.finishReason().name());
        o.put("prompt_tokens", r.promptTokens().length);
        o.put("cached_tokens", r.cachedPromptTokens());
        o.put("seed", r.seed());
        ArrayNode t = o.putArray("tokens");
        for (int id : r.generatedTokens()) {
            t.add(id);
        }
        return o.toString();
    }

    /**
     * @return the generation a row's completion and detail column describe (no timings)
     * @param promptIds the row's prompt token ids
     */
    static GenerationResult result(String text, String detail, int[] promptIds) {
        try {
            JsonNode o = JSON.readTree(detail);
            JsonNode t = o.get("tokens");
            int[] tokens = new int[t.size()];
            for (int k = 0; k < tokens.length; k++) {
                tokens[k] = t.get(k).intValue();
            }
            return new GenerationResult(text, promptIds, tokens, FinishReason.valueOf(o.get("finish_reason").textValue()),
                    0, 0, o.get("seed").longValue(), o.get("cached_tokens").intValue());
        } catch (IOException | RuntimeException e) {
            throw new ArgonException("an executor's result is unreadable: " + e.getMessage());
        }
    }
}
