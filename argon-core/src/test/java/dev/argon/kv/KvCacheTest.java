package dev.argon.kv;

import dev.argon.ArgonException;
import dev.argon.model.Attention;
import dev.argon.tensor.ThreadPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every KV cache encoding against the exact F32 cache: stored rows read back within the
 * encoding's error bound, and attention outputs (through {@link Attention#attend}) close to the F32
 * ones, with the Hadamard-rotated 4-bit encodings no worse than the plain ones on keys with an
 * outlier channel (the case rotation is for).
 */
class KvCacheTest {
    private static final int LAYERS = 2;
    private static final int HEADS = 4;
    private static final int HEAD_DIM = 64;
    private static final int KV_DIM = HEADS * HEAD_DIM;
    private static final int CTX = 48;

    private static float[] randomRows(Random r, int rows, boolean outlier) {
        float[] x = new float[rows * KV_DIM];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
            if (outlier && i % HEAD_DIM == 5) {
                x[i] *= 20f; // one large channel per head, as keys often have
            }
        }
        return x;
    }

    private static KvCache filled(KvCache.Precision p, float[] k, float[] v) {
        KvCache c = new KvCache(LAYERS, CTX, KV_DIM, HEAD_DIM, p, p);
        for (int l = 0; l < LAYERS; l++) {
            for (int t = 0; t < CTX; t++) {
                c.store(l, t, k, t * KV_DIM, v, t * KV_DIM);
            }
        }
        return c;
    }

    /** Attention of {@code CTX} queries over the cache (layer 1), outputs {@code [CTX, KV_DIM]}. */
    private static float[] attend(KvCache c, float[] queries) {
        float[] q = queries.clone();
        float[] out = new float[CTX * KV_DIM];
        float[] scores = new float[HEADS * CTX];
        int[] positions = new int[CTX];
        KvCache[] caches = new KvCache[CTX];
        for (int t = 0; t < CTX; t++) {
            positions[t] = t;
            caches[t] = c;
        }
        // one row at a time: the score scratch holds one row per head
        for (int t = 0; t < CTX; t++) {
            float[] qt = java.util.Arrays.copyOfRange(q, t * KV_DIM, (t + 1) * KV_DIM);
            float[] ot = new float[KV_DIM];
            Attention.attend(qt, ot, scores, CTX, new KvCache[]{c}, new int[]{t}, 1, 1, HEADS, HEADS, HEAD_DIM,
                    Attention.Options.standard(HEAD_DIM), ThreadPool.CALLER_ONLY);
            System.arraycopy(ot, 0, out, t * KV_DIM, KV_DIM);
        }
        return out;
    }

    private static double relativeError(float[] a, float[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - ref[i]) * (double) (a[i] - ref[i]);
            den += ref[i] * (double) ref[i];
        }
        return Math.sqrt(num / den);
    }

    @ParameterizedTest
    @EnumSource(KvCache.Precision.class)
    void rowsReadBackWithinTheEncodingsError(KvCache.Precision p) {
        Random r = new Random(7);
        float[] k = randomRows(r, CTX, false);
        float[] v = randomRows(r, CTX, false);
        KvCache c = filled(p, k, v);
        float[] back = new float[CTX * HEAD_DIM];
        float[] ref = new float[CTX * HEAD_DIM];
        for (int h = 0; h < HEADS; h++) {
            c.readValues(1, 0, CTX, h * HEAD_DIM, HEAD_DIM, back, 0);
            for (int t = 0; t < CTX; t++) {
                System.arraycopy(v, t * KV_DIM + h * HEAD_DIM, ref, t * HEAD_DIM, HEAD_DIM);
                if (p.rotated()) {
                    Hadamard.rotate(ref, t * HEAD_DIM, HEAD_DIM, HEAD_DIM);
                }
            }
            double bound = switch (p) {
                case F32 -> 0;
                case F16 -> 1e-3;
                case BF16 -> 8e-3;
                case Q8_0 -> 1e-2;
                case Q4_0, Q4_0H, Q4_1, Q4_1H -> 0.15;
            };
            assertThat(relativeError(back, ref)).as(p + " head " + h).isLessThanOrEqualTo(bound);
        }
        long perToken = KvCache.bytesPerToken(LAYERS, KV_DIM, HEAD_DIM, p, p);
        assertThat(c.bytes()).isEqualTo(perToken * CTX);
    }

    @ParameterizedTest
    @EnumSource(KvCache.Precision.class)
    void attentionOutputsStayCloseToTheExactCache(KvCache.Precision p) {
        Random r = new Random(11);
        float[] k = randomRows(r, CTX, true);
        float[] v = randomRows(r, CTX, false);
        float[] q = randomRows(r, CTX, false);
        float[] exact = attend(filled(KvCache.Precision.F32, k, v), q);
        double err = relativeError(attend(filled(p, k, v), q), exact);
        double bound = switch (p) {
            case F32 -> 0;
            case F16 -> 2e-3;
            case BF16 -> 2e-2;
            case Q8_0 -> 3e-2;
            case Q4_0, Q4_0H, Q4_1, Q4_1H -> 0.4;
        };
        assertThat(err).as(p.toString()).isLessThanOrEqualTo(bound);
    }

    @Test
    void rotationHelpsFourBitKeysWithAnOutlierChannel() {
        Random r = new Random(13);
        float[] k = randomRows(r, CTX, true);
        float[] v = randomRows(r, CTX, false);
        float[] q = randomRows(r, CTX, false);
        float[] exact = attend(filled(KvCache.Precision.F32, k, v), q);
        double plain0 = relativeError(attend(filled(KvCache.Precision.Q4_0, k, v), q), exact);
        double rotated0 = relativeError(attend(filled(KvCache.Precision.Q4_0H, k, v), q), exact);
        double plain1 = relativeError(attend(filled(KvCache.Precision.Q4_1, k, v), q), exact);
        double rotated1 = relativeError(attend(filled(KvCache.Precision.Q4_1H, k, v), q), exact);
        System.out.printf("attention error q4_0 %.4f q4_0h %.4f q4_1 %.4f q4_1h %.4f%n", plain0, rotated0, plain1, rotated1);
        assertThat(rotated0).isLessThan(plain0);
        assertThat(rotated1).isLessThan(plain1);
    }

    @Test
    void hadamardIsItsOwnInverseAndKeepsDotProducts() {
        Random r = new Random(3);
        float[] a = new float[96];
        float[] b = new float[96];
        for (int i = 0; i < 96; i++) {
            a[i] = (float) r.nextGaussian();
            b[i] = (float) r.nextGaussian();
        }
        int block = Hadamard.blockFor(96);
        assertThat(block).isEqualTo(32);
        float[] ha = a.clone();
        float[] hb = b.clone();
        Hadamard.rotate(ha, 0, 96, block);
        Hadamard.rotate(hb, 0, 96, block);
        double dot = 0;
        double hdot = 0;
        for (int i = 0; i < 96; i++) {
            dot += a[i] * b[i];
            hdot += ha[i] * hb[i];
        }
        assertThat(hdot).isCloseTo(dot, org.assertj.core.api.Assertions.within(1e-4));
        Hadamard.rotate(ha, 0, 96, block);
        for (int i = 0; i < 96; i++) {
            assertThat(ha[i]).isCloseTo(a[i], org.assertj.core.api.Assertions.within(1e-5f));
        }
    }

    @Test
    void movedRowsReadBackAsTheOriginals() {
        Random r = new Random(5);
        float[] k = randomRows(r, CTX, false);
        float[] v = randomRows(r, CTX, false);
        for (KvCache.Precision p : KvCache.Precision.values()) {
            KvCache c = filled(p, k, v);
            float[] before = new float[10 * KV_DIM];
            c.readKeys(0, 20, 10, 0, KV_DIM, before, 0);
            c.moveRows(20, 4, 10);
            float[] after = new float[10 * KV_DIM];
            c.readKeys(0, 4, 10, 0, KV_DIM, after, 0);
            assertThat(after).as(p.toString()).containsExactly(before);
        }
    }

    @Test
    void flagNamesParseAndUnknownOnesAreNamed() {
        assertThat(KvCache.Precision.parse("Q8_0", "-ctk")).isEqualTo(KvCache.Precision.Q8_0);
        assertThat(KvCache.Precision.parse("q4_0h", "-ctk")).isEqualTo(KvCache.Precision.Q4_0H);
        assertThatThrownBy(() -> KvCache.Precision.parse("q3_k", "--cache-type-v"))
                .isInstanceOf(ArgonException.class).hasMessageContaining("--cache-type-v is 'q3_k'").hasMessageContaining("q4_0h");
        assertThatThrownBy(() -> new KvCache(1, 4, 3, 1, KvCache.Precision.Q4_0, KvCache.Precision.F16))
                .isInstanceOf(ArgonException.class).hasMessageContaining("even head size");
    }

    @org.junit.jupiter.api.Test
    void wholeBlockReadsEqualTheGeneralPath() {
        java.util.Random r = new java.util.Random(3);
        for (BlockRows.Kind kind : BlockRows.Kind.values()) {
            BlockRows rows = new BlockRows(1, 8, 128, 32, kind);
            rows.ensure(8);
            float[] src = new float[128];
            for (int row = 0; row < 8; row++) {
                for (int i = 0; i < src.length; i++) {
                    src[i] = (float) r.nextGaussian();
                }
                rows.store(0, row, src, 0);
            }
            float[] fast = new float[8 * 64];
            rows.read(0, 0, 8, 64, 64, fast, 0); // head 1 of 2: whole blocks
            float[] slow = new float[8 * 64];
            for (int j = 0; j < 64; j++) { // one column at a time: the general path
                float[] one = new float[8];
                rows.read(0, 0, 8, 64 + j, 1, one, 0);
                for (int p = 0; p < 8; p++) {
                    slow[p * 64 + j] = one[p];
                }
            }
            org.assertj.core.api.Assertions.assertThat(fast).as(kind.name()).containsExactly(slow);
        }
    }
}
