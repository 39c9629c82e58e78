package dev.argon.compress;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link ArithmeticEncoder} and {@link ArithmeticDecoder}: round trips, code length, mark/reset. */
class ArithmeticCoderTest {

    /** Skewed random frequencies summing to {@code total}, each ≥ 1, as cumulative sums. */
    private static long[] randomCum(SplittableRandom r, int n, int total) {
        long[] w = new long[n];
        long sum = 0;
        for (int i = 0; i < n; i++) {
            w[i] = 1 + (long) Math.pow(r.nextDouble(), 8) * 1000;
            sum += w[i];
        }
        long[] cum = new long[n + 1];
        long c = 0;
        for (int i = 0; i < n; i++) {
            cum[i] = c;
            c += Math.max(1, w[i] * (total - n) / sum);
        }
        cum[n] = total; // the rest to the last symbol
        return cum;
    }

    private static int find(long[] cum, long target) {
        int s = 0;
        while (cum[s + 1] <= target) {
            s++;
        }
        return s;
    }

    @Test
    void randomSymbolsRoundTripAndCostTheirInformation() {
        SplittableRandom r = new SplittableRandom(7);
        int total = Frequencies.TOTAL;
        for (int trial = 0; trial < 20; trial++) {
            int n = 2 + r.nextInt(300);
            long[] cum = randomCum(r, n, total);
            int count = 1 + r.nextInt(3000);
            int[] symbols = new int[count];
            double ideal = 0;
            ArithmeticEncoder enc = new ArithmeticEncoder();
            for (int i = 0; i < count; i++) {
                // symbols drawn from the coded distribution, sometimes the rarest one
                int s = r.nextInt(10) == 0 ? r.nextInt(n) : find(cum, r.nextLong(total));
                symbols[i] = s;
                ideal += -Math.log((double) (cum[s + 1] - cum[s]) / total) / Math.log(2);
                enc.encode(cum[s], cum[s + 1], total);
            }
            long predicted = enc.bitsIfFinished();
            enc.finish();
            assertThat(enc.bits()).isEqualTo(predicted);
            assertThat((double) enc.bits()).isLessThanOrEqualTo(ideal * 1.001 + 2 + 0.001 * count);
            byte[] code = enc.toByteArray();
            ArithmeticDecoder dec = new ArithmeticDecoder(code, 0, code.length);
            for (int i = 0; i < count; i++) {
                int s = find(cum, dec.target(total));
                assertThat(s).as("symbol %d of trial %d", i, trial).isEqualTo(symbols[i]);
                dec.consume(cum[s], cum[s + 1], total);
            }
        }
    }

    @Test
    void resetToAMarkGivesTheSameCodeAsNeverEncodingTheSymbols() {
        SplittableRandom r = new SplittableRandom(11);
        int total = 1 << 16;
        long[] cum = randomCum(r, 50, total);
        ArithmeticEncoder a = new ArithmeticEncoder();
        ArithmeticEncoder b = new ArithmeticEncoder();
        for (int i = 0; i < 5000; i++) {
            int s = r.nextInt(50);
            a.encode(cum[s], cum[s + 1], total);
            ArithmeticEncoder.Mark m = a.mark();
            for (int k = 0; k < 1 + r.nextInt(40); k++) {
                int t = r.nextInt(50);
                a.encode(cum[t], cum[t + 1], total);
            }
            a.reset(m);
            b.encode(cum[s], cum[s + 1], total);
        }
        a.finish();
        b.finish();
        assertThat(a.bits()).isEqualTo(b.bits());
        assertThat(a.toByteArray()).isEqualTo(b.toByteArray());
    }
}
