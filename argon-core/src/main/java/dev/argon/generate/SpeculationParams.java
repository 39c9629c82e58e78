package dev.argon.generate;

import dev.argon.ArgonException;

import java.util.Locale;

/**
 * Speculative decoding settings of one generation (llama.cpp's {@code --draft-max}, {@code --draft-min},
 * {@code --draft-p-min}; vLLM's {@code speculative_disable_by_batch_size}). A proposer guesses up to
 * {@code draftMax} next tokens; the target model checks all of them in one forward pass of
 * {@code k + 1} rows and keeps the longest prefix that exact verification accepts
 * ({@link Speculator}). Output is distributed exactly as without speculation, unless the lossy
 * {@link DraftAcceptance.Rule#TYPICAL typical acceptance} is asked for.
 *
 * @param mode which proposer drafts: none, prompt lookup ({@link NgramProposer}) or a draft model
 * @param draftMin drafts shorter than this are not verified (0..draftMax)
 * @param draftMax most draft tokens per verification pass (1..{@value #MAX_DRAFT})
 * @param ngramMin shortest n-gram the prompt lookup matches (1..ngramMax)
 * @param ngramMax longest n-gram the prompt lookup matches (ngramMin..{@value #MAX_NGRAM})
 * @param pMin a draft model stops drafting when its most likely token's probability falls below this (0..1)
 * @param disableBatchSize no speculation while more sequences than this decode in one step (>= 0;
 *     under load the batch already fills the forward pass, so extra rows would cost more than they save)
 * @param lookahead the window, n-gram size and guess set of {@link Mode#LOOKAHEAD} ({@link LookaheadProposer})
 * @param acceptance how a draft token is accepted: {@link DraftAcceptance#EXACT} (lossless, the default) or the lossy
 *     typical acceptance ({@code --spec-accept typical})
 */
public record SpeculationParams(Mode mode, int draftMin, int draftMax, int ngramMin, int ngramMax, float pMin,
                                int disableBatchSize, Lookahead lookahead, DraftAcceptance acceptance) {
    /** The most draft tokens per pass. */
    public static final int MAX_DRAFT = 64;
    /** The longest n-gram matched. */
    public static final int MAX_NGRAM = 16;

    /**
     * Lookahead decoding settings (Fu et al. 2024, "Break the Sequential Dependency of LLM Inference
     * Using Lookahead Decoding"; the paper's W, N and G).
     *
     * @param window W: Jacobi guesses run per pass after the verification candidate (1..{@value #MAX_DRAFT})
     * @param ngram N: size of the n-grams collected and verified (2..{@value #MAX_NGRAM}); a candidate is N − 1 tokens
     * @param guess G: most n-grams kept per first token (1..1000)
     */
    public record Lookahead(int window, int ngram, int guess) {
        /** Argon's defaults (a CPU pays nearly full price for every extra row, so smaller than the paper's). */
        public static final Lookahead DEFAULT = new Lookahead(6, 4, 8);

        /** @return draft rows one pass verifies: N − 1 candidate tokens and W Jacobi guesses */
        public int rows() {
            return window + ngram - 1;
        }
    }

    /** The settings with exact acceptance ({@link DraftAcceptance#EXACT}). */
    public SpeculationParams(Mode mode, int draftMin, int draftMax, int ngramMin, int ngramMax, float pMin, int disableBatchSize,
                             Lookahead lookahead) {
        this(mode, draftMin, draftMax, ngramMin, ngramMax, pMin, disableBatchSize, lookahead, DraftAcceptance.EXACT);
    }

    /** The settings without lookahead ones: {@link Lookahead#DEFAULT}. */
    public SpeculationParams(Mode mode, int draftMin, int draftMax, int ngramMin, int ngramMax, float pMin, int disableBatchSize) {
        this(mode, draftMin, draftMax, ngramMin, ngramMax, pMin, disableBatchSize, Lookahead.DEFAULT);
    }

    /** Who proposes draft tokens. */
    public enum Mode {
        /** No speculation. */
        NONE,
        /** Prompt lookup: the continuation of the last earlier occurrence of the newest n-gram ({@code --spec ngram}). */
        NGRAM,
        /** A smaller model over the same vocabulary, greedy ({@code -md/--model-draft}). */
        DRAFT,
        /** Lookahead decoding: Jacobi guesses and an n-gram pool of their trajectories ({@code --spec lookahead}). */
        LOOKAHEAD;

        /** @return the flag value ({@code none}, {@code ngram}, {@code draft}) */
        public String flagName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * Parses a mode name; llama.cpp's {@code ngram-simple} and {@code draft-simple} are accepted too.
         *
         * @throws ArgonException naming {@code field} and the accepted values if {@code value} is none of them
         */
        public static Mode parse(String value, String field) {
            String v = value.trim().toLowerCase(Locale.ROOT);
            for (Mode m : values()) {
                if (m.flagName().equals(v)) {
                    return m;
                }
            }
            if (v.equals("ngram-simple") || v.equals("draft-simple")) { // llama.cpp's --spec-type names of the same methods
                return v.startsWith("ngram") ? NGRAM : DRAFT;
            }
            throw new ArgonException(field + " is '" + value + "'; expected none, ngram, draft or lookahead");
        }
    }

    /** No speculation. */
    public static final SpeculationParams NONE = new SpeculationParams(Mode.NONE, 0, 16, 2, 4, 0.75f, 4);

    /** Lookahead decoding with {@link Lookahead#DEFAULT}. */
    public static SpeculationParams lookaheadDecoding() {
        return NONE.withMode(Mode.LOOKAHEAD);
    }

    /** @return these settings with other lookahead settings */
    public SpeculationParams withLookahead(Lookahead l) {
        return new SpeculationParams(mode, draftMin, draftMax, ngramMin, ngramMax, pMin, disableBatchSize, l, acceptance);
    }

    /** @return these settings with another acceptance rule */
    public SpeculationParams withAcceptance(DraftAcceptance a) {
        return new SpeculationParams(mode, draftMin, draftMax, ngramMin, ngramMax, pMin, disableBatchSize, lookahead, a);
    }

    /**
     * @return the most draft rows one verification pass adds after the decode row: {@link Lookahead#rows()}
     *     for lookahead, else {@link #draftMax()}
     */
    public int maxDraftRows() {
        return mode == Mode.LOOKAHEAD ? lookahead.rows() : draftMax;
    }

    /** Prompt lookup with llama.cpp-like defaults: up to 16 draft tokens, n-grams of 2..4 tokens. */
    public static SpeculationParams ngram() {
        return new SpeculationParams(Mode.NGRAM, 0, 16, 2, 4, 0.75f, 4);
    }

    /** @return whether a proposer drafts */
    public boolean active() {
        return mode != Mode.NONE;
    }

    /** @return these settings with another mode */
    public SpeculationParams withMode(Mode m) {
        return new SpeculationParams(m, draftMin, draftMax, ngramMin, ngramMax, pMin, disableBatchSize, lookahead, acceptance);
    }

    /** @return these settings with other draft lengths */
    public SpeculationParams withDraft(int min, int max) {
        return new SpeculationParams(mode, min, max, ngramMin, ngramMax, pMin, disableBatchSize, lookahead, acceptance);
    }

    /** @return these settings with another draft probability threshold */
    public SpeculationParams withPMin(float p) {
        return new SpeculationParams(mode, draftMin, draftMax, ngramMin, ngramMax, p, disableBatchSize, lookahead, acceptance);
    }

    /**
     * @throws ArgonException naming the flag (llama.cpp's names) and the range if a value is out of range
     */
    public void validate() {
        if (mode == null) {
            throw new ArgonException("speculative decoding mode (--spec) is missing; expected none, ngram, draft or lookahead");
        }
        if (draftMax < 1 || draftMax > MAX_DRAFT) {
            throw new ArgonException("--draft-max is " + draftMax + "; expected 1.." + MAX_DRAFT);
        }
        if (draftMin < 0 || draftMin > draftMax) {
            throw new ArgonException("--draft-min is " + draftMin + "; expected 0..--draft-max (" + draftMax + ")");
        }
        if (ngramMin < 1 || ngramMin > MAX_NGRAM) {
            throw new ArgonException("--spec-ngram-min is " + ngramMin + "; expected 1.." + MAX_NGRAM);
        }
        if (ngramMax < ngramMin || ngramMax > MAX_NGRAM) {
            throw new ArgonException("--spec-ngram-max is " + ngramMax + "; expected --spec-ngram-min (" + ngramMin + ").." + MAX_NGRAM);
        }
        if (!(pMin >= 0f && pMin <= 1f)) {
            throw new ArgonException("--draft-p-min is " + pMin + "; expected 0..1");
        }
        if (disableBatchSize < 0) {
            throw new ArgonException("--spec-disable-batch-size is " + disableBatchSize + "; expected 0 or more sequences");
        }
        if (lookahead == null) {
            throw new ArgonException("lookahead settings are missing");
        }
        if (lookahead.ngram() < 2 || lookahead.ngram() > MAX_NGRAM) {
            throw new ArgonException("--lookahead-ngram is " + lookahead.ngram() + "; expected 2.." + MAX_NGRAM);
        }
        if (lookahead.window() < 1 || lookahead.rows() > MAX_DRAFT) {
            throw new ArgonException("--lookahead-window is " + lookahead.window() + "; expected 1.." + (MAX_DRAFT - lookahead.ngram() + 1)
                    + " (window + n-gram - 1 rows per pass, at most " + MAX_DRAFT + ")");
        }
        if (lookahead.guess() < 1 || lookahead.guess() > 1000) {
            throw new ArgonException("--lookahead-guess is " + lookahead.guess() + "; expected 1..1000");
        }
        if (acceptance == null) {
            throw new ArgonException("--spec-accept is missing; expected exact or typical");
        }
        acceptance.validate();
    }
}
