package dev.argon.generate;

import java.util.function.IntFunction;

/**
 * One sequence's speculative decoding: asks its {@link DraftProposer} for draft tokens, then
 * verifies them against the target model's logits of one forward pass of {@code k + 1} rows (the
 * last sampled token, then the {@code k} draft tokens) and adapts the draft length.
 *
 * <p>Verification is exact (Leviathan et al. 2023, Chen et al. 2023): a draft token x is accepted
 * with probability min(1, p(x)/q(x)), a rejection is replaced by a draw from norm(max(0, p − q)),
 * and when all k are accepted the last row gives a bonus token. The proposers here are
 * deterministic, so q is a point mass at x and the rule becomes: accept x with probability p(x),
 * else draw from p without x. Drawing y from p with the sequence's own sampler and accepting iff
 * y = x has exactly that law (P(y = x) = p(x); given y ≠ x, y follows p renormalised without x),
 * so verification simply lets {@link Sequence#next} sample each row in turn and stops at the first
 * row whose sample differs from the draft. Each kept token is sampled from the same logits with
 * the same sampler state and random draws as without speculation: greedy and seeded output are
 * token for token what plain decoding gives (given batch-invariant arithmetic, which
 * {@link dev.argon.model.Batch} guarantees). The rows after a rejection were written into the KV
 * cache at positions that the next pass overwrites before any token reads them, so rolling back
 * the cache needs no work; a grammar constraint sees only accepted tokens, and a draft is cut
 * before its first token the grammar rejects ({@link Sequence#allowedDraft}), which could never be accepted. For a stochastic q see
 * {@link SpeculativeSampling}. All of this holds for the default exact acceptance; the lossy typical acceptance
 * ({@link DraftAcceptance}, asked for explicitly) also keeps draft tokens that the draw did not pick.
 *
 * <p>Draft length adapts (as in "adaptive" speculation schemes): it doubles after a pass that
 * accepted every draft token, up to {@code draftMax}, and falls to one more than the accepted
 * count after a rejection; lookahead decoding ({@link LookaheadProposer}) always asks for its whole
 * window. Not thread-safe: one per sequence.
 */
public final class Speculator {
    /** Draft length of the first pass. */
    static final int START_LENGTH = 4;

    private final SpeculationParams params;
    private final DraftProposer proposer;
    private final SpeculationStats stats;
    private final int[] draft;
    private final boolean adaptive;
    private int[] history = new int[256];
    private int length;
    private int draftLength;
    private int k;

    /**
     * @param params validated settings
     * @param proposer this sequence's proposer
     * @param stats counters to add to (shared)
     */
    public Speculator(SpeculationParams params, DraftProposer proposer, SpeculationStats stats) {
        this.params = params;
        this.proposer = proposer;
        this.stats = stats;
        this.draft = new int[params.maxDraftRows()];
        this.adaptive = params.mode() != SpeculationParams.Mode.LOOKAHEAD; // lookahead runs its whole window every pass
        this.k = adaptive ? Math.min(params.draftMax(), Math.max(params.draftMin(), START_LENGTH)) : params.maxDraftRows();
    }

    /**
     * Proposes the draft tokens to feed after the sequence's last sampled token, which is fed at
     * {@link Sequence#position()}: draft token {@code i} goes at {@code position() + 1 + i}.
     *
     * @param cap the most draft tokens the caller can run now (batch room, load), >= 0
     * @return the draft length k (0: decode normally); the tokens are {@link #draftToken}
     */
    public int draft(Sequence seq, int cap) {
        sync(seq);
        int room = Math.min(Math.min(seq.speculationRoom(), cap), k);
        draftLength = 0;
        if (room < Math.max(1, params.draftMin())) {
            return 0;
        }
        int m = seq.allowedDraft(draft, proposer.propose(history, length, room, draft)); // cut where a grammar rejects it
        draftLength = m >= Math.max(1, params.draftMin()) ? Math.min(m, room) : 0;
        return draftLength;
    }

    /** @return draft token {@code i < k} of the last {@link #draft} */
    public int draftToken(int i) {
        if (i < 0 || i >= draftLength) {
            throw new IndexOutOfBoundsException("draft token " + i + " of " + draftLength);
        }
        return draft[i];
    }

    /**
     * Verifies the last draft: samples the sequence from row 0's logits (after its last token),
     * and from row {@code i + 1}'s while the token sampled from row {@code i} equals draft token
     * {@code i}. Accepted tokens are taken by the sequence as {@link Sequence#next} takes any token.
     * With {@link DraftAcceptance#typical() typical acceptance} (lossy) a draft token is also kept
     * when the draw differs but the token passes the typical threshold ({@link Sequence#verify});
     * such lenient accepts are counted in {@link SpeculationStats#lenientAccepted()}.
     *
     * @param rowLogits logits of row {@code 0..k}: row 0 after the last sampled token, row i after draft token i-1
     * @return the token to feed next at {@link Sequence#position()}, or -1 when the sequence finished
     */
    public int verify(Sequence seq, IntFunction<float[]> rowLogits) {
        int accepted = 0;
        int lenient = 0;
        int token = -1;
        DraftAcceptance rule = params.acceptance();
        boolean typical = rule.typical();
        for (int i = 0; i <= draftLength; i++) {
            token = typical && i < draftLength ? seq.verify(rowLogits.apply(i), draft[i], rule) : seq.next(rowLogits.apply(i));
            if (typical && seq.lenient()) {
                lenient++;
            }
            if (token < 0 || i == draftLength || token != draft[i]) {
                break;
            }
            accepted++;
        }
        if (draftLength > 0) {
            stats.record(draftLength, accepted, lenient);
            if (token >= 0) {
                proposer.verified(draft, draftLength, accepted, rowLogits);
            }
            if (adaptive) {
                k = accepted == draftLength ? Math.min(params.draftMax(), 2 * k)
                        : Math.max(Math.max(1, params.draftMin()), Math.min(k, accepted + 1));
            }
        }
        draftLength = 0;
        return token;
    }

    /**
     * The proposer {@code p} asks for.
     *
     * @param draftModel makes draft-model proposers, or null when there is no draft model
     * @throws dev.argon.ArgonException if {@code p} asks for a draft model and there is none
     */
    static DraftProposer proposer(SpeculationParams p, DraftProposer.Factory draftModel) {
        return switch (p.mode()) {
            case NGRAM -> new NgramProposer(p.ngramMin(), p.ngramMax());
            case LOOKAHEAD -> new LookaheadProposer(p.lookahead(), new NgramProposer(p.ngramMin(), p.ngramMax()));
            case DRAFT -> {
                if (draftModel == null) {
                    throw new dev.argon.ArgonException("speculative decoding with a draft model needs one (-md/--model-draft)");
                }
                yield draftModel.create();
            }
            case NONE -> throw new IllegalArgumentException("no speculation");
        };
    }

    /** @return the draft length the next pass asks for at most */
    int currentLength() {
        return k;
    }

    /** Brings {@link #history} up to the sequence's prompt and generated tokens. */
    private void sync(Sequence seq) {
        int[] prompt = seq.prompt();
        int total = prompt.length + seq.generatedCount();
        if (history.length < total) {
            history = java.util.Arrays.copyOf(history, Math.max(total, 2 * history.length));
        }
        if (length < prompt.length || length > total) { // first call, or the sequence rolled back
            System.arraycopy(prompt, 0, history, 0, prompt.length);
            length = prompt.length;
        }
        for (int i = length - prompt.length; i < seq.generatedCount(); i++) {
            history[length++] = seq.generated(i);
        }
    }
}
