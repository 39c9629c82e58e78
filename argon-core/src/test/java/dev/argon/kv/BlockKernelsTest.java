package dev.argon.kv;

import dev.argon.model.Attention;
import dev.argon.tensor.Simd;
import dev.argon.tensor.ThreadPool;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fused attention kernels on block-quantized rows ({@link BlockKernels}, reached through
 * {@link KvCache#dotKeys} and {@link KvCache#sumValues}) against decode-then-dot in double
 * precision on the same stored rows: scores within 1e-5 of {@code sum_j |q_j| * max_j |k_j|}, weighted
 * sums within 1e-5 of {@code sum_p |w_p| * max_j |v_pj|} (the rows' scale: q4_1 adds the block minimum
 * and the scaled codes separately, which cancel where a value is near 0), for every head of GQA-shaped caches (head sizes 16 to
 * 128, odd row counts, runs not starting at row 0). Runs at the build's vector width; the build
 * runs it again at 4 and 8 lanes with {@code -Dvector.bits=128|256} (16 lanes: {@code 512} on a
 * machine with AVX-512).
 */
class BlockKernelsTest {
    private static final double TOL = 1e-5;

    @Test
    void theKernelsRunForRealHeadSizesAtThisWidth() {
        // a 64-wide head in blocks of 32 must take the fused path whenever vectors are on
        if (Simd.vectorBits() != 0) {
            assertThat(BlockKernels.supports(BlockRows.Kind.Q8_0, 32, 64)).isTrue();
            assertThat(BlockKernels.supports(BlockRows.Kind.Q4_0, 32, 64)).isTrue();
            assertThat(BlockKernels.supports(BlockRows.Kind.Q4_0, 32, 128)).isTrue();
            assertThat(BlockKernels.supports(BlockRows.Kind.Q4_1, 32, 64)).isTrue();
            assertThat(HalfKernels.supports(64)).isTrue();
        }
    }

    /** An F16 key beyond the half's range is stored as infinity; its score is infinite, the others stay exact. */
    @Test
    void anInfiniteHalfIsReadAsInfinity() {
        KvCache c = new KvCache(1, 8, 64, 64, KvCache.Precision.F16, KvCache.Precision.F16);
        float[] k = new float[64];
        for (int t = 0; t < 8; t++) {
            java.util.Arrays.fill(k, 0.5f);
            k[5] = t == 3 ? 1e6f : 0.25f;
            c.store(0, t, k, 0, k, 0);
        }
        float[] q = new float[64];
        java.util.Arrays.fill(q, 1f);
        float[] s = new float[8];
        c.dotKeys(0, 0, 8, 0, 64, q, 0, s, 0);
        for (int t = 0; t < 8; t++) {
            assertThat(s[t]).as("row %d", t).isEqualTo(t == 3 ? Float.POSITIVE_INFINITY : 63 * 0.5f + 0.25f);
        }
    }

    /**
     * Heads shorter than a vector (TinyLLama-v0's 4-wide heads) are read in place: scores and weighted
     * sums are bit for bit those of decoding the rows and calling {@link dev.argon.tensor.Ops#dots} /
     * {@link dev.argon.tensor.Ops#weightedSum}, for every head size 1..9, F16 and BF16, row counts not a
     * multiple of four, and a row holding an infinite half.
     */
    @Test
    void shortHeadsGiveTheBitsOfDecodedRows() {
        Random r = new Random(11);
        for (KvCache.Precision p : new KvCache.Precision[]{KvCache.Precision.F16, KvCache.Precision.BF16}) {
            for (int n = 1; n <= 9; n++) {
                int kvDim = 2 * n;
                KvCache c = filled(r, 1, 40, kvDim, n, p);
                float[] big = new float[kvDim];
                java.util.Arrays.fill(big, 1e6f); // beyond the half's range: stored as infinity in F16
                c.store(0, 17, big, 0, big, 0);
                for (int count : new int[]{1, 3, 4, 7, 37}) {
                    int first = 40 - count;
                    for (int col = 0; col < kvDim; col += n) {
                        String what = p + " head " + n + " rows " + first + "+" + count + " col " + col;
                        float[] rows = new float[count * n];
                        c.readKeys(0, first, count, col, n, rows, 0);
                        float[] q = new float[n + 1];
                        for (int j = 0; j < q.length; j++) {
                            q[j] = (float) r.nextGaussian();
                        }
                        float[] got = new float[count];
                        float[] want = new float[count];
                        c.dotKeys(0, first, count, col, n, q, 1, got, 0);
                        dev.argon.tensor.Ops.dots(q, 1, rows, 0, n, count, n, want, 0);
                        assertThat(got).as("scores of %s", what).containsExactly(want);
                        c.readValues(0, first, count, col, n, rows, 0);
                        float[] w = new float[count];
                        for (int j = 0; j < count; j++) {
                            w[j] = r.nextFloat();
                        }
                        float[] sum = new float[n];
                        float[] ref = new float[n];
                        c.sumValues(0, first, count, col, n, w, 0, sum, 0);
                        dev.argon.tensor.Ops.weightedSum(ref, 0, w, 0, rows, 0, n, count, n);
                        assertThat(sum).as("weighted sum of %s", what).containsExactly(ref);
                    }
                }
            }
        }
    }

    @Test
    void scoresAndWeightedSumsMatchDecodedRows() {
        Random r = new Random(7);
        int[][] shapes = {{64, 2}, {128, 1}, {32, 3}, {16, 2}, {96, 2}};
        int[] counts = {1, 2, 7, 300};
        for (KvCache.Precision p : new KvCache.Precision[]{KvCache.Precision.Q8_0, KvCache.Precision.Q4_0,
                KvCache.Precision.Q4_0H, KvCache.Precision.Q4_1, KvCache.Precision.F16, KvCache.Precision.BF16}) {
            for (int[] shape : shapes) {
                int headDim = shape[0];
                int kvDim = headDim * shape[1];
                int rows = 320;
                KvCache c = filled(r, 2, rows, kvDim, headDim, p);
                for (int count : counts) {
                    int first = count == 300 ? 13 : 3;
                    for (int layer = 0; layer < 2; layer++) {
                        for (int col = 0; col < kvDim; col += headDim) {
                            check(c, r, layer, first, count, col, headDim, p + " head " + headDim + " x" + shape[1]
                                    + " rows " + first + "+" + count + " col " + col);
                        }
                    }
                }
            }
        }
    }

    private static void check(KvCache c, Random r, int layer, int first, int count, int col, int n, String what) {
        float[] decoded = new float[count * n];
        c.readKeys(layer, first, count, col, n, decoded, 0);
        float[] q = new float[n + 5];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        int qo = 5;
        float[] scores = new float[count + 2];
        double worst = 0;
        c.dotKeys(layer, first, count, col, n, q, qo, scores, 2);
        for (int p = 0; p < count; p++) {
            double ref = 0;
            double qAbs = 0;
            double kMax = 0;
            for (int j = 0; j < n; j++) {
                ref += (double) q[qo + j] * decoded[p * n + j];
                qAbs += Math.abs(q[qo + j]);
                kMax = Math.max(kMax, Math.abs(decoded[p * n + j]));
            }
            double mag = qAbs * kMax;
            worst = Math.max(worst, Math.abs(scores[2 + p] - ref) / (mag + 1e-30));
        }
        assertThat(worst).as("largest score error / (sum|q| max|k|) of %s", what).isLessThan(TOL);
        c.readValues(layer, first, count, col, n, decoded, 0);
        float[] w = new float[count + 1];
        for (int p = 0; p < count; p++) {
            w[1 + p] = r.nextFloat();
        }
        float[] out = new float[n + 3];
        worst = 0;
        java.util.Arrays.fill(out, 99f); // overwritten, not added to
        c.sumValues(layer, first, count, col, n, w, 1, out, 3);
        double[] rowMax = new double[count];
        for (int p = 0; p < count; p++) {
            for (int j = 0; j < n; j++) {
                rowMax[p] = Math.max(rowMax[p], Math.abs(decoded[p * n + j]));
            }
        }
        for (int j = 0; j < n; j++) {
            double ref = 0;
            double mag = 0;
            for (int p = 0; p < count; p++) {
                ref += (double) w[1 + p] * decoded[p * n + j];
                mag += Math.abs(w[1 + p]) * rowMax[p];
            }
            worst = Math.max(worst, Math.abs(out[3 + j] - ref) / (mag + 1e-30));
        }
        assertThat(worst).as("largest output error / (sum|w| max|v|) of %s", what).isLessThan(TOL);
    }

    /** Four queries (or four heads' weights) at once, a GQA group, give the same bits as one call per head. */
    @Test
    void fourQueriesAtOnceEqualOneAtATime() {
        Random r = new Random(3);
        for (KvCache.Precision p : new KvCache.Precision[]{KvCache.Precision.Q8_0, KvCache.Precision.Q4_0, KvCache.Precision.Q4_1H,
                KvCache.Precision.F16, KvCache.Precision.BF16, KvCache.Precision.F32}) {
            int headDim = 64;
            int kvDim = 2 * headDim;
            KvCache c = filled(r, 1, 70, kvDim, headDim, p);
            int nq = 6; // a group of four, then two single queries
            float[] q = new float[nq * headDim + 3];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) r.nextGaussian();
            }
            int count = 61;
            int stride = count + 5;
            float[] together = new float[nq * stride];
            float[] single = new float[nq * stride];
            c.dotKeys(0, 7, count, headDim, headDim, q, 3, headDim, nq, together, 2, stride);
            for (int i = 0; i < nq; i++) {
                c.dotKeys(0, 7, count, headDim, headDim, q, 3 + i * headDim, single, 2 + i * stride);
            }
            assertThat(together).as("%s", p).containsExactly(single);
            float[] w = new float[nq * stride];
            for (int i = 0; i < w.length; i++) {
                w[i] = r.nextFloat();
            }
            float[] outTogether = new float[nq * headDim + 1];
            float[] outSingle = new float[nq * headDim + 1];
            c.sumValues(0, 7, count, headDim, headDim, w, 2, stride, nq, outTogether, 1, headDim);
            for (int i = 0; i < nq; i++) {
                c.sumValues(0, 7, count, headDim, headDim, w, 2 + i * stride, outSingle, 1 + i * headDim);
            }
            assertThat(outTogether).as("values, %s", p).containsExactly(outSingle);
        }
    }

    /** Attention over a GQA cache (8 query heads on 2 KV heads of 64) with fused reads equals attention over the decoded rows. */
    @Test
    void attentionWithGroupedQueriesMatchesDecodedReference() {
        Random r = new Random(11);
        int heads = 8;
        int kvHeads = 2;
        int headDim = 64;
        int kvDim = kvHeads * headDim;
        int pos = 257;
        for (KvCache.Precision p : new KvCache.Precision[]{KvCache.Precision.Q8_0, KvCache.Precision.Q4_0, KvCache.Precision.Q4_0H,
                KvCache.Precision.Q4_1H, KvCache.Precision.F16}) {
            KvCache c = filled(r, 1, pos + 1, kvDim, headDim, p);
            float[] q = new float[heads * headDim];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) r.nextGaussian();
            }
            float[] qRef = q.clone();
            float[] out = new float[heads * headDim];
            float[] scores = new float[heads * (pos + 1)];
            Attention.attend(q, out, scores, pos + 1, new KvCache[]{c}, new int[]{pos}, 1, 0, heads, kvHeads, headDim,
                    Attention.Options.standard(headDim), new ThreadPool(2));
            if (p.rotated()) {
                Hadamard.rotate(qRef, 0, qRef.length, Hadamard.blockFor(headDim));
            }
            if (p == KvCache.Precision.F16) { // F16 caches meet queries and weights rounded to F16 (llama.cpp's F16 dot products)
                for (int i = 0; i < qRef.length; i++) {
                    qRef[i] = Float.float16ToFloat(Float.floatToFloat16(qRef[i]));
                }
            }
            float[] k = new float[(pos + 1) * headDim];
            float[] v = new float[(pos + 1) * headDim];
            double scale = 1 / Math.sqrt(headDim);
            for (int h = 0; h < heads; h++) {
                int kvh = h / (heads / kvHeads);
                c.readKeys(0, 0, pos + 1, kvh * headDim, headDim, k, 0);
                c.readValues(0, 0, pos + 1, kvh * headDim, headDim, v, 0);
                double[] s = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= pos; t++) {
                    for (int j = 0; j < headDim; j++) {
                        s[t] += (double) qRef[h * headDim + j] * k[t * headDim + j];
                    }
                    s[t] *= scale;
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                for (int t = 0; t <= pos; t++) {
                    s[t] = Math.exp(s[t] - max);
                    sum += s[t];
                }
                double[] o = new double[headDim];
                for (int t = 0; t <= pos; t++) {
                    for (int j = 0; j < headDim; j++) {
                        double wt = p == KvCache.Precision.F16 ? Float.float16ToFloat(Float.floatToFloat16((float) (s[t] / sum))) : s[t] / sum;
                        o[j] += wt * v[t * headDim + j];
                    }
                }
                float[] of = new float[headDim];
                for (int j = 0; j < headDim; j++) {
                    of[j] = (float) o[j];
                }
                if (p.rotated()) {
                    Hadamard.rotate(of, 0, headDim, Hadamard.blockFor(headDim));
                }
                for (int j = 0; j < headDim; j++) {
                    assertThat((double) out[h * headDim + j]).as("%s head %d value %d", p, h, j)
                            .isCloseTo(of[j], org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    /** A cache of {@code rows} rows of random keys and values (a few outlier channels, as real keys have). */
    private static KvCache filled(Random r, int layers, int rows, int kvDim, int headDim, KvCache.Precision p) {
        KvCache c = new KvCache(layers, rows, kvDim, headDim, p, p);
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < rows; t++) {
                for (int i = 0; i < kvDim; i++) {
                    k[i] = (float) (r.nextGaussian() * (i % 17 == 3 ? 8 : 1));
                    v[i] = (float) r.nextGaussian();
                }
                c.store(l, t, k, 0, v, 0);
            }
        }
        return c;
    }
}
