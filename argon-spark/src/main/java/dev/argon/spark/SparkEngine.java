package dev.argon.spark;

import dev.argon.ArgonException;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.OfflineEngine;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * {@code argon batch --engine spark}: the batch command's generations run through
 * {@link ArgonCompletion} on a Spark session ({@code --master local[2]} in this process, or a
 * cluster's master). Each call of {@link #run} is one Spark job over a data frame of
 * {@code (id, prompt token ids, request JSON)} rows, split into the session's default
 * parallelism; the executors load the model once per JVM ({@link ExecutorEngine}) and the
 * results come back to the driver with {@code collect}.
 *
 * <p>Log-probabilities, grammars / JSON schemas, tools with a forced call, classifier-free
 * guidance and custom sampler steps are not carried to the executors: such requests are
 * {@link #unsupported}.
 */
public final class SparkEngine implements OfflineEngine {
    /** The {@link OfflineEngine.Provider} of {@code spark} (listed in {@code META-INF/services}). */
    public static final class Provider implements OfflineEngine.Provider {
        /** For {@link java.util.ServiceLoader}. */
        public Provider() {
        }

        @Override
        public String name() {
            return "spark";
        }

        @Override
        public OfflineEngine open(Options options) {
            return new SparkEngine(options);
        }
    }

    private static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, true), false)
            .add("request", DataTypes.StringType, false);

    private final SparkSession spark;
    private final boolean ownSession;
    private final Options options;

    private SparkEngine(Options options) {
        this.options = options;
        boolean existed = SparkSession.getActiveSession().isDefined() || SparkSession.getDefaultSession().isDefined();
        if (!existed && System.getProperty("log4j2.configurationFile") == null) {
            quietLogging();
        }
        try {
            this.spark = SparkSession.builder().master(options.master()).appName("argon batch")
                    .config("spark.ui.enabled", "false").getOrCreate();
        } catch (RuntimeException e) {
            throw new ArgonException("cannot start Spark with --master " + options.master() + ": " + e.getMessage());
        }
        this.ownSession = !existed;
    }

    /** Spark's INFO lines would bury the command's own output: warnings and errors only, unless the user configured log4j. */
    private static void quietLogging() {
        System.setProperty("log4j2.configurationFile", "argon-spark-log4j2.properties"); // in argon-spark's jar
        try {
            org.apache.logging.log4j.core.config.Configurator.reconfigure();
        } catch (LinkageError noLog4jCore) {
            // another logging back end: leave it as configured
        }
    }

    @Override
    public String unsupported(GenerationRequest r) {
        if (r.logprobs() >= 0) {
            return "'logprobs' / 'top_logprobs'";
        }
        if (r.constraint() != null) {
            return "a grammar, JSON schema or forced tool call";
        }
        if (r.guidance() != null) {
            return "classifier-free guidance ('guidance_scale')";
        }
        if (!r.steps().isEmpty()) {
            return "custom sampler steps";
        }
        return null;
    }

    @Override
    public void run(List<Job> jobs, BiConsumer<Job, Outcome> done) {
        if (jobs.isEmpty()) {
            return;
        }
        Map<Long, Job> byId = new HashMap<>();
        List<Row> rows = new ArrayList<>(jobs.size());
        for (Job j : jobs) {
            byId.put(j.id(), j);
            List<Integer> ids = new ArrayList<>(j.promptIds().length);
            for (int id : j.promptIds()) {
                ids.add(id);
            }
            rows.add(RowFactory.create(j.id(), ids, RowRequests.encode(j.request())));
        }
        Dataset<Row> df = spark.createDataFrame(rows, SCHEMA);
        ArgonCompletion argon = new ArgonCompletion().setModelPath(options.model().toAbsolutePath().toString())
                .setInputCol("ids").setRequestCol("request").setOutputCol("completion").setErrorCol("error")
                .setDetailCol("detail").setParallel(options.parallel()).setBatchTokens(options.batchTokens())
                .setContextSize(options.contextLength()).setThreads(options.threads()).setCacheType(options.cacheType());
        List<Row> out;
        try {
            out = argon.transform(df).select("id", "completion", "error", "detail").collectAsList();
        } catch (RuntimeException e) {
            throw new ArgonException("the Spark job failed: " + e.getMessage());
        }
        for (Row r : out) {
            Job j = byId.get(r.getLong(0));
            if (r.isNullAt(3)) {
                done.accept(j, new Outcome(null, r.isNullAt(2) ? "no result" : r.getString(2)));
            } else {
                done.accept(j, new Outcome(RowRequests.result(r.getString(1), r.getString(3), j.promptIds()), null));
            }
        }
    }

    @Override
    public void close() {
        if (ownSession) {
            spark.stop();
        }
    }
}
