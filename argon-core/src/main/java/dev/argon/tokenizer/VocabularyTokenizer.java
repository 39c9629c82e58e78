package dev.argon.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * What every vocabulary-based tokenizer shares: the vocabulary, the output bytes of each token
 * (rendered once by the subclass) and the lookups built on them. Subclasses implement
 * {@link #encode} and fill {@link #tokenBytes} in their constructor.
 */
public abstract class VocabularyTokenizer implements Tokenizer {
    protected final Vocabulary vocab;
    /** Output bytes of each token id, {@code [vocabSize][]}; set once by the subclass constructor. */
    protected byte[][] tokenBytes;

    protected VocabularyTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
    }

    /** @return the vocabulary */
    public final Vocabulary vocabulary() {
        return vocab;
    }

    /** @return the (shared, not to be modified) output bytes of a token */
    protected final byte[] bytesOf(int id) {
        if (id < 0 || id >= tokenBytes.length) {
            throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + tokenBytes.length);
        }
        return tokenBytes[id];
    }

    @Override
    public final byte[] tokenBytes(int id) {
        return bytesOf(id).clone();
    }

    @Override
    public final String piece(int id) {
        bytesOf(id);
        return vocab.token(id);
    }

    @Override
    public final String decode(int[] ids) {
        int total = 0;
        for (int id : ids) {
            total += bytesOf(id).length;
        }
        byte[] buf = new byte[total];
        int pos = 0;
        for (int id : ids) {
            byte[] b = tokenBytes[id];
            System.arraycopy(b, 0, buf, pos, b.length);
            pos += b.length;
        }
        return new String(buf, StandardCharsets.UTF_8);
    }

    @Override
    public final int vocabSize() {
        return vocab.size();
    }

    @Override
    public final int bos() {
        return vocab.bos();
    }

    @Override
    public final int eos() {
        return vocab.eos();
    }

    @Override
    public final boolean isEndOfGeneration(int id) {
        return id >= 0 && id < vocab.size() && vocab.isEndOfGeneration(id);
    }

    @Override
    public final boolean isControl(int id) {
        return id >= 0 && id < vocab.size() && vocab.tokenType(id) == Vocabulary.CONTROL;
    }

    @Override
    public final java.util.List<String> specialTexts() {
        java.util.List<String> texts = new java.util.ArrayList<>();
        for (int id : vocab.specialsByLength()) {
            int type = vocab.tokenType(id);
            boolean marksTurns = vocab.isEndOfGeneration(id) || id == vocab.bos() || id == vocab.eos();
            if ((type == Vocabulary.CONTROL || type == Vocabulary.UNKNOWN || marksTurns) && !vocab.token(id).isEmpty()) {
                texts.add(vocab.token(id));
            }
        }
        return java.util.List.copyOf(texts);
    }
}
