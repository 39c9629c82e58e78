package dev.argon.spark;

import dev.argon.TestFiles;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.Generator;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ArgonCompletion} in Spark {@code local[2]} (two tasks in one executor JVM) on stories260K:
 * greedy completions equal a single-sequence {@link Generator}'s, the model is loaded once for both
 * partitions, and bad rows get an error instead of failing the job.
 */
@Timeout(180)
class ArgonCompletionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "tinyllamas/stories260K/stories260K.gguf";

    @TempDir
    Path dir;

    @Test
    void completesAPromptColumnInLocal2WithOneModelLoadPerJvm() throws Exception {
        Path model = TestFiles.model(MODEL);
        List<String> prompts = new ArrayList<>(List.of("Once upon a time", "Tim wanted to", "Lily", "The dog",
                "One day, a big red ball", "The sun was", "Sam and Mia went to the park", "She liked"));
        StringBuilder tooLong = new StringBuilder();
        for (int i = 0; i < 80; i++) {
            tooLong.append("cat ");
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            rows.add(RowFactory.create(i, prompts.get(i)));
        }
        rows.add(RowFactory.create(100, null));
        rows.add(RowFactory.create(101, tooLong.toString()));

        SparkSession spark = SparkSession.builder().master("local[2]").appName("argon-spark-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        Map<Integer, Row> out = new HashMap<>();
        Map<String, String> fromFile = new HashMap<>();
        int loadsBefore = ExecutorEngine.loads();
        try {
            Dataset<Row> df = spark.createDataFrame(rows, schema); // local[2]: two partitions, two tasks at once
            assertThat(df.rdd().getNumPartitions()).isEqualTo(2);
            ArgonCompletion argon = new ArgonCompletion().setModelPath(model.toString()).setMaxTokens(16).setTemperature(0)
                    .setParallel(3).setContextSize(64).setThreads(2).setErrorCol("error");
            Dataset<Row> result = argon.transform(df);
            assertThat(result.schema().fieldNames()).containsExactly("id", "prompt", "completion", "error");
            for (Row r : result.collectAsList()) {
                out.put(r.getInt(0), r);
            }
            // the spark-submit entry point on a text file, with the same settings: the same engine, the same texts
            Path input = dir.resolve("prompts.txt");
            Files.write(input, prompts);
            SparkBatch.run(spark, SparkBatch.options(new String[]{"--model", model.toString(), "--input", input.toString(),
                    "--output", dir.resolve("out").toString(), "--max-tokens", "16", "--temperature", "0", "--parallel", "3",
                    "--ctx-size", "64", "--threads", "2"}));
            try (var parts = Files.list(dir.resolve("out"))) {
                for (Path part : parts.filter(f -> f.getFileName().toString().startsWith("part-")).toList()) {
                    for (String line : Files.readAllLines(part)) {
                        JsonNode row = JSON.readTree(line);
                        fromFile.put(row.get("prompt").asText(), row.get("completion").asText());
                    }
                }
            }
            // a missing input column is refused on the driver, naming it
            assertThatThrownBy(() -> new ArgonCompletion().setModelPath(model.toString()).setInputCol("text").transform(df))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("input column 'text' is not in the data");
        } finally {
            spark.stop();
        }
        assertThat(ExecutorEngine.loads() - loadsBefore).as("models loaded in this JVM").isEqualTo(1);
        assertThat(out).hasSize(prompts.size() + 2);
        assertThat(fromFile).hasSize(prompts.size());

        try (LanguageModel m = Models.load(model, new ModelOptions(2, true))) {
            Generator g = new Generator(m, KvCache.Precision.F16);
            for (int i = 0; i < prompts.size(); i++) {
                GenerationRequest req = GenerationRequest.of(prompts.get(i), 16, SamplingParams.greedy());
                String expected = g.generate(req, 64, text -> { }).text();
                assertThat(out.get(i).getString(2)).as("prompt %s", prompts.get(i)).isEqualTo(expected).isNotEmpty();
                assertThat(out.get(i).isNullAt(3)).isTrue();
                assertThat(fromFile.get(prompts.get(i))).isEqualTo(expected);
            }
        }
        assertThat(out.get(100).isNullAt(2)).isTrue();
        assertThat(out.get(100).getString(3)).isEqualTo("the prompt is null");
        assertThat(out.get(101).isNullAt(2)).isTrue();
        assertThat(out.get(101).getString(3)).contains("the prompt is").contains("context holds 64");
    }
}
