package dev.argon.eval;

import dev.argon.ArgonException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * Compares a model configuration with a reference one over the positions {@link Perplexity}
 * scores, in the manner of llama.cpp's {@code llama-perplexity --kl-divergence-base FILE}: a first
 * run {@linkplain #writer writes} the reference log-probabilities of every scored position to a
 * file; a second run (another weight type, KV cache type or policy) {@linkplain #reader reads}
 * them back and reports the mean Kullback–Leibler divergence KL(P_base ‖ Q) = Σ p_i (ln p_i − ln
 * q_i), how often the most likely token agrees (top-1 agreement) and the perplexity change.
 *
 * <p>The file is Argon's own (little-endian): magic {@code ARGNKLD1}, int32 vocabulary size,
 * context, chunks and token count, the int32 token ids of the evaluated chunks (a later run must
 * evaluate the same tokens), then for every scored position {@code vocab} float32
 * log-probabilities (exact, not quantized: 4 bytes × vocabulary per position, e.g. 72 MB for 567
 * positions of a 32000-token vocabulary). It is written to a temporary file and renamed.
 */
public final class KlDivergence {
    private static final byte[] MAGIC = "ARGNKLD1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + 16;

    private KlDivergence() {
    }

    /**
     * Writes the reference file for {@code tokens} evaluated at context {@code ctx} in
     * {@code chunks} chunks; {@link Writer#close} renames it into place.
     */
    public static Writer writer(Path file, int vocab, int ctx, int chunks, int[] tokens) {
        return new Writer(file, vocab, ctx, chunks, Arrays.copyOf(tokens, chunks * ctx));
    }

    /**
     * Opens a reference file to compare against.
     *
     * @throws ArgonException if the file is missing, not such a file, truncated, or was made for
     *     another vocabulary size, context, chunk count or text (the message names which)
     */
    public static Comparison reader(Path file, int vocab, int ctx, int chunks, int[] tokens) {
        return new Comparison(file, vocab, ctx, chunks, Arrays.copyOf(tokens, chunks * ctx));
    }

    /** Writes the reference log-probabilities; a {@link Perplexity.PositionSink}. */
    public static final class Writer implements Perplexity.PositionSink, AutoCloseable {
        private final Path file;
        private final Path temp;
        private final FileChannel channel;
        private final ByteBuffer buffer;
        private boolean failed = true;

        private Writer(Path file, int vocab, int ctx, int chunks, int[] tokens) {
            this.file = file;
            try {
                Path dir = file.toAbsolutePath().getParent();
                this.temp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
                this.channel = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                ByteBuffer head = ByteBuffer.allocate(HEADER + 4 * tokens.length).order(ByteOrder.LITTLE_ENDIAN);
                head.put(MAGIC).putInt(vocab).putInt(ctx).putInt(chunks).putInt(tokens.length);
                for (int t : tokens) {
                    head.putInt(t);
                }
                write(head.flip());
            } catch (NoSuchFileException e) {
                throw new ArgonException(file + ": the directory does not exist");
            } catch (IOException e) {
                throw new ArgonException(file + ": cannot write the base logits: " + e.getMessage(), e);
            }
            this.buffer = ByteBuffer.allocate(4 * vocab).order(ByteOrder.LITTLE_ENDIAN);
            failed = false;
        }

        @Override
        public void accept(int chunk, float[] logProbs, int next) {
            buffer.clear();
            buffer.asFloatBuffer().put(logProbs);
            buffer.position(4 * logProbs.length);
            write(buffer.flip());
        }

        private void write(ByteBuffer b) {
            try {
                while (b.hasRemaining()) {
                    channel.write(b);
                }
            } catch (IOException e) {
                failed = true;
                throw new ArgonException(file + ": cannot write the base logits: " + e.getMessage(), e);
            }
        }

        /** Abandons the file (the temporary file is deleted, nothing is renamed). */
        public void abort() {
            failed = true;
            close();
        }

        @Override
        public void close() {
            try {
                channel.close();
                if (failed) {
                    Files.deleteIfExists(temp);
                    return;
                }
                try {
                    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } catch (IOException e) {
                throw new ArgonException(file + ": cannot write the base logits: " + e.getMessage(), e);
            }
        }
    }

    /**
     * The statistics of a comparison.
     *
     * @param positions scored positions compared
     * @param meanKld mean KL(P_base ‖ Q) in nats, with its standard error {@code kldError}
     * @param p99Kld 99th percentile of the per-position divergence
     * @param maxKld largest per-position divergence
     * @param top1Agreement fraction of positions whose most likely token is the same, with its
     *     standard error {@code top1Error}
     * @param pplBase perplexity of the reference over the same positions
     * @param ppl perplexity of this run
     * @param meanLnRatio mean of ln(PPL/PPL_base) per token (= ln(ppl / pplBase)), with its standard
     *     error {@code lnRatioError}
     */
    public record Stats(long positions, double meanKld, double kldError, double p99Kld, double maxKld, double top1Agreement,
            double top1Error, double pplBase, double ppl, double meanLnRatio, double lnRatioError) {
        /** @return {@code (ppl - pplBase) / pplBase} */
        public double relativePplChange() {
            return ppl / pplBase - 1;
        }

        /** @return the report, one statistic per line */
        public String report() {
            return String.format(Locale.ROOT, """
                    ====== Perplexity statistics ======
                    Mean PPL(Q)                   : %10.6f
                    Mean PPL(base)                : %10.6f
                    Mean ln(PPL(Q)/PPL(base))     : %10.6f +/- %10.6f
                    PPL change                    : %+9.4f %%
                    ====== KL divergence statistics ======
                    Positions                     : %d
                    Mean    KLD                   : %10.6f +/- %10.6f
                    99.0%%   KLD                   : %10.6f
                    Maximum KLD                   : %10.6f
                    Same top p                    : %7.3f +/- %6.3f %%
                    """, ppl, pplBase, meanLnRatio, lnRatioError, 100 * relativePplChange(), positions, meanKld, kldError, p99Kld,
                    maxKld, 100 * top1Agreement, 100 * top1Error);
        }
    }

    /** Reads the reference and accumulates the comparison; a {@link Perplexity.PositionSink}. */
    public static final class Comparison implements Perplexity.PositionSink, AutoCloseable {
        private final Path file;
        private final FileChannel channel;
        private final ByteBuffer buffer;
        private final float[] base;
        private final long expectedPositions;
        private double[] klds = new double[1024];
        private long n;
        private double kldSum;
        private double kldSq;
        private long same;
        private double nllBase;
        private double nll;
        private double diffSum;
        private double diffSq;

        private Comparison(Path file, int vocab, int ctx, int chunks, int[] tokens) {
            this.file = file;
            try {
                this.channel = FileChannel.open(file, StandardOpenOption.READ);
                ByteBuffer head = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
                readFully(head, "its header");
                byte[] magic = new byte[MAGIC.length];
                head.flip().get(magic);
                if (!Arrays.equals(magic, MAGIC)) {
                    throw new ArgonException(file + ": not an Argon base-logits file (expected magic ARGNKLD1 at offset 0; write one with --kl-divergence-base FILE alone)");
                }
                int fVocab = head.getInt();
                int fCtx = head.getInt();
                int fChunks = head.getInt();
                int fTokens = head.getInt();
                check("vocabulary size", fVocab, vocab);
                check("context (-c)", fCtx, ctx);
                check("chunk count (--chunks or the text's length)", fChunks, chunks);
                check("token count", fTokens, tokens.length);
                ByteBuffer ids = ByteBuffer.allocate(4 * fTokens).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ids, "its token ids");
                ids.flip();
                for (int i = 0; i < fTokens; i++) {
                    int t = ids.getInt();
                    if (t != tokens[i]) {
                        throw new ArgonException(String.format(Locale.ROOT,
                                "%s: made for another text or tokenizer: token %d is %d there and %d here", file, i, t, tokens[i]));
                    }
                }
                int perChunk = ctx - ctx / 2 - 1;
                this.expectedPositions = (long) chunks * perChunk;
                long size = channel.size();
                long want = HEADER + 4L * fTokens + expectedPositions * 4L * vocab;
                if (size != want) {
                    throw new ArgonException(String.format(Locale.ROOT, "%s: is %d bytes; expected %d (truncated or damaged)", file, size, want));
                }
            } catch (NoSuchFileException e) {
                throw new ArgonException(file + ": base logits file not found (write it first with --kl-divergence-base FILE without --kl-divergence)");
            } catch (IOException e) {
                throw new ArgonException(file + ": cannot read the base logits: " + e.getMessage(), e);
            }
            this.buffer = ByteBuffer.allocate(4 * vocab).order(ByteOrder.LITTLE_ENDIAN);
            this.base = new float[vocab];
        }

        private void check(String what, int inFile, int here) {
            if (inFile != here) {
                throw new ArgonException(String.format(Locale.ROOT, "%s: made with %s %d, this run has %d", file, what, inFile, here));
            }
        }

        private void readFully(ByteBuffer b, String what) throws IOException {
            while (b.hasRemaining()) {
                if (channel.read(b) < 0) {
                    throw new ArgonException(file + ": truncated in " + what);
                }
            }
        }

        @Override
        public void accept(int chunk, float[] logProbs, int next) {
            buffer.clear();
            try {
                readFully(buffer, "the log-probabilities");
            } catch (IOException e) {
                throw new ArgonException(file + ": cannot read the base logits: " + e.getMessage(), e);
            }
            buffer.flip().asFloatBuffer().get(base);
            double kld = 0;
            int argBase = 0;
            int argQ = 0;
            for (int i = 0; i < base.length; i++) {
                double lp = base[i];
                if (lp > Float.NEGATIVE_INFINITY) {
                    kld += Math.exp(lp) * (lp - logProbs[i]);
                }
                if (base[i] > base[argBase]) {
                    argBase = i;
                }
                if (logProbs[i] > logProbs[argQ]) {
                    argQ = i;
                }
            }
            kld = Math.max(0, kld); // rounding can make a near-zero sum slightly negative
            if (n == klds.length) {
                klds = Arrays.copyOf(klds, klds.length * 2);
            }
            klds[(int) n++] = kld;
            kldSum += kld;
            kldSq += kld * kld;
            if (argBase == argQ) {
                same++;
            }
            nllBase -= base[next];
            nll -= logProbs[next];
            double d = base[next] - (double) logProbs[next];
            diffSum += d;
            diffSq += d * d;
        }

        /**
         * @return the statistics over the positions seen
         * @throws ArgonException if the run scored fewer positions than the file holds
         */
        public Stats stats() {
            if (n != expectedPositions) {
                throw new ArgonException(String.format(Locale.ROOT, "%s: holds %d positions, this run compared %d", file, expectedPositions, n));
            }
            double meanKld = kldSum / n;
            double kldErr = se(kldSum, kldSq, n);
            double[] sorted = Arrays.copyOf(klds, (int) n);
            Arrays.sort(sorted);
            double p99 = sorted[(int) Math.min(n - 1, Math.round(0.99 * (n - 1)))];
            double top1 = (double) same / n;
            double top1Err = Math.sqrt(top1 * (1 - top1) / Math.max(1, n - 1));
            double meanDiff = diffSum / n;
            return new Stats(n, meanKld, kldErr, p99, sorted[(int) n - 1], top1, top1Err, Math.exp(nllBase / n), Math.exp(nll / n),
                    meanDiff, se(diffSum, diffSq, n));
        }

        private static double se(double sum, double sq, long n) {
            if (n < 2) {
                return 0;
            }
            double mean = sum / n;
            double var = Math.max(0, sq / n - mean * mean);
            return Math.sqrt(var / (n - 1));
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // read-only: nothing to lose
            }
        }
    }
}
