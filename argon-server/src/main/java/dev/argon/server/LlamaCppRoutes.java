package dev.argon.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.argon.sampling.SamplingParams;

/**
 * llama.cpp server's introspection routes, with its field names: {@code GET /props} (the server's
 * default generation settings, slots, model file and chat template) and {@code GET /slots} (one
 * entry per generation slot). Fields Argon has no counterpart for are left out.
 */
final class LlamaCppRoutes {
    private LlamaCppRoutes() {
    }

    /** {@code GET /props}. */
    static ObjectNode props(ServerConfig config, ModelRoutes routes) {
        ObjectNode out = Json.object();
        ObjectNode d = out.putObject("default_generation_settings");
        d.put("n_ctx", routes.engine().contextLength());
        d.set("params", params(config.defaultSampling()));
        out.put("total_slots", routes.engine().stats().slots());
        out.put("model_path", config.modelPath() == null ? config.modelId() : config.modelPath());
        out.put("model_alias", config.modelId());
        out.put("chat_template", routes.template().source());
        out.put("bos_token", routes.template().bosToken());
        out.put("eos_token", routes.template().eosToken());
        out.put("build_info", "argon");
        out.putObject("modalities").put("vision", false).put("audio", false);
        return out;
    }

    /**
     * {@code GET /slots}: slot {@code id}, {@code n_ctx}, {@code is_processing} and the default
     * {@code params}. The engine reports how many slots are busy, not which: the first that many
     * ids are shown as processing.
     */
    static ArrayNode slots(ServerConfig config, ModelRoutes routes) {
        Engine.Stats st = routes.engine().stats();
        ArrayNode out = Json.MAPPER.createArrayNode();
        for (int i = 0; i < st.slots(); i++) {
            ObjectNode s = out.addObject();
            s.put("id", i);
            s.put("n_ctx", routes.engine().contextLength());
            s.put("is_processing", i < st.activeSequences());
            s.set("params", params(config.defaultSampling()));
        }
        return out;
    }

    private static ObjectNode params(SamplingParams p) {
        return Json.object().put("temperature", p.temperature()).put("top_k", p.topK()).put("top_p", p.topP())
                .put("min_p", p.minP()).put("repeat_penalty", p.repeatPenalty()).put("repeat_last_n", p.repeatLastN())
                .put("presence_penalty", p.presencePenalty()).put("frequency_penalty", p.frequencyPenalty())
                .put("seed", p.seed());
    }
}
