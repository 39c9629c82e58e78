package dev.argon.tokenizer;

import java.util.Arrays;

/**
 * A binary max-heap of merge candidates (score, left symbol, right symbol, combined length) in
 * parallel primitive arrays. Order as llama.cpp's {@code llm_bigram_spm::comparator}: higher
 * score first, equal scores by smaller left index first.
 */
final class BigramQueue {
    private float[] score;
    private int[] left;
    private int[] right;
    private int[] size;
    private int n;

    BigramQueue(int capacity) {
        score = new float[capacity];
        left = new int[capacity];
        right = new int[capacity];
        size = new int[capacity];
    }

    boolean isEmpty() {
        return n == 0;
    }

    int topLeft() {
        return left[0];
    }

    int topRight() {
        return right[0];
    }

    int topSize() {
        return size[0];
    }

    void push(float s, int l, int r, int sz) {
        if (n == score.length) {
            int cap = n * 2;
            score = Arrays.copyOf(score, cap);
            left = Arrays.copyOf(left, cap);
            right = Arrays.copyOf(right, cap);
            size = Arrays.copyOf(size, cap);
        }
        int i = n++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(s, l, score[parent], left[parent])) {
                break;
            }
            move(parent, i);
            i = parent;
        }
        set(i, s, l, r, sz);
    }

    void pop() {
        int last = --n;
        if (last == 0) {
            return;
        }
        float s = score[last];
        int l = left[last];
        int r = right[last];
        int sz = size[last];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= last) {
                break;
            }
            if (c + 1 < last && before(score[c + 1], left[c + 1], score[c], left[c])) {
                c++;
            }
            if (!before(score[c], left[c], s, l)) {
                break;
            }
            move(c, i);
            i = c;
        }
        set(i, s, l, r, sz);
    }

    // whether candidate a comes out of the queue before candidate b
    private static boolean before(float sa, int la, float sb, int lb) {
        return sa > sb || (sa == sb && la < lb);
    }

    private void move(int from, int to) {
        score[to] = score[from];
        left[to] = left[from];
        right[to] = right[from];
        size[to] = size[from];
    }

    private void set(int i, float s, int l, int r, int sz) {
        score[i] = s;
        left[i] = l;
        right[i] = r;
        size[i] = sz;
    }
}
