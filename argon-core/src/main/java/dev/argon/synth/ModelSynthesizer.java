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
 * Writes a GGUF model of the {@code llama} architecture with random weights at a given
 * {@link ModelShape} and {@link SynthType}, plus a {@link SyntheticVocabulary}, so that both Argon
 * and llama.cpp load it. Weight values do not change inference speed, so such files stand in for
 * real models in benchmarks and tests.
 *
 * <p>Matrices are drawn from {@link RandomWeights} with standard deviation {@link #WEIGHT_STD}
 * (as a typical initialisation), norm weights are 1. The bytes depend only on the shape, type and
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
     * @param std standard deviation of the random values, or 0 for a vector of ones
     */
    public record TensorSpec(String name, long[] shape, GgmlType type, GgmlType preferred, float std) {
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
    private final List<TensorSpec> tensors;

    /**
     * Plans the tensors of a model.
     *
     * @throws ArgonException if the shape is invalid or its rows do not fit the type's blocks
     */
    public ModelSynthesizer(ModelShape shape, SynthType type) {
        this.shape = shape.validate();
        this.type = type;
        if (type != SynthType.Q4_K_M && type.quantized()) {
            int bs = type.baseType().blockSize();
            if (shape.dim() % bs != 0 || shape.ffDim() % bs != 0) {
                throw new ArgonException("type " + type.cliName() + " needs --dim and --ff to be multiples of its block size "
                        + bs + "; got dim " + shape.dim() + ", ff " + shape.ffDim());
            }
        }
        this.tensors = plan();
    }

    private List<TensorSpec> plan() {
        List<TensorSpec> list = new ArrayList<>();
        int d = shape.dim();
        int n = shape.nLayers();
        matrix(list, "token_embd.weight", Role.TOKEN_EMBD, 0, d, shape.vocab());
        for (int l = 0; l < n; l++) {
            String p = "blk." + l + ".";
            vector(list, p + "attn_norm.weight", d);
            matrix(list, p + "attn_q.weight", Role.ATTN_Q, l, d, d);
            matrix(list, p + "attn_k.weight", Role.ATTN_K, l, d, shape.kvDim());
            matrix(list, p + "attn_v.weight", Role.ATTN_V, l, d, shape.kvDim());
            matrix(list, p + "attn_output.weight", Role.ATTN_OUTPUT, l, d, d);
            vector(list, p + "ffn_norm.weight", d);
            matrix(list, p + "ffn_gate.weight", Role.FFN_GATE, l, d, shape.ffDim());
            matrix(list, p + "ffn_up.weight", Role.FFN_UP, l, d, shape.ffDim());
            matrix(list, p + "ffn_down.weight", Role.FFN_DOWN, l, shape.ffDim(), d);
        }
        vector(list, "output_norm.weight", d);
        if (!shape.tiedEmbeddings()) {
            matrix(list, "output.weight", Role.OUTPUT, 0, d, shape.vocab());
        }
        return List.copyOf(list);
    }

    private void matrix(List<TensorSpec> list, String name, Role role, int layer, int rowLength, int rows) {
        boolean tied = shape.tiedEmbeddings();
        GgmlType t = type.matrixType(role, layer, shape.nLayers(), rowLength, tied);
        GgmlType preferred = type.preferredType(role, layer, shape.nLayers(), tied);
        list.add(new TensorSpec(name, new long[]{rowLength, rows}, t, preferred, WEIGHT_STD));
    }

    private static void vector(List<TensorSpec> list, String name, int n) {
        list.add(new TensorSpec(name, new long[]{n}, GgmlType.F32, GgmlType.F32, 0f));
    }

    /** @return the shape */
    public ModelShape shape() {
        return shape;
    }

    /** @return the weight type */
    public SynthType type() {
        return type;
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

    /** Writes the {@code general.*} and {@code llama.*} metadata. */
    void putMetadata(GgufWriter w, long seed) {
        String a = "llama.";
        w.putString("general.architecture", "llama");
        w.putString("general.name", shape.name());
        w.putString("general.description", "random weights from argon synth, seed " + seed + ", " + shape);
        w.putUInt32("general.file_type", type.fileType());
        if (type.quantized()) {
            w.putUInt32("general.quantization_version", 2);
        }
        w.putUInt32(a + "vocab_size", shape.vocab());
        w.putUInt32(a + "context_length", shape.contextLength());
        w.putUInt32(a + "embedding_length", shape.dim());
        w.putUInt32(a + "block_count", shape.nLayers());
        w.putUInt32(a + "feed_forward_length", shape.ffDim());
        w.putUInt32(a + "rope.dimension_count", shape.headDim());
        w.putUInt32(a + "attention.head_count", shape.nHeads());
        w.putUInt32(a + "attention.head_count_kv", shape.nKvHeads());
        w.putFloat32(a + "rope.freq_base", shape.ropeTheta());
        w.putFloat32(a + "attention.layer_norm_rms_epsilon", shape.rmsEps());
        SyntheticVocabulary.of(shape.vocab()).putMetadata(w);
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
            java.util.Arrays.fill(v, 1f);
        } else {
            RandomWeights.fill(key, first, v, n, t.std());
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
