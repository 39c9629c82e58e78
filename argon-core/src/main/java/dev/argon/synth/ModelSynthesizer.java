package dev.argon.synth;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufWriter;
import dev.argon.synth.SynthType.Role;
import dev.argon.tensor.GgmlType;
import dev.argon.tensor.Quantizer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Writes a GGUF model with random weights at a given {@link ModelShape}, {@link SynthType} and
 * {@link SynthOptions} (architecture, spread of the weights), plus a {@link SyntheticVocabulary}
 * (or a {@link SyntheticBpeVocabulary} for GPT-2), so that both Argon and llama.cpp load it. Weight values do not change inference speed, so such files stand in for
 * real models in benchmarks and tests.
 *
 * <p>Matrices are drawn from {@link RandomWeights} with standard deviation {@link #WEIGHT_STD}
 * (as a typical initialisation) unless the options say otherwise; norm weights are 1 and biases 0
 * unless {@link SynthOptions#normStd()} spreads them. The bytes depend only on the shape, type and
 * seed, not on the thread count. Tensors are generated, quantized and written a chunk of rows at
 * a time by a pool of threads, so memory use is a few megabytes per thread whatever the model's
 * size.
 */
public final class ModelSynthesizer {
    /** Standard deviation of the random matrices. */
    public static final float WEIGHT_STD = 0.02f;
    /** Elements generated per task (rounded to whole rows). */
    static final int CHUNK_ELEMENTS = 1 << 18;
    /** Each worker's reusable input buffer (halves the garbage; the quantizer copies the values out). */
    private static final ThreadLocal<float[]> BUFFER = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * One tensor of the file.
     *
     * @param name GGUF tensor name
     * @param shape dimensions in GGML order ({@code shape[0]} is the row length)
     * @param type the stored type
     * @param preferred the type the rule asked for before a row-length fallback (equals {@code type} if none)
     * @param std standard deviation of the random values (0: all values are {@code mean})
     * @param mean mean of the values (1 for norm weights, 0 otherwise)
     */
    public record TensorSpec(String name, long[] shape, GgmlType type, GgmlType preferred, float std, float mean) {
        /** @return the number of elements */
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        /** @return the bytes of its data */
        public long bytes() {
            return type.bytesFor(elements());
        }

        /** @return whether a fallback type was used because the rows do not fill the preferred type's blocks */
        public boolean fellBack() {
            return type != preferred;
        }
    }

    /**
     * The outcome of {@link #write}.
     *
     * @param path the file written
     * @param fileBytes its size
     * @param parameterCount weights in it
     */
    public record Result(Path path, long fileBytes, long parameterCount) {
    }

    /** Receives progress while the file is written. */
    @FunctionalInterface
    public interface Progress {
        /**
         * Called from the writing thread after each piece of data.
         *
         * @param written bytes written so far
         * @param total bytes the file will have
         */
        void update(long written, long total);
    }

    private final ModelShape shape;
    private final SynthType type;
    private final SynthOptions options;
    private final List<TensorSpec> tensors;

    /**
     * Plans the tensors of a {@code llama} model with the default spread of weights.
     *
     * @throws ArgonException if the shape is invalid or its rows do not fit the type's blocks
     */
    public ModelSynthesizer(ModelShape shape, SynthType type) {
        this(shape, type, SynthOptions.defaults());
    }

    /**
     * Plans the tensors of a model of the options' architecture.
     *
     * @throws ArgonException if the shape or options are invalid or the rows do not fit the type's blocks
     */
    public ModelSynthesizer(ModelShape shape, SynthType type, SynthOptions options) {
        this.shape = shape.validate();
        this.type = type;
        this.options = options.validate();
        if (options.arch() == SynthArch.GPT2 && shape.vocab() < SyntheticBpeVocabulary.MIN_SIZE) {
            throw new ArgonException("vocabulary size (--vocab) is " + shape.vocab() + "; at least " + SyntheticBpeVocabulary.MIN_SIZE + " needed");
        }
        if (options.arch().encoder() && (shape.nKvHeads() != shape.nHeads() || shape.qDim() != shape.dim())) {
            throw new ArgonException("bert has no grouped-query attention and heads x head size must equal --dim: got --heads "
                    + shape.nHeads() + ", --kv-heads " + shape.nKvHeads() + ", head size " + shape.headDim() + ", dim " + shape.dim());
        }
        if (!type.mixed() && type.quantized()) {
            int bs = type.baseType().blockSize();
            if (shape.dim() % bs != 0 || shape.ffDim() % bs != 0 || shape.qDim() % bs != 0) {
                throw new ArgonException("type " + type.cliName() + " needs --dim, --ff and the query width (heads x head size) to be"
                        + " multiples of its block size " + bs + "; got dim " + shape.dim() + ", ff " + shape.ffDim()
                        + ", query width " + shape.qDim());
            }
        }
        this.tensors = plan();
    }

    /** @return whether the output projection is the token embedding */
    private boolean tied() {
        return shape.tiedEmbeddings() || options.arch().alwaysTied();
    }

    private List<TensorSpec> plan() {
        List<TensorSpec> list = new ArrayList<>();
        boolean tied = tied();
        options.arch().plan(shape, options, tied, new SynthArch.Planner() {
            @Override
            public void matrix(String name, Role role, int layer, int rowLength, int rows, float std) {
                GgmlType t = type.matrixType(role, layer, shape.nLayers(), rowLength, tied);
                GgmlType preferred = type.preferredType(role, layer, shape.nLayers(), tied);
                list.add(new TensorSpec(name, new long[]{rowLength, rows}, t, preferred, std, 0f));
            }

            @Override
            public void vector(String name, int n, float mean, float std) {
                list.add(new TensorSpec(name, new long[]{n}, GgmlType.F32, GgmlType.F32, std, mean));
            }

            @Override
            public void f32Matrix(String name, int rowLength, int rows, float std) {
                list.add(new TensorSpec(name, new long[]{rowLength, rows}, GgmlType.F32, GgmlType.F32, std, 0f));
            }
        });
        return List.copyOf(list);
    }

    /** @return the shape */
    public ModelShape shape() {
        return shape;
    }

    /** @return the weight type */
    public SynthType type() {
        return type;
    }

    /** @return the architecture and spreads */
    public SynthOptions options() {
        return options;
    }

    /** @return the tensors in file order */
    public List<TensorSpec> tensors() {
        return tensors;
    }

    /** @return the number of weights */
    public long parameterCount() {
        return tensors.stream().mapToLong(TensorSpec::elements).sum();
    }

    /**
     * @return one line saying which matrices use a fallback type because their rows do not fill
     *     the preferred type's blocks (as llama.cpp does), or null if none do
     */
    public String fallbackSummary() {
        Map<String, Integer> counts = new TreeMap<>();
        TreeSet<Long> rowLengths = new TreeSet<>();
        int matrices = 0;
        for (TensorSpec t : tensors) {
            if (t.shape().length == 2) {
                matrices++;
            }
            if (t.fellBack()) {
                counts.merge(t.preferred() + " -> " + t.type(), 1, Integer::sum);
                rowLengths.add(t.shape()[0]);
            }
        }
        if (counts.isEmpty()) {
            return null;
        }
        int n = counts.values().stream().mapToInt(Integer::intValue).sum();
        StringBuilder sb = new StringBuilder();
        counts.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(" x").append(v));
        return String.format(Locale.ROOT, "%d of %d matrices have rows of %s elements, not a multiple of 256 (the K-quant block), "
                + "and use llama.cpp's fallback types: %s", n, matrices, joinLongs(rowLengths), sb);
    }

    private static String joinLongs(TreeSet<Long> v) {
        StringBuilder sb = new StringBuilder();
        for (long x : v) {
            sb.append(sb.isEmpty() ? "" : "/").append(x);
        }
        return sb.toString();
    }

    /** Writes the {@code general.*}, {@code <arch>.*} and {@code tokenizer.ggml.*} metadata. */
    void putMetadata(GgufWriter w, long seed) {
        SynthArch arch = options.arch();
        w.putString("general.architecture", arch.ggufName());
        w.putString("general.name", shape.name());
        w.putString("general.description", "random weights from argon synth, seed " + seed + ", "
                + (arch == SynthArch.LLAMA ? "" : arch.cliName() + " ") + shape);
        w.putUInt32("general.file_type", type.fileType());
        if (type.quantized()) {
            w.putUInt32("general.quantization_version", 2);
        }
        arch.putHyperParameters(w, shape, options);
        if (arch == SynthArch.GPT2) {
            SyntheticBpeVocabulary.of(shape.vocab()).putMetadata(w);
        } else if (arch == SynthArch.BERT) {
            SyntheticWordPieceVocabulary.of(shape.vocab()).putMetadata(w);
        } else {
            SyntheticVocabulary.of(shape.vocab()).putMetadata(w);
        }
    }

    /**
     * Writes the model to {@code target} atomically (temporary file, then rename; an existing
     * file is replaced) and makes it readable by all ({@code rw-r--r--}) where the file system
     * has POSIX permissions.
     *
     * @param seed selects the random weights; the same seed gives the same bytes
     * @param threads worker threads generating and quantizing weights (at least 1)
     * @param progress told the bytes written so far; may be null
     * @throws ArgonException if the file cannot be written
     */
    public Result write(Path target, long seed, int threads, Progress progress) {
        if (threads < 1) {
            throw new ArgonException("threads must be at least 1, got " + threads);
        }
        AtomicInteger ids = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "argon-synth-" + ids.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            GgufWriter w = new GgufWriter();
            putMetadata(w, seed);
            for (TensorSpec t : tensors) {
                w.addStreamedTensor(t.name(), t.type(), t.shape(), source(t, seed, pool, 4 * threads));
            }
            long total = w.fileSize();
            w.write(target, progress == null ? null : written -> progress.update(written, total));
            makeReadable(target);
            return new Result(target, total, parameterCount());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Gives the file the usual {@code rw-r--r--} (the temporary file it was renamed from was private); best effort. */
    private static void makeReadable(Path p) {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException | IOException | SecurityException ignored) {
            // not a POSIX file system, or not allowed: keep what the writer left
        }
    }

    /** Generates a tensor in chunks of whole rows, up to {@code window} chunks ahead, and emits them in order. */
    private static GgufWriter.TensorSource source(TensorSpec t, long seed, ExecutorService pool, int window) {
        return sink -> {
            long cols = t.shape()[0];
            long rows = t.elements() / cols;
            long chunkRows = Math.max(1, CHUNK_ELEMENTS / cols);
            long chunks = (rows + chunkRows - 1) / chunkRows;
            long key = RandomWeights.key(seed, t.name());
            ArrayDeque<Future<MemorySegment>> inFlight = new ArrayDeque<>();
            long next = 0;
            try {
                for (long done = 0; done < chunks; done++) {
                    while (next < chunks && inFlight.size() < window) {
                        long r0 = next++ * chunkRows;
                        int n = Math.toIntExact(Math.min(chunkRows, rows - r0) * cols);
                        inFlight.add(pool.submit(() -> chunk(t, key, r0 * cols, n)));
                    }
                    sink.accept(await(inFlight.poll()));
                }
            } finally {
                inFlight.forEach(f -> f.cancel(true));
            }
        };
    }

    private static MemorySegment chunk(TensorSpec t, long key, long first, int n) {
        float[] v = BUFFER.get();
        if (v.length != n) { // all chunks of a tensor but its last have the same size
            v = new float[n];
            BUFFER.set(v);
        }
        if (t.std() == 0f) {
            java.util.Arrays.fill(v, 0, n, t.mean());
        } else {
            RandomWeights.fill(key, first, v, n, t.std());
            if (t.mean() != 0f) {
                for (int i = 0; i < n; i++) {
                    v[i] += t.mean();
                }
            }
        }
        return Quantizer.quantize(t.type(), v);
    }

    private static MemorySegment await(Future<MemorySegment> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ArgonException("interrupted while generating weights", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }
}
