package dev.argon.chat;

import com.hubspot.jinjava.util.ForLoop;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * The items of the for loops being rendered on this thread, innermost last, so that
 * {@code loop.previtem} and {@code loop.nextitem} can be answered (Jinjava's loop object does not
 * keep its items).
 */
final class LoopItems {
    private static final class Frame {
        final List<Object> items;
        ForLoop loop;

        Frame(List<Object> items) {
            this.items = items;
        }
    }

    private static final ThreadLocal<Deque<Frame>> FRAMES = ThreadLocal.withInitial(ArrayDeque::new);

    private LoopItems() {
    }

    static void push(List<Object> items) {
        FRAMES.get().push(new Frame(items));
    }

    static void pop() {
        FRAMES.get().pop();
    }

    /** @return the items of this loop: the frame already bound to it, else the innermost unbound one */
    static List<Object> of(ForLoop loop) {
        for (Frame f : FRAMES.get()) {
            if (f.loop == loop) {
                return f.items;
            }
        }
        for (Frame f : FRAMES.get()) {
            if (f.loop == null) {
                f.loop = loop;
                return f.items;
            }
        }
        return null;
    }
}
