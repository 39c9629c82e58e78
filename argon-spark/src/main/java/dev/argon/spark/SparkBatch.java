package dev.argon.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.HashMap;
import java.util.Map;

/**
 * The {@code spark-submit} entry point: completes a text file of prompts (one per line) with
 * {@link ArgonCompletion} and writes JSON Lines {@code {"prompt", "completion", "error"}} to a
 * directory (Spark's part files).
 *
 * <pre>
 * spark-submit --class dev.argon.spark.SparkBatch --master spark://HOST:7077 \
 *   --conf spark.executor.extraJavaOptions="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED" \
 *   --conf spark.driver.extraJavaOptions="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED" \
 *   --files /models/model.gguf argon-spark/target/argon-spark.jar \
 *   --model model.gguf --input prompts.txt --output out/ --max-tokens 64 --temperature 0 --parallel 8
 * </pre>
 *
 * Options: {@code --model} (required; a path every executor can read, or the name of a file given
 * with {@code --files}), {@code --input} (required), {@code --output} (required, must not exist),
 * {@code --max-tokens} (256), {@code --temperature} (0.8), {@code --top-k}, {@code --top-p},
 * {@code --min-p}, {@code --seed}, {@code --parallel} (8), {@code --batch-size} (256),
 * {@code --ctx-size} (2048), {@code --threads} (0: all cores), {@code --partitions} (the input's).
 * A bad option exits with code 2 and one line on standard error.
 */
public final class SparkBatch {
    private SparkBatch() {
    }

    public static void main(String[] args) {
        Map<String, String> o;
        try {
            o = options(args);
        } catch (IllegalArgumentException e) {
            System.err.println("argon-spark: error: " + e.getMessage());
            System.exit(2);
            return;
        }
        SparkSession spark = SparkSession.builder().appName("argon batch").getOrCreate();
        try {
            run(spark, o);
        } finally {
            spark.stop();
        }
    }

    /** Runs the job on {@code spark} with parsed options (the names of {@link SparkBatch}'s options, without dashes). */
    static void run(SparkSession spark, Map<String, String> o) {
        Dataset<Row> prompts = spark.read().text(o.get("input")).withColumnRenamed("value", "prompt");
        if (o.containsKey("partitions")) {
            prompts = prompts.repartition(Integer.parseInt(o.get("partitions")));
        }
        ArgonCompletion argon = new ArgonCompletion().setModelPath(o.get("model")).setErrorCol("error")
                .setMaxTokens(Integer.parseInt(o.getOrDefault("max-tokens", "256")))
                .setParallel(Integer.parseInt(o.getOrDefault("parallel", "8")))
                .setBatchTokens(Integer.parseInt(o.getOrDefault("batch-size", "256")))
                .setContextSize(Integer.parseInt(o.getOrDefault("ctx-size", "2048")))
                .setThreads(Integer.parseInt(o.getOrDefault("threads", "0")));
        if (o.containsKey("temperature")) {
            argon.setTemperature(Double.parseDouble(o.get("temperature")));
        }
        if (o.containsKey("top-k")) {
            argon.setTopK(Integer.parseInt(o.get("top-k")));
        }
        if (o.containsKey("top-p")) {
            argon.setTopP(Double.parseDouble(o.get("top-p")));
        }
        if (o.containsKey("min-p")) {
            argon.setMinP(Double.parseDouble(o.get("min-p")));
        }
        if (o.containsKey("seed")) {
            argon.setSeed(Long.parseLong(o.get("seed")));
        }
        argon.transform(prompts).write().json(o.get("output"));
    }

    private static final java.util.Set<String> NAMES = java.util.Set.of("model", "input", "output", "max-tokens", "temperature",
            "top-k", "top-p", "min-p", "seed", "parallel", "batch-size", "ctx-size", "threads", "partitions");

    /** @throws IllegalArgumentException for an unknown option, a missing value or a missing required option */
    static Map<String, String> options(String[] args) {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || !NAMES.contains(a.substring(2))) {
                throw new IllegalArgumentException("unknown option '" + a + "'; options: --" + String.join(", --", new java.util.TreeSet<>(NAMES)));
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            o.put(a.substring(2), args[++i]);
        }
        for (String required : new String[]{"model", "input", "output"}) {
            if (!o.containsKey(required)) {
                throw new IllegalArgumentException("--" + required + " is required");
            }
        }
        for (String number : new String[]{"max-tokens", "temperature", "top-k", "top-p", "min-p", "seed", "parallel",
                "batch-size", "ctx-size", "threads", "partitions"}) {
            String v = o.get(number);
            if (v != null) {
                try {
                    Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--" + number + " is '" + v + "'; expected a number");
                }
            }
        }
        return o;
    }
}
