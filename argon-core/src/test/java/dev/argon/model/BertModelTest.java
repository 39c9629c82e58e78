package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.embed.Embedder;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.gguf.GgufValueType;
import dev.argon.gguf.GgufWriter;
import dev.argon.kv.KvCache;
import dev.argon.synth.ModelShape;
import dev.argon.synth.ModelSynthesizer;
import dev.argon.synth.SynthArch;
import dev.argon.synth.SynthOptions;
import dev.argon.synth.SynthType;
import dev.argon.synth.SyntheticWordPieceVocabulary;
import dev.argon.tensor.GgmlType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The BERT encoder against a deliberately plain reference forward pass written here (double
 * arithmetic, loops over every element, the attention matrix materialized), reading the weights
 * straight from the GGUF file: nothing of {@link BertModel}'s code path is shared. The model is a
 * small random-weight {@code bert} file from {@code argon synth} with norms and biases spread away
 * from 1 and 0, so a norm or bias in the wrong place shows. (The same files were checked against
 * llama.cpp's {@code llama-server --embeddings}: docs/embeddings.md.)
 */
class BertModelTest {
    @TempDir
    static Path tmp;

    static final ModelShape SHAPE = new ModelShape("bert-test", 2, 64, 128, 4, 4, 300, 32, 10000f, 1e-12f, false);
    static Path mean;
    static Path cls;

    @BeforeAll
    static void synthesize() {
        SynthOptions o = SynthOptions.of(SynthArch.BERT).withStd(0.08f, 0.08f, 0.1f);
        mean = tmp.resolve("bert-mean.gguf");
        new ModelSynthesizer(SHAPE, SynthType.F32, o).write(mean, 3, 2, null);
        cls = tmp.resolve("bert-cls.gguf");
        new ModelSynthesizer(SHAPE, SynthType.F32, o.withPooling("cls")).write(cls, 3, 2, null);
    }

    static LanguageModel load(Path p, int threads) {
        return Models.load(p, new ModelOptions(threads, false)); // exact F32 arithmetic and GELU
    }

    /** Every token's final hidden state equals the reference to 1e-4, for a text and for random ids. */
    @Test
    void encoderMatchesAScalarReferenceForwardPass() {
        try (LanguageModel m = load(mean, 1); GgufFile f = GgufFile.open(mean)) {
            assertThat(m).isInstanceOf(BertModel.class);
            TextEncoder enc = (TextEncoder) m;
            int[] text = m.tokenizer().encode("the tea is hot, and it is late!", true, false);
            assertThat(text[0]).isEqualTo(SyntheticWordPieceVocabulary.CLS);
            assertThat(text[text.length - 1]).isEqualTo(SyntheticWordPieceVocabulary.SEP);
            SplittableRandom r = new SplittableRandom(9);
            int[] random = new int[SHAPE.contextLength()];
            for (int i = 0; i < random.length; i++) {
                random[i] = r.nextInt(104, SHAPE.vocab());
            }
            for (int[] ids : new int[][]{text, random, {101, 102}}) {
                float[] got = enc.encode(ids);
                double[][] want = new Reference(f).forward(ids);
                assertThat(got).hasSize(ids.length * SHAPE.dim());
                for (int t = 0; t < ids.length; t++) {
                    for (int i = 0; i < SHAPE.dim(); i++) {
                        assertThat((double) got[t * SHAPE.dim() + i]).as("token %d of %d, dim %d", t, ids.length, i)
                                .isCloseTo(want[t][i], within(1e-4));
                    }
                }
            }
        }
    }

    /** The first token's output depends on the last token (bidirectional), and threads do not change a bit. */
    @Test
    void everyTokenSeesEveryOtherAndThreadsDoNotChangeTheResult() {
        int[] a = {101, 150, 160, 170, 102};
        int[] b = {101, 150, 160, 171, 102};
        float[] one;
        try (LanguageModel m = load(mean, 1)) {
            TextEncoder enc = (TextEncoder) m;
            one = enc.encode(a);
            float[] other = enc.encode(b);
            assertThat(java.util.Arrays.copyOf(other, SHAPE.dim())).isNotEqualTo(java.util.Arrays.copyOf(one, SHAPE.dim()));
        }
        try (LanguageModel m = load(mean, 2)) {
            assertThat(((TextEncoder) m).encode(a)).isEqualTo(one);
        }
    }

    /** Mean (the file's pooling_type 1), CLS (pooling_type 2) and last pooling of the reference states, L2-normalized. */
    @Test
    void embeddingsPoolAsTheFileSaysAndAreNormalized() {
        String text = "a hot tea";
        for (Path p : new Path[]{mean, cls}) {
            try (LanguageModel m = load(p, 1); GgufFile f = GgufFile.open(p)) {
                int[] ids = m.tokenizer().encode(text, true, false);
                double[][] h = new Reference(f).forward(ids);
                Embedder e = new Embedder(m, null, 64);
                boolean isCls = p == cls;
                assertThat(e.pooling()).isEqualTo(isCls ? Embedder.Pooling.CLS : Embedder.Pooling.MEAN);
                assertThat(f.getInt("bert.pooling_type")).isEqualTo(isCls ? 2 : 1);
                expectPooled(e.embed(text), h, isCls ? 0 : -1);
                expectPooled(new Embedder(m, Embedder.Pooling.LAST, 64).embed(text), h, ids.length - 1);
            }
        }
    }

    /** {@code row} -1: the mean of all rows. */
    private static void expectPooled(Embedder.Embedding e, double[][] h, int row) {
        int dim = h[0].length;
        double[] v = new double[dim];
        for (int t = 0; t < h.length; t++) {
            if (row < 0 || t == row) {
                for (int i = 0; i < dim; i++) {
                    v[i] += h[t][i];
                }
            }
        }
        double norm = 0;
        for (double x : v) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        assertThat(e.tokens()).isEqualTo(h.length);
        for (int i = 0; i < dim; i++) {
            assertThat((double) e.vector()[i]).isCloseTo(v[i] / norm, within(1e-5));
        }
    }

    @Test
    void anEncoderRefusesToGenerateAndToOverflowItsPositions() {
        try (LanguageModel m = load(mean, 1)) {
            InferenceState s = m.newState(16, KvCache.Precision.F16);
            assertThatThrownBy(() -> m.forward(s, 101, 0, true)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("text encoder").hasMessageContaining("/v1/embeddings");
            int[] tooLong = new int[SHAPE.contextLength() + 1];
            java.util.Arrays.fill(tooLong, 150);
            assertThatThrownBy(() -> ((TextEncoder) m).encode(tooLong)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("33 tokens").hasMessageContaining("at most 32");
            String words = "tea ".repeat(40);
            assertThatThrownBy(() -> new Embedder(m, null, 64).embed(words)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("at most 32");
        }
    }

    @Test
    void unsupportedVariantsAndBrokenFilesAreRefusedSayingWhy() {
        Path nomic = rewrite(mean, "nomic.gguf", Map.of("general.architecture", "nomic-bert"), Set.of());
        assertThatThrownBy(() -> load(nomic, 1)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("'nomic-bert' is a BERT variant").hasMessageContaining("rotary positions");
        Path jina = rewrite(mean, "jina.gguf", Map.of("general.architecture", "jina-bert-v2"), Set.of());
        assertThatThrownBy(() -> load(jina, 1)).isInstanceOf(ArgonException.class).hasMessageContaining("ALiBi");
        Path noEps = rewrite(mean, "noeps.gguf", Map.of(), Set.of("bert.attention.layer_norm_epsilon"));
        assertThatThrownBy(() -> load(noEps, 1)).isInstanceOf(ArgonException.class)
                .hasMessageContaining("'bert.attention.layer_norm_epsilon' is missing");
        Path unsaid = rewrite(cls, "nopooling.gguf", Map.of(), Set.of("bert.pooling_type")); // older conversions have no key
        try (LanguageModel m = load(unsaid, 1)) {
            assertThat(new Embedder(m, null, 64).pooling()).isEqualTo(Embedder.Pooling.MEAN);
        }
        Path rank = rewrite(mean, "rank.gguf", Map.of("bert.pooling_type", 4), Set.of());
        try (LanguageModel m = load(rank, 1)) {
            assertThatThrownBy(() -> new Embedder(m, null, 64)).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("pooling_type is 4 (rank)");
        }
    }

    /** Copies a GGUF file with some metadata values replaced and some keys removed. */
    static Path rewrite(Path src, String name, Map<String, Object> replace, Set<String> remove) {
        Path out = tmp.resolve(name);
        try (GgufFile f = GgufFile.open(src)) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, Object> e : f.metadata().entrySet()) {
                String k = e.getKey();
                if (remove.contains(k)) {
                    continue;
                }
                GgufValueType type = f.typeOf(k);
                Object v = replace.getOrDefault(k, e.getValue());
                if (type == GgufValueType.UINT32 && v instanceof Integer i) {
                    w.putUInt32(k, i);
                } else {
                    w.put(k, type, v);
                }
            }
            for (GgufTensorInfo t : f.tensors()) {
                w.addTensor(t.name(), t.type(), t.shape(), f.tensorData(t));
            }
            w.write(out);
        }
        return out;
    }

    /** The plain reference: BERT's forward pass in double, element by element, from the file's F32 tensors. */
    static final class Reference {
        private final GgufFile f;
        private final int dim;
        private final int heads;
        private final double eps;

        Reference(GgufFile f) {
            this.f = f;
            this.dim = f.getInt("bert.embedding_length");
            this.heads = f.getInt("bert.attention.head_count");
            this.eps = f.getFloat("bert.attention.layer_norm_epsilon");
        }

        double[] tensor(String name) {
            GgufTensorInfo t = f.tensor(name);
            assertThat(t.type()).isEqualTo(GgmlType.F32);
            MemorySegment s = f.tensorData(t);
            double[] out = new double[Math.toIntExact(t.elementCount())];
            for (int i = 0; i < out.length; i++) {
                out[i] = s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
            }
            return out;
        }

        double[][] forward(int[] ids) {
            int n = ids.length;
            double[] tok = tensor("token_embd.weight");
            double[] pos = tensor("position_embd.weight");
            double[] types = tensor("token_types.weight");
            double[][] x = new double[n][dim];
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < dim; i++) {
                    x[t][i] = tok[ids[t] * dim + i] + types[i] + pos[t * dim + i];
                }
            }
            x = layerNorm(x, "token_embd_norm");
            int layers = f.getInt("bert.block_count");
            int hd = dim / heads;
            for (int l = 0; l < layers; l++) {
                String b = "blk." + l + ".";
                double[][] q = linear(x, b + "attn_q");
                double[][] k = linear(x, b + "attn_k");
                double[][] v = linear(x, b + "attn_v");
                double[][] a = new double[n][dim];
                for (int h = 0; h < heads; h++) {
                    double[][] p = new double[n][n];
                    for (int i = 0; i < n; i++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < n; j++) {
                            double s = 0;
                            for (int e = 0; e < hd; e++) {
                                s += q[i][h * hd + e] * k[j][h * hd + e];
                            }
                            p[i][j] = s / Math.sqrt(hd);
                            max = Math.max(max, p[i][j]);
                        }
                        double sum = 0;
                        for (int j = 0; j < n; j++) {
                            p[i][j] = Math.exp(p[i][j] - max);
                            sum += p[i][j];
                        }
                        for (int j = 0; j < n; j++) {
                            p[i][j] /= sum;
                        }
                    }
                    for (int i = 0; i < n; i++) {
                        for (int e = 0; e < hd; e++) {
                            double s = 0;
                            for (int j = 0; j < n; j++) {
                                s += p[i][j] * v[j][h * hd + e];
                            }
                            a[i][h * hd + e] = s;
                        }
                    }
                }
                x = layerNorm(add(x, linear(a, b + "attn_output")), b + "attn_output_norm");
                double[][] up = linear(x, b + "ffn_up");
                for (double[] row : up) {
                    for (int i = 0; i < row.length; i++) {
                        double z = row[i];
                        row[i] = 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
                    }
                }
                x = layerNorm(add(x, linear(up, b + "ffn_down")), b + "layer_output_norm");
            }
            return x;
        }

        /** {@code y = W x + b}, W stored as GGUF {@code [in, out]}: row {@code o} of {@code in} values. */
        double[][] linear(double[][] x, String name) {
            double[] w = tensor(name + ".weight");
            double[] bias = tensor(name + ".bias");
            int in = x[0].length;
            int out = bias.length;
            assertThat(w.length).isEqualTo(in * out);
            double[][] y = new double[x.length][out];
            for (int t = 0; t < x.length; t++) {
                for (int o = 0; o < out; o++) {
                    double s = bias[o];
                    for (int i = 0; i < in; i++) {
                        s += w[o * in + i] * x[t][i];
                    }
                    y[t][o] = s;
                }
            }
            return y;
        }

        double[][] layerNorm(double[][] x, String name) {
            double[] w = tensor(name + ".weight");
            double[] b = tensor(name + ".bias");
            double[][] y = new double[x.length][dim];
            for (int t = 0; t < x.length; t++) {
                double mean = 0;
                for (double v : x[t]) {
                    mean += v / dim;
                }
                double var = 0;
                for (double v : x[t]) {
                    var += (v - mean) * (v - mean) / dim;
                }
                for (int i = 0; i < dim; i++) {
                    y[t][i] = (x[t][i] - mean) / Math.sqrt(var + eps) * w[i] + b[i];
                }
            }
            return y;
        }

        static double[][] add(double[][] a, double[][] b) {
            double[][] y = new double[a.length][a[0].length];
            for (int t = 0; t < a.length; t++) {
                for (int i = 0; i < a[t].length; i++) {
                    y[t][i] = a[t][i] + b[t][i];
                }
            }
            return y;
        }
    }
}
