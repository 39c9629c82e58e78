package dev.argon.kv;

import dev.argon.ArgonException;

/**
 * MiniCache's cross-layer merging (Liu et al., 2024, "MiniCache: KV Cache Compression in Depth
 * Dimension for Large Language Models", NeurIPS 2024). Layers are paired from the start layer
 * {@code S} (default the middle, {@code L/2}) to the last: {@code (S, S+1), (S+2, S+3), ...}; the
 * layers below {@code S} (and a last unpaired one) keep their rows as they are. For a paired token,
 * the key (and separately the value) vectors {@code x_a}, {@code x_b} of its two layers are split
 * into magnitudes {@code |x|} and directions {@code u = x/|x|}; the directions are merged by SLERP,
 * {@code e = sin((1-t)θ)/sinθ · u_a + sin(tθ)/sinθ · u_b} with {@code cos θ = u_a·u_b}, and each
 * layer is restored as {@code |x_a| e} and {@code |x_b| e}. One direction row and two magnitudes
 * per side are stored instead of two rows (the direction in the cache's encoding, the magnitudes as
 * floats). Token retention: the angular distance {@code d = θ/π} of each token's keys and of its
 * values is compared with {@code d_min + γ (d_max - d_min)} over the tokens merged together; a
 * token above either threshold stays unmerged in both layers (one row each, exact).
 *
 * <p>Magnitudes and directions are of the token's whole key (or value) vector of the layer,
 * {@code kvDim} values, as in the paper. Attention scores of a merged row are {@code |x| (q·e)};
 * its value enters the weighted sum with weight {@code w |x_v|}.
 */
final class MiniCacheRows extends CompressedRows {
    private final int start;
    private final int pairs;
    private final double t;
    private final double gamma;
    /** Per layer: its own rows (layers outside a pair: every row; paired layers: the retained tokens). */
    private final Plain[] own;
    /** Per pair: the merged direction rows (keys and values). */
    private final Plain[] dir;
    /** Per pair: magnitudes {@code [pair][side 0|1][row]} of the keys and of the values. */
    private final float[][][] magK;
    private final float[][][] magV;
    /** Tokens merged (not retained) and retained so far, for statistics. */
    long merged;
    long retained;

    MiniCacheRows(int nLayers, int kvDim, int headDim, KvCache.Precision kp, KvCache.Precision vp, ContextPolicy.Merge m) {
        super(nLayers, kvDim, headDim, kp, vp);
        this.start = m.startLayer() < 0 ? nLayers / 2 : m.startLayer();
        if (start >= nLayers) {
            throw new ArgonException("--minicache-start " + start + " is past the model's last layer (" + (nLayers - 1) + ")");
        }
        this.pairs = (nLayers - start) / 2;
        this.t = m.t();
        this.gamma = m.gamma();
        own = new Plain[nLayers];
        for (int l = 0; l < nLayers; l++) {
            own[l] = new Plain();
        }
        dir = new Plain[pairs];
        magK = new float[pairs][2][64];
        magV = new float[pairs][2][64];
        for (int p = 0; p < pairs; p++) {
            dir[p] = new Plain();
        }
    }

    /** @return the pair of layer {@code layer}, or -1 */
    private int pair(int layer) {
        int p = (layer - start) / 2;
        return layer >= start && p < pairs ? p : -1;
    }

    @Override
    int rows(int layer) {
        int p = pair(layer);
        return own[layer].count + (p < 0 ? 0 : dir[p].count);
    }

    @Override
    void dots(int layer, int first, int count, int col, int n, float[] q, int qo, int qs, int nq, float[] out, int oo, int os) {
        Plain o = own[layer];
        if (first < o.count) {
            int k = Math.min(count, o.count - first);
            o.dots(first, k, col, n, q, qo, qs, nq, out, oo, os);
            first += k;
            count -= k;
            oo += k;
        }
        if (count == 0) {
            return;
        }
        int p = pair(layer);
        int r0 = first - o.count;
        dir[p].dots(r0, count, col, n, q, qo, qs, nq, out, oo, os);
        float[] mag = magK[p][(layer - start) & 1];
        for (int i = 0; i < nq; i++) {
            for (int r = 0; r < count; r++) {
                out[oo + i * os + r] *= mag[r0 + r];
            }
        }
    }

    @Override
    void addWeightedSum(int layer, int first, int count, int col, int n, float[] w, int wo, int ws, int nq, float[] out, int oo, int os) {
        Plain o = own[layer];
        if (first < o.count) {
            int k = Math.min(count, o.count - first);
            o.addWeightedSum(first, k, col, n, w, wo, ws, nq, out, oo, os);
            first += k;
            count -= k;
            wo += k;
        }
        if (count == 0) {
            return;
        }
        int p = pair(layer);
        int r0 = first - o.count;
        float[] mag = magV[p][(layer - start) & 1];
        float[] scaled = scratch2(nq * count);
        for (int i = 0; i < nq; i++) {
            for (int r = 0; r < count; r++) {
                scaled[i * count + r] = w[wo + i * ws + r] * mag[r0 + r];
            }
        }
        dir[p].addWeightedSum(r0, count, col, n, scaled, 0, count, nq, out, oo, os);
    }

    @Override
    void absorb(KvCache cache, int count) {
        float[] ka = new float[count * kvDim];
        float[] va = new float[count * kvDim];
        for (int l = 0; l < nLayers; l++) {
            if (pair(l) >= 0) {
                continue;
            }
            cache.readKeys(l, 0, count, 0, kvDim, ka, 0);
            cache.readValues(l, 0, count, 0, kvDim, va, 0);
            for (int i = 0; i < count; i++) {
                own[l].append(ka, i * kvDim, va, i * kvDim);
            }
        }
        float[] kb = new float[count * kvDim];
        float[] vb = new float[count * kvDim];
        float[] ek = new float[kvDim];
        float[] ev = new float[kvDim];
        double[] dk = new double[count];
        double[] dv = new double[count];
        for (int p = 0; p < pairs; p++) {
            int a = start + 2 * p;
            int b = a + 1;
            cache.readKeys(a, 0, count, 0, kvDim, ka, 0);
            cache.readValues(a, 0, count, 0, kvDim, va, 0);
            cache.readKeys(b, 0, count, 0, kvDim, kb, 0);
            cache.readValues(b, 0, count, 0, kvDim, vb, 0);
            for (int i = 0; i < count; i++) {
                dk[i] = angularDistance(ka, i * kvDim, kb, i * kvDim, kvDim);
                dv[i] = angularDistance(va, i * kvDim, vb, i * kvDim, kvDim);
            }
            double thK = threshold(dk, gamma);
            double thV = threshold(dv, gamma);
            for (int i = 0; i < count; i++) {
                int o = i * kvDim;
                if (dk[i] > thK || dv[i] > thV) {
                    own[a].append(ka, o, va, o);
                    own[b].append(kb, o, vb, o);
                    retained++;
                    continue;
                }
                slerp(ka, o, kb, o, kvDim, t, ek, 0);
                slerp(va, o, vb, o, kvDim, t, ev, 0);
                int r = dir[p].count;
                grow(p, r + 1);
                magK[p][0][r] = (float) norm(ka, o, kvDim);
                magK[p][1][r] = (float) norm(kb, o, kvDim);
                magV[p][0][r] = (float) norm(va, o, kvDim);
                magV[p][1][r] = (float) norm(vb, o, kvDim);
                dir[p].append(ek, 0, ev, 0);
                merged++;
            }
        }
    }

    private void grow(int p, int rows) {
        if (rows > magK[p][0].length) {
            int n = Math.max(rows, 2 * magK[p][0].length);
            for (int s = 0; s < 2; s++) {
                magK[p][s] = java.util.Arrays.copyOf(magK[p][s], n);
                magV[p][s] = java.util.Arrays.copyOf(magV[p][s], n);
            }
        }
    }

    /** @return {@code d_min + gamma (d_max - d_min)} over {@code d} (retain what lies above) */
    static double threshold(double[] d, double gamma) {
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (double x : d) {
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        return min + gamma * (max - min);
    }

    /** @return the angular distance {@code arccos(cos θ)/π} in [0, 1] between two vectors (0 if either is zero) */
    static double angularDistance(float[] a, int ao, float[] b, int bo, int n) {
        return Math.acos(cosine(a, ao, b, bo, n)) / Math.PI;
    }

    /**
     * SLERP of the directions of {@code a[ao ..]} and {@code b[bo ..]} ({@code n} values) at {@code t},
     * written to {@code out[oo ..]} as a unit vector (zero if both are zero; the other's direction if one is).
     * Nearly parallel directions ({@code sin θ < 1e-6}) are interpolated linearly and renormalized.
     */
    static void slerp(float[] a, int ao, float[] b, int bo, int n, double t, float[] out, int oo) {
        double na = norm(a, ao, n);
        double nb = norm(b, bo, n);
        if (na == 0 || nb == 0) {
            float[] src = na == 0 ? b : a;
            int so = na == 0 ? bo : ao;
            double nn = na == 0 ? nb : na;
            for (int i = 0; i < n; i++) {
                out[oo + i] = nn == 0 ? 0 : (float) (src[so + i] / nn);
            }
            return;
        }
        double cos = 0;
        for (int i = 0; i < n; i++) {
            cos += (a[ao + i] / na) * (b[bo + i] / nb);
        }
        cos = Math.max(-1, Math.min(1, cos));
        double theta = Math.acos(cos);
        double sin = Math.sin(theta);
        double wa;
        double wb;
        if (sin < 1e-6) {
            wa = 1 - t;
            wb = t;
        } else {
            wa = Math.sin((1 - t) * theta) / sin;
            wb = Math.sin(t * theta) / sin;
        }
        double s = 0;
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            e[i] = wa * a[ao + i] / na + wb * b[bo + i] / nb;
            s += e[i] * e[i];
        }
        double len = Math.sqrt(s);
        for (int i = 0; i < n; i++) {
            out[oo + i] = len == 0 ? 0 : (float) (e[i] / len);
        }
    }

    @Override
    long bytes() {
        long b = 0;
        for (Plain o : own) {
            b += o.bytes();
        }
        for (int p = 0; p < pairs; p++) {
            b += dir[p].bytes() + 4L * Float.BYTES * magK[p][0].length;
        }
        return b;
    }

    @Override
    long storedBytes() {
        long b = 0;
        for (Plain o : own) {
            b += o.storedBytes();
        }
        for (int p = 0; p < pairs; p++) {
            b += dir[p].storedBytes() + 4L * Float.BYTES * dir[p].count; // two magnitudes for keys, two for values
        }
        return b;
    }

    @Override
    void clear() {
        for (Plain o : own) {
            o.clear();
        }
        for (int p = 0; p < pairs; p++) {
            dir[p].clear();
            magK[p] = new float[2][64];
            magV[p] = new float[2][64];
        }
    }
}
