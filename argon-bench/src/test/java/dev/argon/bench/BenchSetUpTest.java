package dev.argon.bench;

import dev.argon.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs each benchmark's set-up, one operation and tear-down at tiny sizes, so that a change to the
 * kernel API or a broken set-up shows in {@code ./mvnw verify} and not only when someone runs the
 * benchmarks. Measures nothing.
 */
class BenchSetUpTest {
    private static final GgmlType[] TYPES = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q5_0, GgmlType.Q5_1};

    @Test
    void matVecRunsEveryTypeAndCountsTheWeightBytes() throws Exception {
        for (GgmlType type : TYPES) {
            MatVecBench b = new MatVecBench();
            b.type = type;
            b.threads = type == GgmlType.Q4_0 ? 2 : 1;
            b.rows = 8;
            b.cols = 256;
            b.activations = "q8";
            b.footprintMiB = type == GgmlType.Q4_0 ? 1 : 0;
            b.memory = BenchSupport.OFFHEAP;
            b.setUp();
            MatVecBench.Rates rates = new MatVecBench.Rates();
            try {
                assertTrue(Float.isFinite(b.matvec(rates)), type.name());
            } finally {
                b.tearDown();
            }
            assertEquals(type.bytesFor(8 * 256) / BenchSupport.GB, rates.weightGB, 1e-15, type.name());
            assertEquals(2.0 * 8 * 256 / 1e9, rates.gflop, 1e-15, type.name());
        }
    }

    @Test
    void batchedDecodeAndGemmRun() throws Exception {
        BatchedDecodeBench d = new BatchedDecodeBench();
        d.type = GgmlType.Q4_0;
        d.tokens = 4;
        d.threads = 2;
        d.rows = 64;
        d.cols = 256;
        d.footprintMiB = 0;
        d.memory = BenchSupport.MAPPED;
        d.setUp();
        BatchedDecodeBench.Rates dr = new BatchedDecodeBench.Rates();
        try {
            assertTrue(Float.isFinite(d.decode(dr)));
        } finally {
            d.tearDown();
        }
        assertEquals(4, dr.tokens);

        GemmBench g = new GemmBench();
        g.type = GgmlType.Q4_K;
        g.n = 16;
        g.threads = 2;
        g.rows = 64;
        g.cols = 256;
        g.setUp();
        GemmBench.Rates gr = new GemmBench.Rates();
        try {
            assertTrue(Float.isFinite(g.gemm(gr)));
        } finally {
            g.tearDown();
        }
        assertEquals(2.0 * 64 * 256 * 16 / 1e9, gr.gflop, 1e-15);
    }

    @Test
    void memoryBandwidthSumsEveryByteOfEachKind() throws Exception {
        // the pattern is (i % 1000) / 1000 for float i of each MiB: its exact sum, times the MiB count
        double perMiB = 0;
        for (int i = 0; i < (1 << 18); i++) {
            perMiB += (i % 1000) * 1e-3f;
        }
        for (String memory : new String[] {"offheap", "mapped", "heap"}) {
            MemoryBandwidthBench b = new MemoryBandwidthBench();
            b.sizeMiB = 3;
            b.memory = memory;
            b.threads = 2;
            b.setUp();
            MemoryBandwidthBench.Rates rates = new MemoryBandwidthBench.Rates();
            try {
                assertEquals(3 * perMiB, b.read(rates), 3 * perMiB * 1e-3, memory);
            } finally {
                b.tearDown();
            }
            assertEquals(3.0 * (1 << 20) / 1e9, rates.readGB, 1e-15, memory);
        }
    }

    @Test
    void attentionRunsEveryCacheType() {
        for (String type : new String[]{"f16", "q8_0", "q4_0", "q4_0h"}) {
            AttentionBench a = new AttentionBench();
            a.type = type;
            a.depth = 40;
            a.threads = 2;
            a.heads = 4;
            a.kvHeads = 2;
            a.headDim = 64;
            a.layers = 2;
            a.setUp();
            AttentionBench.Rates rates = new AttentionBench.Rates();
            try {
                assertTrue(Float.isFinite(a.attend(rates)), type);
            } finally {
                a.tearDown();
            }
            assertTrue(rates.kvGB > 0, type);
        }
    }
}
