package dev.argon.embed;

import dev.argon.ArgonException;
import dev.argon.TestFiles;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.ForwardObserver;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import dev.argon.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link Embedder} on stories260K (F32 weights, exact F32 activations): every observed hidden
 * state times the output matrix read from the file gives the model's logits for that row, and
 * the pooled embeddings are the normalized mean, first and last of those states.
 */
class EmbedderTest {
    private static final String STORIES = "tinyllamas/stories260K/stories260K.gguf";

    @Test
    void hiddenStatesGiveTheLogitsAndPoolAsDocumented() {
        Path path = TestFiles.model(STORIES);
        try (LanguageModel m = Models.load(path, new ModelOptions(2, false)); GgufFile f = GgufFile.open(path)) {
            int dim = m.config().dim();
            int vocab = m.config().vocabSize();
            GgufTensorInfo out = f.tensor("output.weight") != null ? f.tensor("output.weight") : f.tensor("token_embd.weight");
            assertThat(out.type()).isEqualTo(GgmlType.F32);
            var data = f.tensorData(out);
            String text = "Once upon a time, there was a little cat.";
            int[] ids = m.tokenizer().encode(text, true, false);
            float[][] hidden = new float[ids.length][];
            InferenceState st = m.newState(ids.length, KvCache.Precision.F16);
            st.observe(new ForwardObserver() {
                @Override
                public boolean wantsHidden() {
                    return true;
                }

                @Override
                public void hidden(int position, float[] x, int offset, int d) {
                    hidden[position] = java.util.Arrays.copyOfRange(x, offset, offset + d);
                }
            });
            Batch b = new Batch(ids.length);
            for (int p = 0; p < ids.length; p++) {
                b.add(st, ids[p], p, true, true);
            }
            m.forward(b);
            for (int p = 0; p < ids.length; p++) {
                float[] logits = b.logits(p);
                for (int v = 0; v < vocab; v += 7) {
                    double dot = 0;
                    for (int i = 0; i < dim; i++) {
                        dot += hidden[p][i] * data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), (long) v * dim + i);
                    }
                    assertThat(dot).as("row %d token %d", p, v).isCloseTo(logits[v], within(1e-3 + 1e-4 * Math.abs(logits[v])));
                }
            }
            double[] mean = new double[dim];
            for (float[] h : hidden) {
                for (int i = 0; i < dim; i++) {
                    mean[i] += h[i] / ids.length;
                }
            }
            assertClose(new Embedder(m, Embedder.Pooling.MEAN, 4).embed(text), Embedder.normalize(mean), ids.length);
            assertClose(new Embedder(m, Embedder.Pooling.CLS, 64).embed(text), Embedder.normalize(toDouble(hidden[0])), ids.length);
            assertClose(new Embedder(m, Embedder.Pooling.LAST, 64).embed(text), Embedder.normalize(toDouble(hidden[ids.length - 1])), ids.length);
        }
    }

    @Test
    void rejectsEmptyAndTooLongInputAndUnknownPooling() {
        try (LanguageModel m = Models.load(TestFiles.model(STORIES), 2)) {
            Embedder e = new Embedder(m, Embedder.Pooling.MEAN, 64);
            int ctx = m.config().contextLength();
            assertThatThrownBy(() -> e.embed("word ".repeat(ctx))).isInstanceOf(ArgonException.class)
                    .hasMessageContaining("the model's context is " + ctx);
            assertThatThrownBy(() -> Embedder.Pooling.parse("max")).hasMessage("pooling 'max' is not supported; expected mean, cls or last");
        }
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    private static void assertClose(Embedder.Embedding e, float[] expected, int tokens) {
        assertThat(e.tokens()).isEqualTo(tokens);
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            assertThat(e.vector()[i]).isCloseTo(expected[i], within(1e-6f));
            norm += e.vector()[i] * e.vector()[i];
        }
        assertThat(norm).isCloseTo(1.0, within(1e-5));
    }
}
