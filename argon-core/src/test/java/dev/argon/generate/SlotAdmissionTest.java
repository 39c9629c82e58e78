package dev.argon.generate;

import dev.argon.TestFiles;
import dev.argon.kv.ContextPolicy;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link SlotAdmission}: which slot a request gets and how much of its prompt is already cached
 * there, in contiguous mode (slot prefixes, copies between slots) and paged mode (pool capacity,
 * prefix-cache blocks). The test plays the scheduler's part (the running list, prompt progress),
 * with real forward passes of stories260K computing the prompts.
 */
class SlotAdmissionTest {
    static final int CTX = 64;
    static LanguageModel model;

    @BeforeAll
    static void load() {
        model = Models.load(TestFiles.model("tinyllamas/stories260K/stories260K.gguf"), 1);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    static ScheduledRequest request(int[] prompt) {
        GenerationRequest req = GenerationRequest.of("x", 8, SamplingParams.greedy());
        ScheduledRequest r = new ScheduledRequest(req, prompt, () -> false, new AtomicLong());
        r.seq = new Sequence(model, req, prompt, CTX, r);
        return r;
    }

    static int[] tokens(int from, int length) {
        int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            t[i] = from + i;
        }
        return t;
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    static SlotAdmission contiguous(List<ScheduledRequest> running) {
        return new SlotAdmission(model, 2, CTX, KvCache.Precision.F32, ContextPolicy.NONE, 0, 0, true, 512, running);
    }

    /** Admits {@code r} as the scheduler does and computes its whole prompt. */
    static void runPrompt(SlotAdmission a, List<ScheduledRequest> running, ScheduledRequest r) {
        a.admit(r);
        running.add(r);
        model.prefill(r.slot.state, java.util.Arrays.copyOfRange(r.prompt, r.fed, r.prompt.length), r.fed);
        r.fed = r.prompt.length;
        a.computed(r.slot, r.prompt, r.fed);
    }

    static void end(SlotAdmission a, List<ScheduledRequest> running, ScheduledRequest r) {
        running.remove(r);
        a.release(r);
    }

    @Test
    void aPromptReturnsToTheSlotThatHoldsItsPrefix() {
        List<ScheduledRequest> running = new ArrayList<>();
        SlotAdmission a = contiguous(running);
        int[] conversation = tokens(10, 20);
        ScheduledRequest first = request(conversation);
        runPrompt(a, running, first);
        end(a, running, first);
        assertThat(a.cachedTokens()).isEqualTo(20);

        ScheduledRequest next = request(concat(conversation, tokens(40, 5)));
        a.admit(next);
        assertThat(next.slot).isSameAs(first.slot);
        assertThat(next.fed).isEqualTo(20);
        assertThat(next.reused).isEqualTo(20);
        assertThat(a.reusedTokens()).isEqualTo(20);
    }

    @Test
    void aShortSharedStartDoesNotTakeAnotherConversationsSlot() {
        List<ScheduledRequest> running = new ArrayList<>();
        SlotAdmission a = contiguous(running);
        ScheduledRequest first = request(tokens(10, 20));
        runPrompt(a, running, first);
        end(a, running, first);

        // shares 3 of the 20 cached tokens: less than half, so the empty slot is taken and the cache kept
        ScheduledRequest other = request(concat(tokens(10, 3), tokens(100, 10)));
        a.admit(other);
        assertThat(other.slot).isNotSameAs(first.slot);
        assertThat(other.fed).isZero();
        assertThat(a.freeSlots()).isEqualTo(2); // (not in the running list yet)
    }

    @Test
    void aLongPrefixComputedOnARunningSlotIsCopied() {
        List<ScheduledRequest> running = new ArrayList<>();
        SlotAdmission a = contiguous(running);
        int[] system = tokens(10, SlotAdmission.MIN_COPY + 4);
        ScheduledRequest first = request(concat(system, tokens(100, 3)));
        runPrompt(a, running, first);
        assertThat(a.freeSlots()).isEqualTo(1);

        ScheduledRequest second = request(concat(system, tokens(200, 3)));
        a.admit(second);
        assertThat(second.slot).isNotSameAs(first.slot);
        assertThat(second.fed).isEqualTo(system.length);
        assertThat(a.copiedTokens()).isEqualTo(system.length);
    }

    @Test
    void thePagedPoolAdmitsWhatItCanHoldAndServesCachedBlocks() {
        List<ScheduledRequest> running = new ArrayList<>();
        // 4 blocks of 4 tokens
        SlotAdmission a = new SlotAdmission(model, 2, CTX, KvCache.Precision.F32, ContextPolicy.NONE, 4, 16, true, 512, running);
        ScheduledRequest tooLong = request(tokens(10, 16)); // 17 rows: 5 blocks
        assertThat(a.fits(tooLong)).isFalse();
        assertThat(a.tooLarge(tooLong)).hasMessageContaining("needs 5 KV blocks of 4 tokens, but the KV pool holds 4");

        int[] prompt = tokens(10, 14);
        ScheduledRequest first = request(prompt); // 15 rows: 4 blocks
        assertThat(a.fits(first)).isTrue();
        runPrompt(a, running, first);
        assertThat(a.fits(request(tokens(10, 2)))).isFalse(); // every block is mapped
        end(a, running, first);
        assertThat(a.cachedTokens()).isEqualTo(12); // the three full blocks of computed prompt rows

        ScheduledRequest again = request(prompt);
        assertThat(a.fits(again)).isTrue();
        a.admit(again);
        assertThat(again.fed).isEqualTo(12);
        assertThat(again.reused).isEqualTo(12);
        assertThat(a.prefixCache().hitTokens()).isEqualTo(12);
    }
}
