package dev.argon.compress;

import dev.argon.ArgonException;
import dev.argon.kv.KvCache;
import dev.argon.model.Batch;
import dev.argon.model.InferenceState;
import dev.argon.model.LanguageModel;
import dev.argon.tensor.Simd;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * Lossless compression with a language model: each token is arithmetic-coded
 * ({@link ArithmeticEncoder}) with the model's next-token distribution ({@link Frequencies}), as in
 * Delétang et al., "Language Modeling Is Compression" (2023) and Lester et al., "Training LLMs
 * over Neurally Compressed Text" (2024).
 *
 * <p>The tokens ({@link LosslessTokens}) are cut into windows, each evaluated from an empty
 * context that starts with BOS (a vocabulary without BOS codes a window's first token with a
 * uniform distribution):
 * <ul>
 *   <li>{@code windowBits == 0}: windows of {@code context - 1} tokens, one code for the file;</li>
 *   <li>{@code windowBits > 0}: Equal-Info Windows — the coder is reset with the context, and a
 *   window takes tokens while its finished code fits in {@code windowBits} bits; each window is
 *   stored as its token count (a varint) and exactly {@code windowBits / 8} bytes.</li>
 * </ul>
 *
 * <p>Decoding needs bit-identical probabilities. Argon's forward pass is deterministic run to run,
 * independent of the thread count and of the other rows of a {@link Batch} (compression runs many
 * positions per pass, decompression one), and every row here is a prompt row so both use the same
 * arithmetic. The summation order of the SIMD kernels depends on the vector width, so the width
 * and the arithmetic mode are recorded in the header and decompression refuses another one.
 */
public final class LmCodec {
    /** Progress in tokens. */
    public interface Listener {
        /** @param done tokens coded so far, of {@code total} */
        void progress(long done, long total);
    }

    /**
     * What a compression did.
     *
     * @param bytes original length
     * @param tokens tokens coded
     * @param windows windows (model contexts)
     * @param codeBits bits of arithmetic code (without the header, window counts and padding)
     * @param fileBytes compressed size including the header
     * @param modelBits the model's cross-entropy of the tokens in bits
     * @param quantizedBits the same under the quantized frequencies (the ideal code length; below
     *     {@code modelBits} when tokens the model gives less than 2^-24 cost 24 bits instead)
     */
    public record Stats(long bytes, long tokens, long windows, long codeBits, long fileBytes, double modelBits, double quantizedBits) {
        /** @return compressed bits per original byte */
        public double bitsPerByte() {
            return bytes == 0 ? 0 : 8.0 * fileBytes / bytes;
        }

        /** @return one line for reports */
        public String summary() {
            return String.format(Locale.ROOT,
                    "%d bytes -> %d bytes (%.4f bits/byte), %d tokens in %d windows; model cross-entropy %.4f bits/byte,"
                            + " arithmetic code %d bits (%+.3f%% of it; %+.3f%% of the quantized distribution's), header and window framing %d bytes",
                    bytes, fileBytes, bitsPerByte(), tokens, windows, bytes == 0 ? 0 : modelBits / bytes, codeBits,
                    modelBits == 0 ? 0 : 100.0 * (codeBits - modelBits) / modelBits,
                    quantizedBits == 0 ? 0 : 100.0 * (codeBits - quantizedBits) / quantizedBits, fileBytes - (codeBits + 7) / 8);
        }
    }

    private final LanguageModel model;
    private final byte[] modelId;
    private final String mode;
    private final KvCache.Precision cache;
    private final LosslessTokens lossless;
    private final int vocab;
    private final int bos;

    /**
     * @param model the model
     * @param modelId its {@link ModelIdentity}
     * @param quantizedActivations whether the model was loaded with 8-bit activations (recorded)
     * @param cache KV cache type (recorded)
     * @throws ArgonException if the vocabulary cannot represent every byte
     */
    public LmCodec(LanguageModel model, byte[] modelId, boolean quantizedActivations, KvCache.Precision cache) {
        this.model = model;
        this.modelId = modelId.clone();
        this.cache = cache;
        this.mode = mode(quantizedActivations, cache);
        this.lossless = new LosslessTokens(model.tokenizer());
        this.vocab = model.config().vocabSize();
        this.bos = model.tokenizer().bos();
        new Frequencies(vocab); // checks the vocabulary size
    }

    /** @return the header's mode text: {@code q8/f16}, {@code f32/f32}, ... */
    public static String mode(boolean quantizedActivations, KvCache.Precision cache) {
        return (quantizedActivations ? "q8" : "f32") + "/" + cache.flagName();
    }

    /**
     * Compresses {@code data} to {@code out} (header and body).
     *
     * @param context tokens per model context (2 .. the model's context length)
     * @param windowBits 0, or the Equal-Info Window size: a multiple of 8, at least 32
     * @param batchSize positions per forward pass (does not change the output)
     */
    public Stats compress(byte[] data, OutputStream out, int context, int windowBits, int batchSize, Listener listener)
            throws IOException {
        checkOptions(context, windowBits, batchSize);
        int[] tokens = lossless.encode(data);
        CRC32 crc = new CRC32();
        crc.update(data);
        CompressedHeader h = new CompressedHeader(windowBits, context, Simd.vectorBits(), mode, modelId, data.length, tokens.length,
                (int) crc.getValue());
        CountingOutput counted = new CountingOutput(out);
        h.write(counted);
        Frequencies f = new Frequencies(vocab);
        Ahead ahead = new Ahead(context, batchSize);
        ArithmeticEncoder enc = new ArithmeticEncoder();
        double modelBits = 0;
        double quantizedBits = 0;
        long codeBits = 0;
        long windows = 0;
        int lastWindow = 0;
        int pos = 0;
        while (pos < tokens.length) {
            windows++;
            if (windowBits > 0) {
                enc = new ArithmeticEncoder();
            }
            ahead.start(tokens, pos);
            int k = 0;
            int max = Math.min(context - 1, tokens.length - pos);
            if (windowBits > 0 && windows > 1) {
                // compute about as many positions per pass as the last window took (results do not depend on it)
                ahead.limit = Math.max(8, lastWindow + 8);
            }
            while (k < max) {
                int t = tokens[pos + k];
                distribution(f, ahead, k);
                ArithmeticEncoder.Mark m = windowBits > 0 ? enc.mark() : null;
                enc.encode(f.low(t), f.high(t), Frequencies.TOTAL);
                if (windowBits > 0 && enc.bitsIfFinished() > windowBits) {
                    if (k == 0) {
                        throw new ArgonException("--window-bits " + windowBits + " is too small: token " + (pos + k) + " alone needs "
                                + enc.bitsIfFinished() + " bits");
                    }
                    enc.reset(m);
                    break;
                }
                modelBits += f.modelBits(t);
                quantizedBits += f.bits(t);
                k++;
                if (listener != null) {
                    listener.progress(pos + k, tokens.length);
                }
            }
            pos += k;
            lastWindow = k;
            if (windowBits > 0) {
                enc.finish();
                codeBits += enc.bits();
                writeVarint(counted, k);
                counted.write(Arrays.copyOf(enc.toByteArray(), windowBits / 8));
            }
        }
        if (windowBits == 0) {
            enc.finish();
            codeBits = enc.bits();
            counted.write(enc.toByteArray());
        }
        counted.flush();
        return new Stats(data.length, tokens.length, windows, codeBits, counted.count, modelBits, quantizedBits);
    }

    /**
     * Decompresses a body whose header was read (and checked with {@link #check}) already.
     *
     * @param name the file's name, for messages
     * @return the original data
     * @throws ArgonException if the data is truncated or decodes to something other than the original
     */
    public byte[] decompress(CompressedHeader h, InputStream body, String name, Listener listener) throws IOException {
        check(h, name);
        int context = h.context();
        int windowBits = h.windowBits();
        long n = h.tokens();
        if (n > Integer.MAX_VALUE - 8) {
            throw new ArgonException(name + ": " + n + " tokens is more than this Argon decodes");
        }
        int[] tokens = new int[(int) n];
        Frequencies f = new Frequencies(vocab);
        Ahead ahead = new Ahead(context, 1);
        ArithmeticDecoder dec = null;
        DataInputStream in = new DataInputStream(body);
        if (windowBits == 0) {
            byte[] code = in.readAllBytes();
            dec = new ArithmeticDecoder(code, 0, code.length);
        }
        int pos = 0;
        while (pos < n) {
            int count = (int) Math.min(context - 1, n - pos);
            if (windowBits > 0) {
                try {
                    count = readVarint(in);
                    byte[] code = new byte[windowBits / 8];
                    in.readFully(code);
                    dec = new ArithmeticDecoder(code, 0, code.length);
                } catch (EOFException e) {
                    throw new ArgonException(name + ": truncated (a window is missing after " + pos + " of " + n + " tokens)");
                }
                if (count < 1 || count > context - 1 || count > n - pos) {
                    throw new ArgonException(name + ": corrupt window of " + count + " tokens after " + pos + " of " + n);
                }
            }
            ahead.start(tokens, pos);
            for (int k = 0; k < count; k++) {
                distribution(f, ahead, k);
                int t = f.find(dec.target(Frequencies.TOTAL));
                dec.consume(f.low(t), f.high(t), Frequencies.TOTAL);
                tokens[pos + k] = t;
                if (listener != null) {
                    listener.progress(pos + k + 1, n);
                }
            }
            pos += count;
        }
        byte[] data = lossless.decode(tokens);
        CRC32 crc = new CRC32();
        crc.update(data);
        if (data.length != h.bytes() || (int) crc.getValue() != h.crc32()) {
            throw new ArgonException(String.format(Locale.ROOT,
                    "%s: decoded data does not match the original (%d bytes, expected %d; CRC-32 %08x, expected %08x): the file is corrupt"
                            + " or the model computes other probabilities than at compression", name, data.length, h.bytes(),
                    (int) crc.getValue(), h.crc32()));
        }
        return data;
    }

    /**
     * Checks that this codec computes the probabilities the file was coded with.
     *
     * @throws ArgonException naming what differs: the model, the SIMD width or the arithmetic mode
     */
    public void check(CompressedHeader h, String name) {
        if (!Arrays.equals(h.model(), modelId)) {
            throw new ArgonException(name + ": compressed with another model (identity " + ModelIdentity.shortHex(h.model())
                    + "…, this model is " + ModelIdentity.shortHex(modelId) + "…); decompress with the same model file");
        }
        if (h.vectorBits() != Simd.vectorBits()) {
            throw new ArgonException(name + ": compressed with " + width(h.vectorBits()) + " SIMD kernels, this JVM runs "
                    + width(Simd.vectorBits()) + " ones, whose sums round differently; decompress on a machine (or with -Dargon.simd="
                    + (h.vectorBits() == 0 ? "off" : h.vectorBits()) + ") of that width");
        }
        if (!h.mode().equals(mode)) {
            throw new ArgonException(name + ": compressed in arithmetic mode " + h.mode() + ", this model runs " + mode);
        }
        if (h.context() > model.config().contextLength()) {
            throw new ArgonException(name + ": compressed with a context of " + h.context() + " tokens; the model has " + model.config().contextLength());
        }
    }

    private static String width(int bits) {
        return bits == 0 ? "scalar" : bits + "-bit";
    }

    private void checkOptions(int context, int windowBits, int batchSize) {
        if (context < 2 || context > model.config().contextLength()) {
            throw new ArgonException("context (-c) is " + context + "; expected 2.." + model.config().contextLength() + " (the model's context)");
        }
        if (windowBits != 0 && (windowBits < 32 || windowBits % 8 != 0)) {
            throw new ArgonException("--window-bits is " + windowBits + "; expected 0 (off) or a multiple of 8, at least 32");
        }
        if (batchSize < 1) {
            throw new ArgonException("batch size (-b) is " + batchSize + "; expected at least 1");
        }
    }

    /** Sets {@code f} to the distribution of a window's token {@code k}. */
    private void distribution(Frequencies f, Ahead ahead, int k) {
        if (bos < 0 && k == 0) {
            f.setUniform();
        } else {
            f.setLogits(ahead.logits(bos >= 0 ? k : k - 1));
        }
    }

    /**
     * The logits after each model input of a window ({@code [BOS] + tokens}), computed
     * {@code batchSize} positions per forward pass as they are asked for, in order.
     */
    private final class Ahead {
        private final InferenceState state;
        private final Batch batch;
        private final float[][] rows;
        private final int context;
        private int[] tokens;
        private int start;
        private int first;
        private int count;
        /** Most positions per pass for the current window (Equal-Info Windows end early). */
        int limit = Integer.MAX_VALUE;

        Ahead(int context, int batchSize) {
            this.context = context;
            this.state = model.newState(context, cache, cache);
            this.batch = new Batch(Math.min(batchSize, context));
            this.rows = new float[batch.capacity()][vocab];
        }

        /** Begins a window at {@code tokens[start]} (a fresh context). */
        void start(int[] tokens, int start) {
            this.tokens = tokens;
            this.start = start;
            this.first = 0;
            this.count = 0;
        }

        /** @return the logits after model input {@code j} (BOS is input 0 when there is one) */
        float[] logits(int j) {
            if (j < first || j >= first + count) {
                if (j != first + count) {
                    throw new IllegalStateException("logits asked out of order: " + j);
                }
                batch.clear();
                int inputs = Math.min(context, (bos >= 0 ? 1 : 0) + tokens.length - start);
                int rowsNow = Math.min(Math.min(batch.capacity(), limit), inputs - j);
                for (int r = 0; r < rowsNow; r++) {
                    batch.add(state, input(j + r), j + r, true, true);
                }
                model.forward(batch);
                for (int r = 0; r < rowsNow; r++) {
                    System.arraycopy(batch.logits(r), 0, rows[r], 0, vocab);
                }
                first = j;
                count = rowsNow;
            }
            return rows[j - first];
        }

        private int input(int j) {
            return bos >= 0 ? (j == 0 ? bos : tokens[start + j - 1]) : tokens[start + j];
        }
    }

    private static void writeVarint(OutputStream out, int v) throws IOException {
        while ((v & ~0x7F) != 0) {
            out.write((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }

    private static int readVarint(DataInputStream in) throws IOException {
        int v = 0;
        for (int shift = 0; shift < 32; shift += 7) {
            int b = in.readUnsignedByte();
            v |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new ArgonException("corrupt window header (a token count longer than 5 bytes)");
    }

    private static final class CountingOutput extends java.io.FilterOutputStream {
        long count;

        CountingOutput(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    /** @return a {@link ByteArrayOutputStream}-backed helper: the whole compressed file of {@code data} */
    public byte[] compress(byte[] data, int context, int windowBits, int batchSize) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        compress(data, out, context, windowBits, batchSize, null);
        return out.toByteArray();
    }
}
