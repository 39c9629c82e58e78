package dev.argon.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;

/** Reads llama.cpp's greedy reference files in {@code shared/reference} (format in its README). */
record Reference(String prompt, int[] promptIds, int[] generatedIds, String text, double[][][] top5) {

    static List<Reference> read(Path file) {
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            List<Reference> out = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                JsonNode top = c.get("top5");
                double[][][] top5 = new double[top.size()][][];
                for (int i = 0; i < top.size(); i++) {
                    top5[i] = new double[top.get(i).size()][];
                    for (int j = 0; j < top.get(i).size(); j++) {
                        top5[i][j] = new double[]{top.get(i).get(j).get(0).asDouble(), top.get(i).get(j).get(1).asDouble()};
                    }
                }
                out.add(new Reference(c.get("prompt").asText(), ints(c.get("prompt_token_ids")),
                        ints(c.get("generated_token_ids")), c.get("text").asText(), top5));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return natural-log softmax of the logits, computed in double */
    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - lse;
        }
        return out;
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
